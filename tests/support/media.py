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


G711_SOUND = "aevalsrc=0.3*sin(2*PI*(300+200*t)*t)+0.02*(random(0)-0.5):s=8000"
"""A sweep with a little noise: G.711 bytes that never repeat, so a bit-exact comparison of a
window of them means something (a steady tone at 8 kHz repeats every few samples)."""


def make_source(
    path: Path, *, seconds: float = 6.0, gop: int = 25, audio: str = "aac", video: str = "h264"
) -> Path:
    """320×180 test picture at 25 fps (keyframe every ``gop`` frames, no B-frames) with a 1 kHz
    AAC tone, as Matroska; ``audio="pcm_alaw"`` / ``"pcm_mulaw"`` gives a camera's G.711 (8 kHz
    mono, 20 ms packets) of ``G711_SOUND`` instead (use a ``.nut`` path); ``video="hevc"`` an
    H.265 camera's picture (parameter sets in band, as cameras send them)."""
    if audio == "aac":
        sound = ["-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000"]
        coding = ["-c:a", "aac"]
    else:
        sound = ["-f", "lavfi", "-i", G711_SOUND]
        coding = ["-af", "asetnsamples=n=160:p=0", "-c:a", audio, "-ar", "8000", "-ac", "1"]
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", *sound,
            "-t", str(seconds),
            *_video_coding(video, gop), *coding,
            str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


def _video_coding(codec: str, gop: int) -> list[str]:
    if codec == "hevc":
        params = (
            f"log-level=error:keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0:repeat-headers=1"
        )
        return ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", params]
    return ["-c:v", "libx264", "-preset", "ultrafast", "-bf", "0", "-g", str(gop)]


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
        info = StreamInfo.of_streams(camera_id, 1, video, audio, start_us)

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
