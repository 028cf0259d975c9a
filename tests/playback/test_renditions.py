"""The rendition cache stays within its size, the least recently used going first, and forgets
what was not used for days (footage deleted by retention does not linger there)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from playback.renditions import RENDITION_MAX_AGE_DAYS, RenditionCache


def test_least_recently_used_and_stale_renditions_go(tmp_path: Path) -> None:
    cache = RenditionCache(tmp_path, max_bytes=3_000)
    now = time.time()
    for index, age in enumerate([50, 40, 30, 20, 10]):  # seconds since last use
        path = tmp_path / f"{index}.mp4"
        path.write_bytes(b"x" * 1_000)
        os.utime(path, (now - age, now - age))
    stale = tmp_path / "9.mp4"
    stale.write_bytes(b"x" * 10)
    old = now - RENDITION_MAX_AGE_DAYS * 86_400 - 60
    os.utime(stale, (old, old))
    cache._evict()
    assert sorted(p.name for p in tmp_path.glob("*.mp4")) == ["2.mp4", "3.mp4", "4.mp4"]


def test_a_zero_size_cache_keeps_nothing(tmp_path: Path) -> None:
    assert not RenditionCache(tmp_path, max_bytes=0).enabled
