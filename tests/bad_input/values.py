"""Bad bodies and headers: malformed JSON, wrong types, bad tag lists, hostile
Authorization headers; and texts in every script, which must come back as sent."""

from __future__ import annotations

import pytest

from tests.bad_input.checks import MARK, NUL

MALFORMED_JSON = {
    "truncated": '{"ENV":',
    "truncated-object": '{"ENV": {"body": "x"',
    "trailing-comma": '{"ENV": {"body": "x",}}',
    "single-quotes": "{'ENV': {'body': 'x'}}",
    "unquoted-key": '{ENV: {"body": "x"}}',
    "comment": '{"ENV": {} /* hi */}',
    "two-documents": '{"ENV": {}} {"ENV": {}}',
    "bare-word": "undefined",
    "open-brace": "{",
    "garbage": f"{MARK} not json",
}


UNPARSEABLE_BYTES = {
    "invalid-utf8": b'{"ENV": {"body": "\xff\xfe"}}',
    "deeply-nested": b"[" * 100_000 + b"]" * 100_000,
    "huge-integer": b'{"ENV": {"body": ' + b"9" * 5000 + b"}}",
}


NOT_AN_OBJECT = {"list": [], "string": MARK, "number": 1, "float": 1.5, "null": None, "true": True}


WRONG_TYPES = {
    "int": 123,
    "float": 12.5,
    "true": True,
    "false": False,
    "empty-list": [],
    "list": [MARK],
    "object": {"value": MARK},
}


BAD_TAG_LISTS = {
    "string": "a,b",
    "number": 1,
    "object": {"tag": "a"},
    "true": True,
    "null": None,
    "list-of-numbers": [1, 2],
    "list-with-null": ["a", None],
    "nested-list": [["a"]],
    "list-of-objects": [{"name": "a"}],
    "blank-tag": ["ok", ""],
    "whitespace-tag": ["   "],
    "nul-tag": [f"{MARK}{NUL}b"],
    "long-tag": [MARK + "a" * 57],  # 65 characters
    "10000-char-tag": [MARK + "a" * 9_992],
    "too-many-tags": [f"tag{i}" for i in range(21)],
}


TEXTS = {
    "arabic-emoji": "مرحبا بالعالم 😀",
    "hebrew": "שלום עולם",
    "mixed-bidi": "Hello مرحبا 😀 שלום world",
    "rtl-override": "abc\u202edef\u202c",
    "zwj-family": "👨\u200d👩\u200d👧\u200d👦 family",
    "flag-and-skin-tone": "🇳🇴 👍🏽",
    "combining-marks": "cafe\u0301 n\u0303",
    "cjk": "你好，世界",  # noqa: RUF001 - a full-width comma, on purpose
    "astral-math": "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",  # noqa: RUF001 - letters outside the BMP, on purpose
    "devanagari": "नमस्ते दुनिया",
}


TEXT_PARAMS = [pytest.param(text, id=name) for name, text in TEXTS.items()]


BAD_AUTHORIZATION = {
    "scheme-only": "Token",
    "bearer-only": "Bearer",
    "basic": "Basic YWxpY2U6cGFzc3dvcmQ=",
    "two-parts": "Token a b",
    "not-a-jwt": f"Token {MARK}",
    "three-dots": "Token a.b.c",
    "10000-chars": "Token " + MARK + "a" * 9_992,
    "alg-none": "Token eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.",
    "unknown-scheme": f"Digest {MARK}",
}
