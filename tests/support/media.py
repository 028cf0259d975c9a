"""Real media for unit tests: a short H.264 + AAC file made by ffmpeg, and its packets as the
ingest layer hands them to consumers (``MediaPacket`` with wall times)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

import av

from ingest.packets import MediaPacket, StreamInfo, StreamKind

START_US = 1_764_000_000_000_000
"""Wall time of the first packet (2025-11-24T16:00:00Z)."""


def make_source(path: Path, *, seconds: float = 6.0, gop: int = 25) -> Path:
    """320×180 test picture at 25 fps (keyframe every ``gop`` frames, no B-frames) with a
    1 kHz AAC tone, as Matroska."""
    subprocess.run(
        [
            "ffmpeg", "-v", "error",
            "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25",
            "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000",
            "-t", str(seconds),
            "-c:v", "libx264", "-preset", "ultrafast", "-bf", "0", "-g", str(gop),
            "-c:a", "aac",
            str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


def to_us(value: int, time_base: Fraction) -> int:
    return value * time_base.numerator * 1_000_000 // time_base.denominator


@contextmanager
def camera_packets(
    source: Path, *, start_us: int = START_US, camera_id: str = "cam"
) -> Iterator[tuple[StreamInfo, Iterator[MediaPacket]]]:
    """The stream info and the packets of ``source`` in demux order, as a camera's Hub
    publishes them (valid while the context is open)."""
    with av.open(str(source)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        info = StreamInfo(
            camera_id, 1, video, audio, "h264", video.width, video.height, "aac", 48000, start_us
        )

        def packets() -> Iterator[MediaPacket]:
            for raw in container.demux(video, audio):
                if raw.dts is None or raw.pts is None:
                    continue
                time_base: Fraction = raw.time_base
                dts_us = to_us(raw.dts, time_base)
                kind = StreamKind.VIDEO if raw.stream is video else StreamKind.AUDIO
                yield MediaPacket(
                    raw,
                    kind,
                    bool(raw.is_keyframe),
                    dts_us,
                    to_us(raw.pts, time_base),
                    to_us(raw.duration or 0, time_base),
                    start_us + dts_us,
                    0,
                    time_base,
                )

        yield info, packets()
