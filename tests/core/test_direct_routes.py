"""`DirectRoute`: an async endpoint that takes only the request is called with it directly,
with no dependency solving, the same answers; the route class refuses any other endpoint
when it is declared."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import pytest
from fastapi import BackgroundTasks, Depends, FastAPI, Header, Request, Response
from fastapi.dependencies.utils import get_dependant
from fastapi.responses import JSONResponse

from conduit.core import routing
from conduit.core.params import takes_only_the_request
from conduit.core.routing import DirectRoute


async def only_request(request: Request) -> Response:
    return JSONResponse({"path": request.url.path})


async def returns_a_dict(request: Request) -> Any:
    return {"path": request.url.path}


def sync_endpoint(request: Request) -> Response:
    return JSONResponse({"path": request.url.path})


async def nothing() -> Response:
    return JSONResponse({})


async def with_header(request: Request, x_thing: Annotated[str | None, Header()] = None) -> Any:
    return {}


async def with_query(request: Request, q: int = 0) -> Any:
    return {}


async def with_dependency(request: Request, value: Annotated[str, Depends(lambda: "v")]) -> Any:
    return {}


async def with_background(request: Request, tasks: BackgroundTasks) -> Any:
    return {}


async def with_response(request: Request, response: Response) -> Any:
    return {}


@pytest.mark.parametrize(
    ("endpoint", "direct"),
    [
        (only_request, True),
        (returns_a_dict, True),  # the check is on what it takes; what it returns is checked later
        (nothing, False),
        (with_header, False),
        (with_query, False),
        (with_dependency, False),
        (with_background, False),
        (with_response, False),
    ],
)
def test_only_an_endpoint_taking_the_request_alone_qualifies(endpoint: Any, direct: bool) -> None:
    assert takes_only_the_request(get_dependant(path="/x", call=endpoint)) is direct


def _app(*endpoints: Any, dependencies: Any = None) -> FastAPI:
    app = FastAPI(dependencies=dependencies)
    for i, endpoint in enumerate(endpoints):
        app.router.add_api_route(f"/{i}", endpoint, route_class_override=DirectRoute)
    return app


@pytest.fixture
def no_dependency_solving(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """FastAPI's handler is made to record that it ran (it solves dependencies first)."""
    solved: list[str] = []
    from fastapi import routing

    real = routing.solve_dependencies

    async def recording(*, request: Request, **kwargs: Any) -> Any:
        solved.append(request.url.path)
        return await real(request=request, **kwargs)

    monkeypatch.setattr(routing, "solve_dependencies", recording)
    return solved


async def _get(app: FastAPI, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get(path)


async def test_a_request_only_endpoint_is_called_directly(no_dependency_solving: list[str]) -> None:
    answer = await _get(_app(only_request), "/0")
    assert (answer.status_code, answer.json()) == (200, {"path": "/0"})
    assert no_dependency_solving == []


@pytest.mark.parametrize(
    "endpoint",
    [sync_endpoint, nothing, with_header, with_query, with_dependency, with_background],
)
def test_a_direct_route_refuses_any_other_endpoint_when_declared(endpoint: Any) -> None:
    with pytest.raises(TypeError, match="takes only the request"):
        _app(endpoint)


def test_a_direct_route_refuses_an_app_wide_dependency_it_would_skip() -> None:
    with pytest.raises(TypeError, match="takes only the request"):
        _app(only_request, dependencies=[Depends(lambda: None)])


async def test_a_direct_endpoint_must_return_a_response() -> None:
    app = _app(returns_a_dict)
    with pytest.raises(TypeError, match="must return a Response"):
        await _get(app, "/0")


async def test_a_traced_request_goes_through_fastapis_handler(
    monkeypatch: pytest.MonkeyPatch, no_dependency_solving: list[str]
) -> None:
    monkeypatch.setattr(routing, "get_telemetry_data", lambda: object())
    answer = await _get(_app(only_request), "/0")
    assert (answer.status_code, answer.json()) == (200, {"path": "/0"})
    assert no_dependency_solving == ["/0"]


async def test_the_tags_route_is_called_directly(
    client: httpx.AsyncClient, no_dependency_solving: list[str]
) -> None:
    for path in ("/api/tags", "/api/v1/tags"):
        answer = await client.get(path)
        assert answer.status_code == 200
        assert "tags" in answer.json()
    assert no_dependency_solving == []
