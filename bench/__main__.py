"""`python -m bench`: seed, run, report, profile."""

from bench.cli import app

app()
