"""Process-wide tuning applied once at server start-up, before any worker thread exists."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

logger = logging.getLogger(__name__)

M_ARENA_MAX = -8
"""glibc ``mallopt`` parameter: the most malloc arenas the process may create."""

MALLOC_ARENAS = 2
"""One demux thread per camera would otherwise get up to 8 × cores arenas of its own, each keeping
freed packet buffers around: with many cameras that is most of the resident memory. Two arenas
cost no measurable CPU here (see bench/record.py)."""


TRIM_INTERVAL_SECONDS = 60.0
"""How often freed heap memory is handed back to the system (``trim_malloc``)."""


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name)
    except OSError:
        return None


def trim_malloc() -> bool:
    """Return freed heap memory to the system (glibc ``malloc_trim``); True if any was.

    Bursts — a viewer's queue filling while it catches up, a slow disk holding fragments — free
    their memory afterwards, but glibc keeps it in its arenas: the process then stays at its
    high-water mark. Trimming now and then keeps the resident size at what is actually in use.
    """
    libc = _libc()
    trim = getattr(libc, "malloc_trim", None) if libc is not None else None
    return bool(trim(ctypes.c_size_t(0))) if trim is not None else False


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas (no-op on other C libraries). True when applied."""
    libc = _libc()
    mallopt = getattr(libc, "mallopt", None) if libc is not None else None
    if mallopt is None:
        return False
    applied = bool(mallopt(ctypes.c_int(M_ARENA_MAX), ctypes.c_int(arenas)))
    if not applied:
        logger.debug("mallopt(M_ARENA_MAX) was refused")
    return applied
