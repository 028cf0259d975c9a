"""The password policy and Argon2id hashing."""

from __future__ import annotations

import pytest

from access.passwords import PasswordRejected, check_policy, hash_password, verify_password


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("Short-1", "at least 12"),
        ("li.wei-2026-secret", "user name"),
        ("abcdefghijklmnop", "mix"),
        ("aaaaaaaaaaaa1111", "repeats"),
        ("x" * 257, "at most 256"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password: str, why: str) -> None:
    with pytest.raises(PasswordRejected, match=why):
        check_policy("li.wei", password, min_length=12)


@pytest.mark.parametrize("password", ["Tiger-lamp-42x", "correct horse battery staple words"])
def test_good_passwords_pass(password: str) -> None:
    check_policy("li.wei", password, min_length=12)


def test_hashes_are_argon2id_salted_and_verify() -> None:
    first, second = hash_password("Tiger-lamp-42x"), hash_password("Tiger-lamp-42x")
    assert first.startswith("$argon2id$") and first != second
    assert verify_password(first, "Tiger-lamp-42x")
    assert not verify_password(first, "Tiger-lamp-43x")
    assert not verify_password("not a hash", "Tiger-lamp-42x")
