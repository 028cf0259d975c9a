"""Password hashing (Argon2id, argon2-cffi's defaults: RFC 9106's low-memory profile) and the
password policy."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
MAX_LENGTH = 256


class PasswordRejected(ValueError):
    """The password does not meet the policy (the message says why)."""


def check_policy(name: str, password: str, *, min_length: int) -> None:
    """Raise ``PasswordRejected`` unless ``password`` is at least ``min_length`` characters,
    at most ``MAX_LENGTH``, is not the user name, and mixes at least two kinds of characters
    (letters, digits, others) or is twice the minimum length (a passphrase)."""
    if len(password) < min_length:
        raise PasswordRejected(f"the password must have at least {min_length} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordRejected(f"the password must have at most {MAX_LENGTH} characters")
    if name.strip().casefold() in password.casefold():
        raise PasswordRejected("the password must not contain the user name")
    kinds = (
        any(c.isalpha() for c in password)
        + any(c.isdigit() for c in password)
        + any(not c.isalnum() for c in password)
    )
    if kinds < 2 and len(password) < 2 * min_length:
        raise PasswordRejected(
            "the password must mix letters, digits or symbols (or be a long passphrase)"
        )
    if len(set(password)) < 4:
        raise PasswordRejected("the password repeats too few characters")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """True when ``password`` matches; never raises for a wrong password or a bad hash."""
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """The hash was made with weaker parameters than today's: store a new one at sign-in."""
    try:
        return _HASHER.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


DUMMY_HASH = hash_password("an unused password to spend the same time on unknown names")
"""Verified against when the user does not exist, so timing does not tell names apart."""
