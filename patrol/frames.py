"""Pictures and sound for the checks, decoded from what the Hub already holds.

The patrol never opens a second connection to a camera (stations' cameras allow few sessions,
and a check must not disturb recording): it decodes the keyframes the Hub keeps spread over the
last seconds and the audio of its current GOP. Decoding a keyframe is independent of every other
frame, so each is decoded on its own, from the stream's parameter sets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import av
import numpy as np

from ingest.hub import RecentMedia
from ingest.packets import MediaPacket, StreamInfo
from patrol.picture import ANALYSIS_WIDTH, Picture

SILENT_DBFS = -120.0
"""The level reported for digital silence (log of zero)."""


@dataclass
class CameraMedia:
    """One camera's recent pictures (oldest first, the latest last), the full-size latest
    picture for the snapshot, and the level of its recent audio."""

    pictures: list[Picture]
    latest_bgr: np.ndarray
    has_audio: bool
    audio_dbfs: float | None
    """RMS level of the decoded audio (None: a track, but no audio in the GOP)."""

    @property
    def latest(self) -> Picture:
        return self.pictures[-1]


def decode_recent(media: RecentMedia) -> CameraMedia:
    """Decode the pictures and the audio level; raises ValueError if no keyframe decodes."""
    pictures: list[Picture] = []
    latest_bgr: np.ndarray | None = None
    for index, keyframe in enumerate(media.keyframes):
        frame = _decode_keyframe(media.info, keyframe)
        if frame is None:
            continue
        pictures.append(_picture(frame, keyframe))
        if index == len(media.keyframes) - 1:
            latest_bgr = frame.to_ndarray(format="bgr24")
    if not pictures or latest_bgr is None:
        raise ValueError("the latest keyframe did not decode")
    audio = [p for p in media.gop if not p.is_video]
    return CameraMedia(
        pictures=pictures,
        latest_bgr=latest_bgr,
        has_audio=media.info.has_audio,
        audio_dbfs=audio_level(media.info, audio) if media.info.has_audio else None,
    )


def _decode_keyframe(info: StreamInfo, keyframe: MediaPacket) -> Any | None:
    codec: Any = av.CodecContext.create(info.video_codec, "r")
    codec.thread_count = 1
    extradata = info.video_parameter_sets or info.video_stream.codec_context.extradata
    if extradata:
        codec.extradata = extradata
    try:
        frames = list(codec.decode(av.Packet(bytes(keyframe.packet))))
        frames += list(codec.decode(None))
    except av.FFmpegError:
        return None
    return frames[0] if frames else None


def _picture(frame: Any, packet: MediaPacket) -> Picture:
    """Luma at native size (noise), colour at analysis size (one scaling pass in libswscale)."""
    luma = frame.to_ndarray(format="gray")
    width, height = frame.width, frame.height
    if width > ANALYSIS_WIDTH:
        height = max(2, round(height * ANALYSIS_WIDTH / width / 2) * 2)
        width = ANALYSIS_WIDTH
    bgr = frame.reformat(width=width, height=height, format="bgr24").to_ndarray()
    return Picture(luma_full=luma, bgr=bgr, pts_seconds=packet.pts_us / 1_000_000)


def audio_level(info: StreamInfo, packets: list[MediaPacket]) -> float | None:
    """RMS level in dBFS of the decoded audio packets (None when there are none)."""
    if info.audio_stream is None or not packets:
        return None
    template = info.audio_stream.codec_context
    codec: Any = av.CodecContext.create(template.name, "r")
    if template.extradata:
        codec.extradata = template.extradata
    if template.sample_rate:
        codec.sample_rate = template.sample_rate
    if getattr(template, "channels", 0):
        codec.layout = template.layout
    squares, count = 0.0, 0
    for packet in packets:
        try:
            frames = codec.decode(av.Packet(bytes(packet.packet)))
        except av.FFmpegError:
            continue
        for frame in frames:
            samples = _normalised(frame)
            squares += float(np.square(samples, dtype=np.float64).sum())
            count += samples.size
    if count == 0:
        return None
    rms = math.sqrt(squares / count)
    return 20 * math.log10(rms) if rms > 0 else SILENT_DBFS


def _normalised(frame: Any) -> np.ndarray:
    samples: np.ndarray = np.asarray(frame.to_ndarray(), dtype=np.float64)
    name = frame.format.name
    if name.startswith("s16"):
        return samples / 32768.0
    if name.startswith("s32"):
        return samples / 2147483648.0
    if name.startswith("u8"):
        return (samples - 128.0) / 128.0
    return samples
