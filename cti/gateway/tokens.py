"""Bearer tokens for browsers: issued by ``cti-keys token NAME``, checked by ``cti-gateway``.

A token names a bus account (``accounts.toml``: role, device, team) and carries its expiry
and a random id: ``v1.<base64url(JSON payload)>.<base64url(HMAC-SHA256)>``. The HMAC key is
``gateway.secret`` in the keys directory (created on the first ``cti-keys token``, mode 0600);
revoked token ids are lines of ``revoked-tokens.txt`` there, re-read by the gateway whenever
the file changes, so ``cti-keys token NAME --revoke ID`` takes effect on the next request
(an open WebSocket of that token is closed within a second). Standard library only: an HMAC
over a small JSON map needs nothing more, and the format is ours to keep stable.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass

SECRET_FILE = "gateway.secret"
REVOKED_FILE = "revoked-tokens.txt"
PREFIX = "v1"


class TokenError(ValueError):
    """A token that is malformed, forged, expired, revoked or names no account."""


@dataclass(frozen=True)
class Claims:
    account: str
    expires: float
    id: str
    issued: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_secret(keys_dir: str, create: bool = False) -> bytes:
    """The HMAC key of ``keys_dir``; created (0600) when ``create`` and missing."""
    path = os.path.join(keys_dir, SECRET_FILE)
    if not os.path.exists(path):
        if not create:
            raise TokenError(f"no token key {path}: issue a token with `cti-keys token NAME --keys {keys_dir}`")
        os.makedirs(keys_dir, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
    with open(path) as f:
        text = f.read().strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise TokenError(f"{path} is not a hex key") from None
    if len(key) < 16:
        raise TokenError(f"{path} holds a key shorter than 16 octets")
    return key


def issue(secret: bytes, account: str, ttl: float, now: float | None = None) -> tuple[str, Claims]:
    """A new token for ``account`` valid ``ttl`` seconds from ``now``."""
    if ttl <= 0:
        raise TokenError("a token's lifetime must be positive")
    t = time.time() if now is None else now
    claims = Claims(account, t + ttl, secrets.token_hex(8), t)
    body = _b64(json.dumps({"sub": account, "exp": int(claims.expires), "jti": claims.id,
                            "iat": int(t)}, separators=(",", ":")).encode())
    mac = _b64(hmac.new(secret, f"{PREFIX}.{body}".encode(), hashlib.sha256).digest())
    return f"{PREFIX}.{body}.{mac}", claims


def verify(secret: bytes, token: str, revoked: set[str], now: float | None = None) -> Claims:
    """The claims of a valid ``token``; TokenError saying why otherwise."""
    if not isinstance(token, str) or len(token) > 2048:
        raise TokenError("malformed token")
    parts = token.strip().split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise TokenError("malformed token (expected v1.<payload>.<mac>)")
    want = hmac.new(secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    try:
        got = _unb64(parts[2])
        payload = json.loads(_unb64(parts[1]))
    except (ValueError, UnicodeDecodeError):
        raise TokenError("malformed token") from None
    if not hmac.compare_digest(want, got) or _b64(got) != parts[2]:    # one spelling only (base64's spare bits)
        raise TokenError("token signature does not match (wrong gateway key, or forged)")
    if not isinstance(payload, dict) or not isinstance(payload.get("sub"), str) \
            or not isinstance(payload.get("exp"), int) or not isinstance(payload.get("jti"), str):
        raise TokenError("malformed token payload")
    claims = Claims(payload["sub"], float(payload["exp"]), payload["jti"], float(payload.get("iat", 0)))
    if (time.time() if now is None else now) >= claims.expires:
        raise TokenError(f"token expired at {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(claims.expires))} UTC")
    if claims.id in revoked:
        raise TokenError(f"token {claims.id} was revoked")
    return claims


def token_id(token: str) -> str:
    """The id of ``token`` (what --revoke takes); the argument itself if it is already an id."""
    parts = token.strip().split(".")
    if len(parts) == 3:
        try:
            return str(json.loads(_unb64(parts[1]))["jti"])
        except (ValueError, KeyError, TypeError):
            raise TokenError("malformed token") from None
    return token.strip()


def revoke(keys_dir: str, token_or_id: str) -> str:
    """Add a token's id to ``revoked-tokens.txt``; returns the id."""
    jti = token_id(token_or_id)
    if not jti or not all(c in "0123456789abcdef" for c in jti):
        raise TokenError(f"not a token id: {jti!r}")
    with open(os.path.join(keys_dir, REVOKED_FILE), "a") as f:
        f.write(jti + "\n")
    return jti


class RevocationList:
    """``revoked-tokens.txt``, re-read when its modification time or size changes."""

    def __init__(self, keys_dir: str) -> None:
        self.path = os.path.join(keys_dir, REVOKED_FILE)
        self._stamp: tuple[float, int] | None = None
        self.ids: set[str] = set()

    def current(self) -> set[str]:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self.ids, self._stamp = set(), None
            return self.ids
        stamp = (st.st_mtime, st.st_size)
        if stamp != self._stamp:
            with open(self.path) as f:
                self.ids = {line.strip() for line in f if line.strip() and not line.startswith("#")}
            self._stamp = stamp
        return self.ids
