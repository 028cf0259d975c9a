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

    ``video_stream`` / ``audio_stream`` are PyAV input streams, valid only while the connection
    is open: the recorder's templates for output streams (stream copy). Every other consumer
    (live view, snapshots, the patrol) reads the streams as data — codecs, sizes,
    ``video_extradata``, the audio format — which stays valid after the connection closes and
    can cross a process boundary. After a change of the stream within the connection,
    ``video_parameter_sets`` holds the parameter sets that replace the extradata's (Annex B),
    and ``width``/``height`` the new size.
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
    video_extradata: bytes = b""
    """The video decoder's extradata as opened (avcC / hvcC, or Annex B parameter sets)."""
    audio_extradata: bytes = b""
    """The audio decoder's extradata (AAC: its AudioSpecificConfig)."""
    audio_channels: int | None = None

    @classmethod
    def of_streams(
        cls, camera_id: str, connection: int, video: Any, audio: Any | None, opened_wall_us: int
    ) -> StreamInfo:
        """The description of a connection's PyAV input streams (``audio`` None: no sound)."""
        picture = video.codec_context
        sound = audio.codec_context if audio is not None else None
        return cls(
            camera_id=camera_id,
            connection=connection,
            video_stream=video,
            audio_stream=audio,
            video_codec=picture.name,
            width=int(picture.width or 0),
            height=int(picture.height or 0),
            audio_codec=sound.name if sound is not None else None,
            audio_sample_rate=int(sound.sample_rate) if sound is not None else None,
            opened_wall_us=opened_wall_us,
            video_extradata=bytes(picture.extradata or b""),
            audio_extradata=bytes(sound.extradata or b"") if sound is not None else b"",
            audio_channels=int(sound.channels or 0) or None if sound is not None else None,
        )

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None

    @property
    def decoder_extradata(self) -> bytes:
        """What a video decoder of this stream is opened with: the parameter sets in force."""
        return self.video_parameter_sets or self.video_extradata


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
