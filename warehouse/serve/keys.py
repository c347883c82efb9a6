"""API keys: random, shown once when made, kept in the config only as their hashes.

A key is 32 random bytes, so one SHA-256 round is as strong a hash as any (slow hashes
are for passwords people choose); comparisons take constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

PREFIX = "whk_"  # tells a warehouse key from other secrets in logs and password stores


def new_key() -> tuple[str, str]:
    """A fresh key and the hash to put in [serve] api_keys."""
    key = PREFIX + secrets.token_urlsafe(32)
    return key, hashed(key)


def hashed(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def accepted(key: str | None, hashes: tuple[str, ...]) -> bool:
    if not key:
        return False
    digest = hashed(key)
    return any(hmac.compare_digest(digest, known) for known in hashes)


def bearer(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header."""
    scheme, _, token = (header or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
