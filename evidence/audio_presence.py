"""Where a recording has audible audio: decode a segment's audio track, find non-silent time.

"Audio present" for a completeness report means a track is there *and* it is not silent: a
muted or unplugged microphone records digital silence, which is as bad as no track. Audio is
judged per decoded frame (≈21 ms for AAC at 48 kHz) by its RMS level against a threshold far
below room noise; the result is a list of wall-clock spans. Decoding AAC runs hundreds of times
faster than real time, so a report over hours of footage takes seconds; results are cached per
segment hash (segments never change).
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import av
import numpy as np

SILENCE_DBFS = -60.0
"""Below this RMS level (dB relative to full scale) a frame counts as silence."""

MERGE_US = 100_000
"""Audible spans closer than this are one span."""


@functools.lru_cache(maxsize=4096)
def _audible_offsets(path: str, sha256: str, threshold_dbfs: float) -> tuple[tuple[int, int], ...]:
    """Audible spans as µs offsets from the segment's first video frame (cached by hash)."""
    del sha256  # part of the cache key only
    spans: list[tuple[int, int]] = []
    with av.open(path) as container:
        if not container.streams.audio:
            return ()
        audio = container.streams.audio[0]
        video = container.streams.video[0] if container.streams.video else None
        origin = 0.0
        if video is not None and video.start_time is not None and video.time_base is not None:
            origin = float(video.start_time * video.time_base)
        threshold = 10 ** (threshold_dbfs / 20)
        for frame in container.decode(audio):
            if frame.pts is None or frame.time_base is None or frame.sample_rate <= 0:
                continue
            samples = frame.to_ndarray().astype(np.float32, copy=False)
            if frame.format.name.startswith(("s16",)):
                samples = samples / 32768.0
            elif frame.format.name.startswith(("s32",)):
                samples = samples / 2147483648.0
            rms = math.sqrt(float(np.mean(np.square(samples)))) if samples.size else 0.0
            if rms < threshold:
                continue
            start = float(frame.pts * frame.time_base) - origin
            begin = int(start * 1_000_000)
            end = begin + int(frame.samples * 1_000_000 / frame.sample_rate)
            if spans and begin - spans[-1][1] <= MERGE_US:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((begin, end))
    return tuple(spans)


def audible_spans(
    path: Path, *, sha256: str, start_us: int, threshold_dbfs: float = SILENCE_DBFS
) -> list[tuple[int, int]]:
    """Wall-clock spans of audible audio in a segment that starts at ``start_us``."""
    try:
        offsets = _audible_offsets(str(path), sha256, threshold_dbfs)
    except (av.FFmpegError, OSError):
        return []
    return [(start_us + a, start_us + b) for a, b in offsets]


def overlap_us(spans: list[tuple[int, int]], start_us: int, end_us: int) -> int:
    """Total length of ``spans`` (sorted, disjoint) inside [start_us, end_us)."""
    return sum(max(0, min(b, end_us) - max(a, start_us)) for a, b in spans)
