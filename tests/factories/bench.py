"""Settings of an application run by the bench's in-process tools in the tests."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from conduit.core.config import Settings


def bench_settings(url: str, tmp_path: Path, **extra: Any) -> Settings:
    """Test settings on the bench's database `url`, files under `tmp_path`."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        environment="test",
        secret_key="bench-test-secret-key-long-enough-for-hs256",
        rate_limit_enabled=False,
        mail_embedded_worker=False,
        upload_dir=str(tmp_path / "uploads"),
        mail_dir=str(tmp_path / "mail"),
        redis_key_prefix=f"bench-test-{uuid.uuid4().hex}",  # REDIS_URL may be set (CI)
        **extra,
    )
