"""H.264 renditions of H.265 segments, kept for the next time the same footage is reviewed.

A browser that cannot decode H.265 gets it as H.264 made on the way (``stream.as_h264``), which
costs a good share of a core for as long as it plays, again at every seek. So each segment such a
stream played is also transcoded once in the background — one at a time, at low priority — into
``playback.rendition_cache``; a later stream whose segments all have a rendition plays those by
stream copy, at once and for nothing. The renditions keep the recording's timing exactly
(keyframes where the camera's are, every frame at its own time), so a plan made from the
recording (keyframe offset, durations) holds for them.

A rendition is never evidence: exports and ``verify`` use the recorded files only. The cache is
bounded (``rendition_cache_gb``): the least recently used renditions go first, and any not used
for ``RENDITION_MAX_AGE_DAYS`` (so footage deleted by retention does not linger here).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import queue
import subprocess
import threading
import time
from pathlib import Path

from playback.index import Plan, PlaySegment
from playback.stream import H264_RENDITION, h264_codecs

logger = logging.getLogger(__name__)

RENDITION_MAX_AGE_DAYS = 7
TRANSCODE_TIMEOUT_SECONDS = 600


class RenditionCache:
    """Renditions by segment id under ``directory``; the background worker is started lazily."""

    def __init__(self, directory: Path, max_bytes: int, *, executable: str = "ffmpeg") -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.executable = executable
        self._wanted: queue.Queue[PlaySegment] = queue.Queue(maxsize=1000)
        self._queued: set[int] = set()
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self.made = 0

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def path_of(self, segment: PlaySegment) -> Path:
        return self.directory / f"{segment.id}.mp4"

    def cached(self, plan: Plan) -> Plan | None:
        """``plan`` (an H.265 one) over renditions, when every one of its segments has one."""
        if not self.enabled or not plan.hevc:
            return None
        renditions = [self.path_of(segment) for segment in plan.segments]
        if not all(path.is_file() for path in renditions):
            return None
        now = time.time()
        for path in renditions:  # used: kept longer than what was not
            with contextlib.suppress(OSError):
                os.utime(path, (now, now))
        return dataclasses.replace(
            plan,
            segments=tuple(
                dataclasses.replace(segment, path=path)
                for segment, path in zip(plan.segments, renditions, strict=True)
            ),
            codecs=h264_codecs(plan),
            video="h264-kept",
        )

    def want(self, plan: Plan) -> None:
        """Make the renditions ``plan``'s segments lack, in the background."""
        if not self.enabled or not plan.hevc:
            return
        with self._lock:
            for segment in plan.segments:
                if segment.id in self._queued or self.path_of(segment).is_file():
                    continue
                try:
                    self._wanted.put_nowait(segment)
                except queue.Full:
                    return
                self._queued.add(segment.id)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="renditions", daemon=True)
                self._worker.start()

    def _work(self) -> None:
        while True:
            try:
                segment = self._wanted.get(timeout=30)
            except queue.Empty:
                return  # idle: the next want() starts a new worker
            try:
                self._make(segment)
            except Exception:  # one bad segment costs its rendition, not the worker
                logger.exception("rendition of segment %d failed", segment.id)
            finally:
                with self._lock:
                    self._queued.discard(segment.id)

    def _make(self, segment: PlaySegment) -> None:
        target = self.path_of(segment)
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part.mp4")
        args = [self.executable, "-nostdin", "-hide_banner", "-v", "error", "-y",
                "-i", str(segment.path), "-map", "0", "-dn", "-sn"]  # fmt: skip
        for option, value in H264_RENDITION.items():
            args += [f"-{option}", str(value)]
        args += ["-c:a", "copy", "-strict", "experimental", "-f", "mp4", str(partial)]
        done = subprocess.run(
            args,
            capture_output=True,
            timeout=TRANSCODE_TIMEOUT_SECONDS,
            check=False,
            preexec_fn=lambda: os.nice(10),
        )
        if done.returncode != 0:
            partial.unlink(missing_ok=True)
            raise RuntimeError(done.stderr.decode("utf-8", "replace").strip()[-500:])
        partial.replace(target)
        self.made += 1
        self._evict()

    def _evict(self) -> None:
        """Oldest-used first until within ``max_bytes``; anything unused past the age limit."""
        entries = []
        for path in self.directory.glob("*.mp4"):
            with contextlib.suppress(OSError):
                info = path.stat()
                entries.append((info.st_mtime, info.st_size, path))
        entries.sort()
        total = sum(size for _, size, _ in entries)
        oldest = time.time() - RENDITION_MAX_AGE_DAYS * 86_400
        for used, size, path in entries:
            if total <= self.max_bytes and used >= oldest:
                break
            path.unlink(missing_ok=True)
            total -= size
