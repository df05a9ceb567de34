"""The Alembic migrations: they build the schema the models describe, enforce its rules in
the database itself, and go down to nothing and back up again.

Each test gets its own scratch database (a file for SQLite, a new database on the server
for PostgreSQL), never the one the rest of the suite uses. The tests are synchronous:
`command.upgrade` runs its own event loop.
"""
