"""Shared tools of the security suite: forged tokens, staff accounts, reading mail, and the
markers of internals that no response may show.

Forged JWTs are built by hand (header, payload and signature bytes), so that nothing in a
JWT library can quietly refuse to produce the attack. RS256 tokens are signed with a small
RSA implementation in pure Python (PKCS#1 v1.5 over SHA-256): the suite needs no
`cryptography` package to prove that a correctly signed RS256 token is still refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from conduit.core.config import Settings
from conduit.users.commands import create_admin_user
from tests.factories import PASSWORD, auth, log_in, sign_up

# What no response body (and no error) may ever show: tracebacks, SQL, source paths and
# framework internals.
LEAK_MARKERS = (
    "Traceback",
    'File "',
    "sqlalchemy",
    "SQLAlchemy",
    "asyncpg",
    "aiosqlite",
    "sqlite3",
    "psycopg",
    "SELECT ",
    "INSERT INTO",
    "UPDATE users",
    "DELETE FROM",
    " FROM users",
    "/src/",
    "site-packages",
    '.py"',
    ".py:",
    "pydantic_core",
    "starlette.",
    "fastapi.",
    "uvicorn",
    "Exception",
    "Error(",
    "$argon2",
    "password_hash",
    "passwordHash",
)


def leaks_in(text: str) -> list[str]:
    return [marker for marker in LEAK_MARKERS if marker in text]


# --- base64url and hand-made JWTs ---------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parts_of(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload)), signature


def hs_token(header: dict[str, Any], payload: dict[str, Any], key: bytes, digest: str) -> str:
    signing_input = f"{b64url_json(header)}.{b64url_json(payload)}"
    signature = hmac.new(key, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64url(signature)}"


def hs256(payload: dict[str, Any], key: str | bytes, **header: Any) -> str:
    raw = key.encode() if isinstance(key, str) else key
    return hs_token({"alg": "HS256", "typ": "JWT", **header}, payload, raw, "sha256")


def unsigned(payload: dict[str, Any], alg: str = "none", signature: str = "") -> str:
    return f"{b64url_json({'alg': alg, 'typ': 'JWT'})}.{b64url_json(payload)}.{signature}"


def claims_of(token: str) -> dict[str, Any]:
    """The payload of a genuine token (its signature is what the server checks)."""
    return parts_of(token)[1]


def now() -> int:
    return int(time.time())


# --- a small RSA, enough to sign RS256 tokens ------------------------------------------------

_SMALL_PRIMES = (3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73)
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def _probably_prime(n: int, rounds: int = 24) -> bool:
    if n < 2 or any(n % p == 0 for p in _SMALL_PRIMES):
        return n in _SMALL_PRIMES
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for _ in range(rounds):
        x = pow(secrets.randbelow(n - 3) + 2, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int) -> int:
    while True:
        candidate = secrets.randbits(bits) | (3 << (bits - 2)) | 1  # n gets its full size
        if _probably_prime(candidate):
            return candidate


@dataclass(frozen=True)
class RsaKey:
    n: int
    e: int
    d: int

    @property
    def size(self) -> int:
        return (self.n.bit_length() + 7) // 8

    def sign(self, message: bytes) -> bytes:
        """RSASSA-PKCS1-v1_5 with SHA-256 (what RS256 is)."""
        digest = _SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
        padded = b"\x00\x01" + b"\xff" * (self.size - len(digest) - 3) + b"\x00" + digest
        signature = pow(int.from_bytes(padded, "big"), self.d, self.n)
        assert pow(signature, self.e, self.n) == int.from_bytes(padded, "big")
        return signature.to_bytes(self.size, "big")

    def jwk(self) -> dict[str, str]:
        def raw(value: int) -> str:
            return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))

        return {"kty": "RSA", "n": raw(self.n), "e": raw(self.e)}

    def public_pem(self) -> bytes:
        """The public key as a PEM SubjectPublicKeyInfo, as a server would publish it."""
        rsa_key = _der(0x30, _der_int(self.n) + _der_int(self.e))
        algorithm = _der(0x30, bytes.fromhex("06092a864886f70d010101") + b"\x05\x00")
        der = _der(0x30, algorithm + _der(0x03, b"\x00" + rsa_key))
        body = base64.encodebytes(der).decode().replace("\n", "")
        lines = [body[i : i + 64] for i in range(0, len(body), 64)]
        return (
            "-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n"
        ).encode()


def _der(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes([tag, length]) + content
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + content


def _der_int(value: int) -> bytes:
    raw = value.to_bytes(value.bit_length() // 8 + 1, "big")
    return _der(0x02, raw)


@cache
def rsa_key(bits: int = 2048) -> RsaKey:
    e = 65537
    while True:
        p, q = _prime(bits // 2), _prime(bits // 2)
        phi = (p - 1) * (q - 1)
        if p != q and phi % e:
            return RsaKey(n=p * q, e=e, d=pow(e, -1, phi))


def rs256(payload: dict[str, Any], key: RsaKey, **header: Any) -> str:
    signing_input = (
        f"{b64url_json({'alg': 'RS256', 'typ': 'JWT', **header})}.{b64url_json(payload)}"
    )
    return f"{signing_input}.{b64url(key.sign(signing_input.encode()))}"


# --- accounts ---------------------------------------------------------------------------


async def staff_token(
    client: httpx.AsyncClient, settings: Settings, username: str, role: str = "admin"
) -> str:
    """An admin made the way operators make one (`conduit create-admin`), then demoted to
    `role` by that admin's own PATCH when another role is wanted; answers its token."""
    if role == "admin":
        await create_admin_user(settings, f"{username}@example.com", username, PASSWORD)
        response = await log_in(client, f"{username}@example.com")
        assert response.status_code == 200, response.text
        token: str = response.json()["user"]["token"]
        return token
    root = await staff_token(client, settings, f"root-of-{username}")
    await sign_up(client, username)
    await set_standing(client, root, username, role=role)
    response = await log_in(client, f"{username}@example.com")
    assert response.status_code == 200, response.text
    token = response.json()["user"]["token"]
    return token


async def set_standing(
    client: httpx.AsyncClient, admin_token: str, username: str, **changes: Any
) -> dict[str, Any]:
    response = await client.patch(
        f"/api/admin/users/{username}", json=changes, headers=auth(admin_token)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def admin_view(client: httpx.AsyncClient, admin_token: str, username: str) -> dict[str, Any]:
    """A user as the admin list shows them: role, active flag and all."""
    response = await client.get(
        "/api/admin/users", params={"q": username}, headers=auth(admin_token)
    )
    assert response.status_code == 200, response.text
    [found] = [item for item in response.json()["items"] if item["username"] == username]
    return found  # type: ignore[no-any-return]


# --- reading mail -----------------------------------------------------------------------


def mail_links(mail_dir: str | Path) -> list[str]:
    """Every link in the .eml files written so far, oldest first."""
    directory = Path(mail_dir)
    if not directory.exists():
        return []
    links: list[str] = []
    for path in sorted(directory.glob("*.eml"), key=lambda p: int(p.stem)):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        body = message.get_body(("plain",))
        assert body is not None
        links += [word for word in body.get_content().split() if word.startswith("http")]
    return links


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]
