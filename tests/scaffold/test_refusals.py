"""Bad input to the generator: every problem listed at once, exit status 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from conduit.scaffold import plan
from tests.scaffold.conftest import TODO, conduit, snapshot


@pytest.mark.parametrize(
    ("args", "problems"),
    [
        (["article", "title:str"], ["package conduit.articles exists", "table 'articles'"]),
        (["class", "title:str"], ["a Python keyword"]),
        (["order", "title:str"], ["an SQL reserved word"]),
        (["Todo", "title:str"], ["use snake_case"]),
        (["todo", "title:str", "title:text"], ["named twice"]),
        (["todo", "title:string"], ["unknown type 'string'"]),
        (["todo", "title:str:shiny"], ["unknown modifier 'shiny'"]),
        (["todo", "done:bool:default=maybe"], ["default=maybe is not true or false"]),
        (["todo", "n:int:min=5:max=1"], ["min is above max"]),
        (["todo", "level:enum:a,b:default=c"], ["is not one of a, b"]),
        (["todo", "project:ref:projects"], ["ref:projects is no generated resource"]),
        (["todo", "password:str"], ["looks like a secret"]),
        (["todo", "api_key:str"], ["looks like a secret"]),
        (["todo", "id:int"], ["reserved"]),
        (["todo", "title:str:max=300"], ["use text"]),
        (["todo", "title"], ["give a type"]),
        (["todo"], ["at least one field"]),
        (["todo", "title:str", "--visibility", "secret"], ["private or public"]),
        (["todo", "title:str", "--plural", "todo"], ["must differ from the name"]),
        (["todo", "title:str", "--no-owner", "--visibility", "private"], ["cannot be private"]),
    ],
)
def test_a_bad_spec_is_refused_whole(tree: Path, args: list[str], problems: list[str]) -> None:
    before = snapshot(tree)
    result = conduit("generate", "resource", *args)
    assert result.exit_code == 2, result.output
    for problem in problems:
        assert problem in result.output
    assert snapshot(tree) == before


def test_every_problem_is_listed_in_one_run(tree: Path) -> None:
    result = conduit("generate", "resource", "class", "a:strng", "token:str", "x:int:min=q")
    assert result.exit_code == 2
    listed = [line for line in result.output.splitlines() if line.startswith("  - ")]
    assert len(listed) == 4, result.output


def test_more_than_one_migration_head_is_refused(tree: Path) -> None:
    versions = tree / "src" / "conduit" / "migrations" / "versions"
    (versions / "9999_branch.py").write_text(
        'revision: str = "9999"\ndown_revision: str | None = "0008"\n', encoding="utf-8"
    )
    before = snapshot(tree)
    result = conduit("generate", "resource", *TODO)
    assert result.exit_code == 2
    assert "2 heads" in result.output
    assert snapshot(tree) == before


def test_a_failure_while_writing_puts_everything_back(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The new files are written first, then the shared files edited: a failure among the
    edits leaves both kinds of step to undo."""
    before = snapshot(tree)
    real = plan.replace

    def fail_on_the_scopes(path: Path, text: str) -> None:
        if path.name == "permissions.py" and "PROBE_ITEMS_WRITE" in text:
            raise OSError("disk full")
        real(path, text)

    monkeypatch.setattr(plan, "replace", fail_on_the_scopes)
    result = conduit("generate", "resource", "probe_item", "title:str")
    assert isinstance(result.exception, OSError)
    assert snapshot(tree) == before
