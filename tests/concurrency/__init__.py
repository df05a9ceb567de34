"""Concurrent writers: no lost updates, no duplicates, no 500s.

Requests are issued together with `asyncio.gather` over one client, so they interleave in
the app. On SQLite writers queue on `BEGIN IMMEDIATE` + `busy_timeout`; on PostgreSQL
they race for real and the unique constraints decide.
"""
