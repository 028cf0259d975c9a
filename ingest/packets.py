"""What the ingest hands to its consumers: stream descriptions and timed packets."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from fractions import Fraction
from typing import Any


class StreamKind(enum.Enum):
    """Which elementary stream a packet belongs to."""

    VIDEO = "video"
    AUDIO = "audio"


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """The streams of one RTSP connection, as opened.

    ``video_stream`` / ``audio_stream`` are PyAV input streams; they are valid while the
    connection is open and serve as templates for output streams (stream copy). After a change
    of the stream within the connection, ``video_parameter_sets`` holds the parameter sets that
    replace the template's (Annex B), and ``width``/``height`` the new size.
    """

    camera_id: str
    connection: int
    video_stream: Any
    audio_stream: Any | None
    video_codec: str
    width: int
    height: int
    audio_codec: str | None
    audio_sample_rate: int | None
    opened_wall_us: int
    video_parameter_sets: bytes = b""

    @property
    def has_audio(self) -> bool:
        return self.audio_stream is not None


@dataclass(slots=True)
class MediaPacket:
    """One validated packet with its times.

    ``dts_us``/``pts_us`` are media time in microseconds (monotonic per stream within one
    ``epoch``); ``wall_us`` is the UTC wall time the packet stands for (anchored on the receive
    clock, advanced by media time). ``epoch`` changes at every discontinuity, so consumers know
    that times before and after do not join. Consumers must treat ``packet`` as read-only.
    """

    packet: Any
    kind: StreamKind
    keyframe: bool
    dts_us: int
    pts_us: int
    duration_us: int
    wall_us: int
    epoch: int
    time_base: Fraction

    @property
    def is_video(self) -> bool:
        return self.kind is StreamKind.VIDEO

    @property
    def size(self) -> int:
        return int(self.packet.size)
