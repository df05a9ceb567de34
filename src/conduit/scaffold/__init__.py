"""`conduit generate resource`: a new domain package, its migration and its tests, written
from one line; `conduit destroy resource` takes exactly that back out."""
