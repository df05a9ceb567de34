"""Support of the bad-input tests (tests/*/test_bad_input*.py): the checks every answer
must pass (`checks`), the world each test starts from (`fixtures`), the write endpoints and
their fields (`endpoints`), and the bad input itself (`values`: bodies and headers,
`routes`: queries and paths). Loaded as plugins by tests/conftest.py.

What those tests cover, together:
Bad input never produces a 500.

Every write endpoint and every query and path parameter is fed malformed JSON, wrong types,
missing, blank, oversized, NUL-laden and surrogate-laden values, and hostile pagination.
Whatever comes in, the answer is a 4xx in the RealWorld error shape
``{"errors": {key: [messages]}}`` that names the offending field and never echoes the
submitted value; text in any script (emoji, right-to-left, combining marks) is accepted
and comes back exactly as sent.
"""
