"""The importable ASGI application: `uvicorn conduit.asgi:app`."""

from conduit.main import create_app

app = create_app()
