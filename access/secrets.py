"""Random secrets for cookies and API tokens, and the digest stored in their place.

The secrets carry 256 random bits, so a plain SHA-256 is a sufficient stored form (a slow hash
only matters for guessable secrets such as passwords)."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "cw_"  # noqa: S105 -- a prefix that marks tokens, not a secret


def new_secret(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time comparison."""
    return secrets.compare_digest(
        a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass")
    )
