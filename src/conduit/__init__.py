"""Conduit: a production-grade FastAPI backend for the RealWorld API."""

__version__ = "0.1.0"
