"""Credentials: made random, kept only as hashes, compared in constant time.

The tokens are long random strings, so a plain SHA-256 is enough to make a stolen database useless for
impersonation (there is nothing to brute-force, unlike a password).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_BYTES = 32


def new_credential() -> str:
    """A fresh token or secret (URL-safe, 43 characters)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_credential(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def credential_matches(stored_hash: str | None, given: str) -> bool:
    """True when `given` hashes to `stored_hash`; an empty credential never matches."""
    if not given or not stored_hash:
        return False
    # Both sides are ASCII hex digests, which compare_digest takes as str.
    return hmac.compare_digest(stored_hash, hash_credential(given))
