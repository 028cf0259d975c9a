"""What a Hub publishes, as bytes: the framing of a camera's stream between processes.

A recorder worker process owns cameras; the server's live view, snapshots and patrol read them
through this framing over a Unix socket (see recorder/DESIGN.md, "Worker processes"). Every
frame is a fixed header and a payload:

    kind u8 · flags u8 · camera u16 · epoch u32 · dts, pts, duration, wall i64 (µs) ·
    time base u32/u32 · payload length u32                                    (52 bytes)

A packet's payload is its bytes as the camera sent them; a stream description's is JSON (the
data fields of `StreamInfo`: codecs, size, extradata in base64 — never PyAV objects); the end
of a stream carries its cause and detail, a discontinuity its reason. ``camera`` is the
camera's index in the list both sides were given. Frames are written with one ``sendmsg`` of
header and payload (no copy of the payload into a buffer), and read back whole or not at all:
a header that names an unknown kind or an oversized payload is refused (`WireError`), so a
corrupt stream cannot make the reader allocate or misread.
"""

from __future__ import annotations

import base64
import enum
import json
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ingest.events import Cause
from ingest.packets import MediaPacket, StreamInfo, StreamKind
from ingest.timestamps import Discontinuity

HEADER = struct.Struct("<BBHIqqqqIII")
"""kind, flags, camera, epoch, dts, pts, duration, wall, time base numerator and denominator,
payload length."""
MAX_PAYLOAD = 16 * 1024 * 1024
"""The largest payload a reader accepts (a 4K keyframe is a few MB)."""
_VIDEO, _KEYFRAME, _REPLY = 1, 2, 4
"""Flag bits of a packet."""


class Kind(enum.IntEnum):
    """What a frame carries."""

    PACKET = 1
    STREAM_STARTED = 2
    STREAM_ENDED = 3
    DISCONTINUITY = 4
    REPLAYED = 5
    """A watched camera's cached GOP has been sent: what follows is live."""
    REPLY_BEGIN = 6
    """The answer to a request for a camera's recent media: its id, the stream and the GOP's
    length; the packets follow, flagged as a reply, then `REPLY_END`."""
    REPLY_END = 7


class WireError(Exception):
    """A frame that cannot be read: the stream is corrupt (the connection must be dropped)."""


@dataclass(frozen=True, slots=True)
class Replayed:
    """`Kind.REPLAYED`: the cached GOP of a newly watched camera is through."""


@dataclass(frozen=True, slots=True)
class ReplyBegin:
    """`Kind.REPLY_BEGIN`: the answer to request ``request`` (``info`` None: the camera has no
    picture now, and no packets follow)."""

    request: int
    info: StreamInfo | None
    gop_seconds: float | None


@dataclass(frozen=True, slots=True)
class ReplyEnd:
    """`Kind.REPLY_END`: the answer to request ``request`` is complete."""

    request: int


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame as read: its camera index and what it carries. ``reply`` marks a packet that
    belongs to an answer (between `ReplyBegin` and `ReplyEnd`), not to the live stream."""

    camera: int
    item: (
        MediaPacket
        | StreamInfo
        | tuple[Cause, str]
        | Discontinuity
        | Replayed
        | ReplyBegin
        | ReplyEnd
    )
    reply: bool = False


class RawPacket(bytes):
    """A packet's bytes as read from the wire: the ``packet`` of a `MediaPacket` that crossed
    a process boundary (consumers read it with ``bytes()`` / the buffer protocol, as they read
    a PyAV packet)."""

    __slots__ = ()

    @property
    def size(self) -> int:
        return len(self)


# -- writing --------------------------------------------------------------------------------------


def packet_frame(
    camera: int, packet: MediaPacket, *, reply: bool = False
) -> tuple[bytes, memoryview]:
    """Header and payload of one packet (the payload is a view of the packet's own bytes);
    ``reply``: part of an answer, not of the live stream."""
    payload = memoryview(packet.packet).cast("B")
    flags = (
        (_VIDEO if packet.is_video else 0)
        | (_KEYFRAME if packet.keyframe else 0)
        | (_REPLY if reply else 0)
    )
    header = HEADER.pack(
        Kind.PACKET, flags, camera, packet.epoch, packet.dts_us, packet.pts_us,
        packet.duration_us, packet.wall_us, packet.time_base.numerator,
        packet.time_base.denominator, len(payload),
    )  # fmt: skip
    return header, payload


def stream_started_frame(camera: int, info: StreamInfo) -> tuple[bytes, bytes]:
    """Header and payload describing a new stream."""
    return _json_frame(Kind.STREAM_STARTED, camera, describe(info))


def describe(info: StreamInfo) -> dict[str, Any]:
    """The data fields of a stream description, as JSON values (`stream_info` reads them)."""
    return {
        "camera_id": info.camera_id,
        "connection": info.connection,
        "video_codec": info.video_codec,
        "width": info.width,
        "height": info.height,
        "audio_codec": info.audio_codec,
        "audio_sample_rate": info.audio_sample_rate,
        "audio_channels": info.audio_channels,
        "opened_wall_us": info.opened_wall_us,
        "video_parameter_sets": _b64(info.video_parameter_sets),
        "video_extradata": _b64(info.video_extradata),
        "audio_extradata": _b64(info.audio_extradata),
    }


def stream_ended_frame(camera: int, cause: Cause, detail: str) -> tuple[bytes, bytes]:
    return _json_frame(Kind.STREAM_ENDED, camera, {"cause": cause.value, "detail": detail})


def discontinuity_frame(camera: int, reason: Discontinuity) -> tuple[bytes, bytes]:
    return _json_frame(Kind.DISCONTINUITY, camera, {"reason": reason.value})


def replayed_frame(camera: int) -> tuple[bytes, bytes]:
    return _json_frame(Kind.REPLAYED, camera, {})


def reply_begin_frame(
    camera: int, request: int, info: StreamInfo | None, gop_seconds: float | None
) -> tuple[bytes, bytes]:
    body = {
        "request": request,
        "info": describe(info) if info is not None else None,
        "gop_seconds": gop_seconds,
    }
    return _json_frame(Kind.REPLY_BEGIN, camera, body)


def reply_end_frame(camera: int, request: int) -> tuple[bytes, bytes]:
    return _json_frame(Kind.REPLY_END, camera, {"request": request})


def send(sock: socket.socket, frame: tuple[bytes, bytes | memoryview]) -> None:
    """Write one frame whole (blocking socket)."""
    header, payload = frame
    total = len(header) + len(payload)
    sent = sock.sendmsg([header, payload])
    if sent < total:  # a full socket buffer took part of it: the rest, in order
        rest = (header + bytes(payload))[sent:]
        sock.sendall(rest)


def _json_frame(kind: Kind, camera: int, body: dict[str, Any]) -> tuple[bytes, bytes]:
    payload = json.dumps(body, separators=(",", ":")).encode()
    return HEADER.pack(kind, 0, camera, 0, 0, 0, 0, 0, 0, 1, len(payload)), payload


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# -- reading --------------------------------------------------------------------------------------


class FrameReader:
    """Frames out of a byte stream that arrives in pieces of any size."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> Iterator[Frame]:
        """The frames completed by ``data``; raises `WireError` on a corrupt stream."""
        self._buffer += data
        while len(self._buffer) >= HEADER.size:
            fields = HEADER.unpack_from(self._buffer)
            length = fields[-1]
            if length > MAX_PAYLOAD:
                raise WireError(f"a payload of {length} bytes")
            end = HEADER.size + length
            if len(self._buffer) < end:
                return
            payload = bytes(self._buffer[HEADER.size : end])
            del self._buffer[:end]
            yield decode(fields, payload)


def decode(fields: tuple[int, ...], payload: bytes) -> Frame:
    """One frame from its unpacked header and its payload."""
    kind, flags, camera, epoch, dts, pts, duration, wall, num, den, _length = fields
    try:
        if kind == Kind.PACKET:
            if den == 0:
                raise WireError("a time base of x/0")
            video = bool(flags & _VIDEO)
            packet = MediaPacket(
                packet=RawPacket(payload),
                kind=StreamKind.VIDEO if video else StreamKind.AUDIO,
                keyframe=bool(flags & _KEYFRAME),
                dts_us=dts, pts_us=pts, duration_us=duration, wall_us=wall, epoch=epoch,
                time_base=Fraction(num, den),
            )  # fmt: skip
            return Frame(camera, packet, bool(flags & _REPLY))
        body = json.loads(payload)
        if kind == Kind.STREAM_STARTED:
            return Frame(camera, stream_info(body))
        if kind == Kind.STREAM_ENDED:
            return Frame(camera, (Cause(body["cause"]), str(body["detail"])))
        if kind == Kind.DISCONTINUITY:
            return Frame(camera, Discontinuity(body["reason"]))
        if kind == Kind.REPLAYED:
            return Frame(camera, Replayed())
        if kind == Kind.REPLY_BEGIN:
            described = body["info"]
            info = stream_info(described) if described is not None else None
            seconds = body["gop_seconds"]
            return Frame(
                camera,
                ReplyBegin(
                    int(body["request"]), info, float(seconds) if seconds is not None else None
                ),
            )
        if kind == Kind.REPLY_END:
            return Frame(camera, ReplyEnd(int(body["request"])))
    except (ValueError, KeyError, TypeError) as error:
        raise WireError(f"a frame of kind {kind} that does not read: {error}") from None
    raise WireError(f"an unknown frame kind {kind}")


def stream_info(body: dict[str, Any]) -> StreamInfo:
    """A stream description from its `describe` fields (raises ValueError/KeyError/TypeError)."""

    def optional_int(key: str) -> int | None:
        value = body.get(key)
        return None if value is None else int(value)

    return StreamInfo(
        camera_id=str(body["camera_id"]),
        connection=int(body["connection"]),
        video_stream=None,
        audio_stream=None,
        video_codec=str(body["video_codec"]),
        width=int(body["width"]),
        height=int(body["height"]),
        audio_codec=None if body.get("audio_codec") is None else str(body["audio_codec"]),
        audio_sample_rate=optional_int("audio_sample_rate"),
        opened_wall_us=int(body["opened_wall_us"]),
        video_parameter_sets=base64.b64decode(body["video_parameter_sets"], validate=True),
        video_extradata=base64.b64decode(body["video_extradata"], validate=True),
        audio_extradata=base64.b64decode(body["audio_extradata"], validate=True),
        audio_channels=optional_int("audio_channels"),
    )
