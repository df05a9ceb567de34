"""The fault suite: Conduit behind HAProxy on PostgreSQL and Redis of its own, under load,
while faults are done to it one at a time (`python -m chaos`, docs/scaling.md)."""
