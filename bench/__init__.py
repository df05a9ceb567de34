"""Conduit's benchmark suite: seed a realistic data set, serve it as production would, load it
with wrk next to a ceiling app, and write a Markdown report with charts.

`python -m bench run --scale small` does all of it; `python -m bench --help` lists the rest.
"""
