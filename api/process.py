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


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas (no-op on other C libraries). True when applied."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    applied = bool(mallopt(ctypes.c_int(M_ARENA_MAX), ctypes.c_int(arenas)))
    if not applied:
        logger.debug("mallopt(M_ARENA_MAX) was refused")
    return applied
