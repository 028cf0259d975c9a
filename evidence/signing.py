"""The server's export signing key: Ed25519, PEM on disk, created (mode 0600) when missing.

A manifest is signed over its exact bytes; the signature file is the raw 64-byte Ed25519
signature, so anyone can check it with the public key alone, e.g.
``openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin -in manifest.json -sigfile
manifest.sig``. A key's fingerprint is ``sha256:`` + the hex SHA-256 of its 32 raw public bytes;
its id is the first 16 hex digits of that.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from recorder.files import fsync_directory

logger = logging.getLogger(__name__)

ALGORITHM = "Ed25519"


class SigningKeyError(ValueError):
    """A key file that cannot be used (missing, unreadable, not an Ed25519 key)."""


@dataclass(frozen=True)
class SigningKey:
    """The private key with its public half in the forms exports need."""

    private: Ed25519PrivateKey
    public_pem: bytes
    fingerprint: str
    key_id: str

    def sign(self, data: bytes) -> bytes:
        """The raw 64-byte Ed25519 signature of ``data``."""
        return self.private.sign(data)


def fingerprint(public: Ed25519PublicKey) -> str:
    """``sha256:<hex>`` of the raw public key bytes."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _wrap(private: Ed25519PrivateKey) -> SigningKey:
    public = private.public_key()
    print_ = fingerprint(public)
    return SigningKey(private, public_pem(public), print_, print_.removeprefix("sha256:")[:16])


def load_or_create(path: Path) -> SigningKey:
    """Load the PEM private key at ``path``; create it (0600, parents 0700) if it is missing. A
    key that other users could read is refused (it could have been copied).

    Creation is atomic and race-free: the key is written to a private temporary file, fsynced,
    then hard-linked to ``path`` (which fails if another process created it first; then its
    key is used). Raises ``SigningKeyError`` with the reason when the key cannot be had.
    """
    if not path.exists():
        try:
            _create(path)
        except OSError as error:
            raise SigningKeyError(f"cannot create {path}: {error.strerror or error}") from None
    try:
        data = path.read_bytes()
        mode = path.stat().st_mode
    except OSError as error:
        raise SigningKeyError(f"cannot read {path}: {error.strerror or error}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SigningKeyError(
            f"{path} is readable by other users (mode {mode & 0o777:o}): anyone who can read it "
            f"can forge exports and audit checkpoints; run `chmod 600 {path}`"
        )
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as error:
        raise SigningKeyError(f"{path} is not an unencrypted PEM private key ({error})") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} is not an Ed25519 private key")
    return _wrap(private)


def _create(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(pem)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temp, path)
        except FileExistsError:
            return  # another process won the race; its key is the key
        logger.warning("created a new export signing key %s", path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    fsync_directory(path.parent)


def load_public(data: bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM bytes; ``SigningKeyError`` if it is anything else."""
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as error:
        if b"PRIVATE KEY" in data:
            raise SigningKeyError("this is a private key; give the public key (PEM)") from None
        raise SigningKeyError(f"not a PEM public key ({error})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError("not an Ed25519 public key")
    return key


def verify(public: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    """Whether ``signature`` is the Ed25519 signature of ``data`` by ``public``."""
    try:
        public.verify(signature, data)
    except InvalidSignature:
        return False
    return True
