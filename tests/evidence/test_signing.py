"""The node's signing key: created private, and refused when other users could read it."""

from __future__ import annotations

from pathlib import Path

import pytest

from evidence.signing import SigningKeyError, load_or_create


def test_a_key_is_created_private_and_a_readable_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "node.pem"
    key = load_or_create(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert load_or_create(path).fingerprint == key.fingerprint
    path.chmod(0o644)
    with pytest.raises(SigningKeyError, match=r"readable by other users.*chmod 600"):
        load_or_create(path)
