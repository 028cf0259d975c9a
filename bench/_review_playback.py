"""Part (b) of bench/review.py: seek to first frame of recorded playback in headless Chromium.

While the server keeps recording, for random instants of the recorded footage the page sets
``video.src`` and measures, with ``performance.now()``, from the assignment to the first
``requestVideoFrameCallback`` (the first frame handed to the compositor):

- **playback**: ``/api/v1/playback/{camera}?start=T&end=T+60s`` — the streamed fragmented MP4,
  which starts at the keyframe at or before T (media time 0);
- **static file** (baseline 1): the recorded segment that holds T, as the same server serves it
  (``/api/v1/segments/{id}/file``, a plain MP4 file with range requests) with the media fragment
  ``#t=K``, K = that same keyframe: the same frame, from a file instead of a stream;
- **PyAV** (baseline 2, the decode floor): in this process, open the segment file, seek to the
  keyframe at or before T and decode one frame.

Before each measurement the element is emptied (``removeAttribute('src'); load()``), so each
seek starts from an idle element; that teardown is not timed. The first two seeks of each path
are a warm-up. Instants and their order are the same for the browser paths (interleaved).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

try:
    from bench import _measure as m
    from bench import _review_server as srv
    from bench._review_queries import Latency
    from bench._review_record import Recording, SegmentRow
except ImportError:  # run as a script: bench/ itself is on sys.path
    import _measure as m  # type: ignore[import-not-found,no-redef]
    import _review_server as srv  # type: ignore[import-not-found,no-redef]
    from _review_queries import Latency  # type: ignore[import-not-found,no-redef]
    from _review_record import (  # type: ignore[import-not-found,no-redef]
        Recording,
        SegmentRow,
    )

TARGET_P50_MS = 300.0
WARMUP_SEEKS = 2
SEEK_TIMEOUT_MS = 15_000
CHROMIUM = m.CHROMIUM
CHROMIUM_ARGS = m.CHROMIUM_ARGS
US = 1_000_000

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>review seek bench</title></head>
<body style="margin:0;background:#000">
<video id="v" muted playsinline autoplay width="640" height="360"></video>
<script>
window.seek = (url, timeoutMs, minMediaTime) => new Promise((resolve) => {
  const v = document.getElementById('v');
  v.pause();
  v.removeAttribute('src');
  v.load();
  let done = false;
  const finish = (value) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    v.onerror = null;
    resolve(value);
  };
  const timer = setTimeout(() => finish({
    error: 'no frame within ' + timeoutMs + ' ms', readyState: v.readyState,
    networkState: v.networkState,
  }), timeoutMs);
  v.onerror = () => finish({error: 'media error ' + (v.error ? v.error.code + ' ' +
    v.error.message : '?')});
  // The first frame at or after the wanted media time: a player may show an earlier frame
  // (media time 0 of a file) before a '#t=' seek completes; that one does not count.
  let skipped = 0;
  const onFrame = (_now, meta) => {
    if (meta.mediaTime < minMediaTime - 0.05) {
      skipped += 1;
      v.requestVideoFrameCallback(onFrame);
      return;
    }
    finish({ms: performance.now() - t0, mediaTime: meta.mediaTime, width: meta.width,
            height: meta.height, skipped: skipped});
  };
  const t0 = performance.now();
  v.src = url;
  v.requestVideoFrameCallback(onFrame);
  const started = v.play();
  if (started) started.catch(() => {});
});
</script></body></html>
"""


@dataclass
class PlaybackResult:
    """What part (b) measured."""

    seeks: int
    via: str
    playback: Latency = field(default_factory=Latency)
    static_file: Latency = field(default_factory=Latency)
    pyav: Latency = field(default_factory=Latency)
    recorded_seconds: float = 0.0
    samples: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""


def keyframe_and_decode(path: Path, offset_us: int) -> tuple[Fraction, float]:
    """Keyframe at or before ``offset_us`` (seconds into the file) and the ms it took to open
    the file, seek there and decode that frame (the PyAV baseline)."""
    import av

    started = time.perf_counter()
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        time_base = video.time_base
        assert time_base is not None
        if offset_us > 0:
            container.seek(
                int(Fraction(offset_us, US) / time_base),
                stream=video,
                backward=True,
                any_frame=False,
            )
        for frame in container.decode(video):
            elapsed = (time.perf_counter() - started) * 1000.0
            pts = frame.pts if frame.pts is not None else 0
            keyframe = max(Fraction(0), Fraction(pts) * time_base)
            if keyframe * US > offset_us:  # overshot: the file starts with a keyframe
                keyframe = Fraction(0)
            return keyframe, elapsed
    raise srv.BenchError(f"{path.name}: no video frame")


def _iso(us: int) -> str:
    from ingest.clock import isoformat_us

    return isoformat_us(us)


def _pick(rng: random.Random, segments: dict[str, list[SegmentRow]]) -> tuple[SegmentRow, int]:
    """A random instant of finished footage (not in the last 3 s) and the segment holding it."""
    camera = rng.choice(sorted(segments))
    rows = segments[camera]
    first, last = rows[0].start_us + US, rows[-1].end_us - 3 * US
    instant = rng.randrange(first, last)
    for row in rows:
        if row.start_us <= instant < row.end_us:
            return row, instant
    return rows[-1], rows[-1].start_us


def run(
    rec: Recording,
    *,
    seeks: int,
    seed: int,
    base_url: str,
    via: str,
    progress: Callable[[str], None],
) -> PlaybackResult:
    """Measure ``seeks`` random seeks (plus warm-up) on each path."""
    from playwright.sync_api import sync_playwright

    result = PlaybackResult(seeks=seeks, via=via)
    segments = {camera: rec.segments(camera) for camera in rec.cameras}
    segments = {camera: rows for camera, rows in segments.items() if rows}
    if not segments:
        raise srv.BenchError("no finished segments to play")
    result.recorded_seconds = sum(
        (rows[-1].end_us - rows[0].start_us) / US for rows in segments.values()
    ) / len(segments)
    rng = random.Random(seed)
    picks = [_pick(rng, segments) for _ in range(seeks + WARMUP_SEEKS)]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page()
            page.goto(f"{base_url}/api/v1/health")
            page.set_content(PAGE)
            for index, (row, instant) in enumerate(picks):
                offset = instant - row.start_us
                keyframe, decode_ms = keyframe_and_decode(row.path, offset)
                play_url = f"{base_url}/api/v1/playback/{row.camera_id}?" + urlencode(
                    {"start": _iso(instant), "end": _iso(instant + 60 * US)}
                )
                file_url = (
                    f"{rec.server.base}/api/v1/segments/{row.id}/file#t={float(keyframe):.3f}"
                )
                played = page.evaluate(
                    "([u, t, m]) => window.seek(u, t, m)", [play_url, SEEK_TIMEOUT_MS, 0.0]
                )
                static = page.evaluate(
                    "([u, t, m]) => window.seek(u, t, m)",
                    [file_url, SEEK_TIMEOUT_MS, float(keyframe)],
                )
                sample = {
                    "camera": row.camera_id,
                    "instant": _iso(instant),
                    "offset_s": offset / US,
                    "keyframe_s": float(keyframe),
                    "playback": played,
                    "static_file": static,
                    "pyav_ms": decode_ms,
                }
                if index < WARMUP_SEEKS:
                    continue
                result.samples.append(sample)
                result.pyav.samples_ms.append(decode_ms)
                for latency, outcome in ((result.playback, played), (result.static_file, static)):
                    if "ms" in outcome:
                        latency.samples_ms.append(float(outcome["ms"]))
                    else:
                        latency.errors += 1
                        latency.note = latency.note or str(outcome.get("error"))
                if (index + 1 - WARMUP_SEEKS) % 10 == 0:
                    progress(f"  seeks: {index + 1 - WARMUP_SEEKS}/{seeks}")
        finally:
            browser.close()
    return result
