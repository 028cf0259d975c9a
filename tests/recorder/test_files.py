"""Durable-file helpers: the one SHA-256 and fsync used by segments, exports and keys."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from recorder.files import CHUNK, fsync_directory, fsync_file, sha256_file, sha256_stream


def test_sha256_of_a_file_and_a_stream_agree_with_hashlib(tmp_path: Path) -> None:
    data = bytes(range(256)) * (CHUNK // 128 + 3)  # more than two chunks
    path = tmp_path / "segment.mp4"
    path.write_bytes(data)
    expected = (len(data), hashlib.sha256(data).hexdigest())
    assert sha256_file(path) == expected
    assert sha256_stream(io.BytesIO(data)) == expected
    assert sha256_stream(io.BytesIO(b"")) == (0, hashlib.sha256(b"").hexdigest())


def test_each_chunk_can_abandon_the_work(tmp_path: Path) -> None:
    path = tmp_path / "big"
    path.write_bytes(b"x" * (3 * CHUNK))
    calls = []

    def cancel() -> None:
        calls.append(1)
        if len(calls) == 2:
            raise InterruptedError("cancelled")

    with pytest.raises(InterruptedError):
        sha256_file(path, each_chunk=cancel)
    assert len(calls) == 2


def test_fsync_of_files_and_directories(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"data")
    fsync_file(path)
    fsync_directory(tmp_path)
    with pytest.raises(FileNotFoundError):
        fsync_directory(tmp_path / "missing")
