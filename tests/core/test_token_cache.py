"""Verified access tokens are remembered until they expire; anything else is verified (and
refused) on every use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from conduit.core.config import Settings
from conduit.core.security import InvalidToken
from conduit.core.token_cache import CachingTokenCodec


@pytest.fixture
def codec() -> CachingTokenCodec:
    settings = Settings(
        _env_file=None,
        database_url="sqlite+aiosqlite:///unused.db",
        secret_key="token-cache-test-secret-key-long-enough",
        access_token_ttl=60,
    )
    return CachingTokenCodec(settings, size=2)


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each token that reached PyJWT's verification."""
    seen: list[str] = []
    real = jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting)
    return seen


def test_a_token_is_verified_once(codec: CachingTokenCodec, decodes: list[str]) -> None:
    token = codec.encode("7", "session-1")
    first = codec.decode(token)
    assert codec.decode(token) == first
    assert (first.subject, first.session_id) == ("7", "session-1")
    assert decodes == [token]


def test_a_remembered_token_goes_back_to_verification_once_expired(
    codec: CachingTokenCodec, decodes: list[str]
) -> None:
    token = codec.encode("7", "session-1")
    expires = codec.decode(token).expires_at.timestamp()
    codec.clock = lambda: expires - 0.001
    codec.decode(token)
    assert decodes == [token]
    codec.clock = lambda: expires
    codec.decode(token)  # PyJWT, on the real clock, still accepts it
    assert decodes == [token, token]


def test_an_expired_token_is_refused(codec: CachingTokenCodec) -> None:
    expired = codec.encode("7", "session-1", now=datetime.now(UTC) - timedelta(seconds=61))
    with pytest.raises(InvalidToken):
        codec.decode(expired)


def test_refused_tokens_are_not_remembered(codec: CachingTokenCodec, decodes: list[str]) -> None:
    forged = codec.encode("7", "session-1")[:-4] + "AAAA"
    for _ in range(2):
        with pytest.raises(InvalidToken):
            codec.decode(forged)
    assert decodes == [forged, forged]


def test_the_table_is_bounded(codec: CachingTokenCodec, decodes: list[str]) -> None:
    tokens = [codec.encode(str(n), f"session-{n}") for n in range(3)]
    for token in tokens:
        codec.decode(token)
    codec.decode(tokens[2])  # kept after the table was emptied
    codec.decode(tokens[0])  # not: verified again
    assert decodes == [*tokens, tokens[0]]
