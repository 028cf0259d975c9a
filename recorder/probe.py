"""Probing a segment file with PyAV: duration and streams."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av

from ingest.timestamps import to_us


@dataclass(frozen=True, slots=True)
class ProbeResult:
    duration_us: int
    video_codec: str
    width: int
    height: int
    audio_codec: str | None
    video_packets: int
    audio_packets: int


def probe(path: Path) -> ProbeResult:
    """Read every packet's timestamps; raises av.FFmpegError / ValueError when unreadable."""
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise ValueError("no video stream")
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        first: int | None = None
        last = 0
        counts = {True: 0, False: 0}
        for packet in container.demux():
            if packet.dts is None or packet.pts is None:
                continue
            is_video = packet.stream is video
            counts[is_video] += 1
            if is_video:
                start = to_us(packet.pts, packet.time_base)
                end = to_us(packet.pts + (packet.duration or 0), packet.time_base)
                first = start if first is None else min(first, start)
                last = max(last, end)
        if first is None:
            raise ValueError("no video packets")
        return ProbeResult(
            duration_us=last - first,
            video_codec=video.codec_context.name,
            width=int(video.codec_context.width or 0),
            height=int(video.codec_context.height or 0),
            audio_codec=audio.codec_context.name if audio is not None and counts[False] else None,
            video_packets=counts[True],
            audio_packets=counts[False],
        )
