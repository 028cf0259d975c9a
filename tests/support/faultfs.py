"""A pass-through FUSE file system whose writes can be made to fail (EIO) or fsync made slow, on
demand: a real kernel file system for a real server process, with the fault switched by the
test (libfuse 3 through mfusepy; needs /dev/fuse and root, as in CI)."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

try:
    import mfusepy
except ImportError:  # pragma: no cover - installed with the test extras
    mfusepy = None


class FaultyPassthrough(mfusepy.Operations if mfusepy else object):  # type: ignore[misc]
    """Every call goes to ``backing``; ``write_errno`` fails writes and fsyncs with that error,
    ``fsync_delay`` makes fsync take that long."""

    use_ns = True  # times in nanoseconds (mfusepy's modern interface)

    def __init__(self, backing: Path) -> None:
        self.backing = backing
        self.write_errno: int | None = None
        self.fsync_delay = 0.0

    def _real(self, path: str) -> str:
        return str(self.backing / path.lstrip("/"))

    def _fail(self) -> None:
        if self.write_errno is not None:
            raise mfusepy.FuseOSError(self.write_errno)

    # -- metadata
    def getattr(self, path: str, fh: Any = None) -> dict[str, Any]:
        st = os.lstat(self._real(path))
        names = ("st_mode", "st_nlink", "st_uid", "st_gid", "st_size")
        times = {f"st_{t}time": getattr(st, f"st_{t}time_ns") for t in ("a", "m", "c")}
        return {**{name: getattr(st, name) for name in names}, **times}

    def readdir(self, path: str, fh: Any) -> list[str]:
        return [".", "..", *os.listdir(self._real(path))]

    def statfs(self, path: str) -> dict[str, int]:
        st = os.statvfs(self._real(path))
        keys = ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files")
        return {key: getattr(st, key) for key in (*keys, "f_flag", "f_frsize", "f_namemax")}

    def access(self, path: str, amode: int) -> int:
        if not os.access(self._real(path), amode):
            raise mfusepy.FuseOSError(errno.EACCES)
        return 0

    def chmod(self, path: str, mode: int) -> int:
        os.chmod(self._real(path), mode)
        return 0

    def utimens(self, path: str, times: Any = None) -> int:
        if times is None:
            os.utime(self._real(path))
        else:
            os.utime(self._real(path), ns=tuple(times))
        return 0

    # -- directories
    def mkdir(self, path: str, mode: int) -> int:
        os.mkdir(self._real(path), mode)
        return 0

    def rmdir(self, path: str) -> int:
        os.rmdir(self._real(path))
        return 0

    def unlink(self, path: str) -> int:
        os.unlink(self._real(path))
        return 0

    def rename(self, old: str, new: str) -> int:
        os.rename(self._real(old), self._real(new))
        return 0

    def link(self, target: str, source: str) -> int:
        os.link(self._real(source), self._real(target))
        return 0

    def fsyncdir(self, path: str, datasync: int, fh: Any) -> int:
        return 0

    # -- files
    def create(self, path: str, mode: int, fi: Any = None) -> int:
        self._fail()
        return os.open(self._real(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)

    def open(self, path: str, flags: int) -> int:
        return os.open(self._real(path), flags)

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        return os.pread(fh, size, offset)

    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        self._fail()
        return os.pwrite(fh, data, offset)

    def truncate(self, path: str, length: int, fh: Any = None) -> int:
        os.truncate(self._real(path), length)
        return 0

    def flush(self, path: str, fh: int) -> int:
        return 0

    def fsync(self, path: str, datasync: int, fh: int) -> int:
        self._fail()
        time.sleep(self.fsync_delay)
        os.fsync(fh)
        return 0

    def release(self, path: str, fh: int) -> int:
        os.close(fh)
        return 0


@contextmanager
def faulty_file_system(mountpoint: Path) -> Iterator[FaultyPassthrough]:
    """Mount a ``FaultyPassthrough`` over a fresh backing directory at ``mountpoint``."""
    if mfusepy is None or not Path("/dev/fuse").exists() or shutil.which("fusermount3") is None:
        pytest.skip("FUSE (libfuse 3, /dev/fuse, mfusepy) is not available")
    backing = mountpoint.with_name(mountpoint.name + "-backing")
    backing.mkdir(parents=True, exist_ok=True)
    mountpoint.mkdir(parents=True, exist_ok=True)
    operations = FaultyPassthrough(backing)
    thread = threading.Thread(
        target=mfusepy.FUSE,
        args=(operations, str(mountpoint)),
        kwargs={"foreground": True, "allow_other": True},
        name="faultfs",
        daemon=True,
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not os.path.ismount(mountpoint):
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.skip("the FUSE file system did not mount here")
        time.sleep(0.05)
    try:
        yield operations
    finally:
        operations.write_errno, operations.fsync_delay = None, 0.0
        subprocess.run(["fusermount3", "-u", "-z", str(mountpoint)], check=False)
        thread.join(timeout=10)
