"""H.265 in RTP (RFC 7798): an access unit into payloads, and back.

For viewers whose browser takes H.265 over WebRTC, a camera's H.265 can be passed through like
H.264 (no transcode). aiortc has no H.265 payloader, so this module is one — without DONL (the
decoding order is the transmission order: ``sprop-max-don-diff`` 0), parameter sets in band:

* a NAL unit that fits goes alone (a single NAL unit packet, §4.4.1);
* consecutive small NAL units (VPS, SPS, PPS, SEI before a keyframe) share an aggregation packet
  (AP, type 48, §4.4.2): each preceded by its 16-bit size;
* a NAL unit larger than the payload size is cut into fragmentation units (FU, type 49, §4.4.3):
  the FU header's start/end bits and the unit's own type, its payload split across packets.

``depayload`` reverses one payload (Annex B out, a fragment's bytes to be joined with the next
ones), ``depacketize`` a whole access unit; the RTP marker bit (last packet of an access unit) is
the sender's to set.

``install`` teaches aiortc the codec for sending: ``video/H265`` among its video codecs (so an
offer with H.265 can be answered with it) and a passthrough "encoder" that only packetizes. The
relay sends it only to viewers whose offer has H.265, and only H.265 cameras' packets as they
are.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import aiortc.rtcrtpsender as rtcrtpsender
from aiortc.codecs import CODECS
from aiortc.codecs.base import Encoder
from aiortc.mediastreams import VIDEO_TIME_BASE, convert_timebase
from aiortc.rtcrtpparameters import RTCRtcpFeedback, RTCRtpCodecParameters

MIME = "video/H265"
PAYLOAD_MAX = 1200
"""Bytes of RTP payload at most (within a 1280-byte path MTU with RTP, SRTP and UDP headers)."""
AP_TYPE = 48
FU_TYPE = 49
START_CODE = b"\x00\x00\x00\x01"


def nal_units(access_unit: bytes) -> list[bytes]:
    """The NAL units of an Annex B access unit (start codes removed, empty ones dropped)."""
    units: list[bytes] = []
    start = _next_start(access_unit, 0)
    while start is not None:
        begin = start[1]
        following = _next_start(access_unit, begin)
        end = following[0] if following is not None else len(access_unit)
        unit = access_unit[begin:end].rstrip(b"\x00") if following else access_unit[begin:end]
        if len(unit) >= 2:
            units.append(unit)
        start = following
    return units


def _next_start(data: bytes, at: int) -> tuple[int, int] | None:
    """(where the start code begins, where the NAL unit after it begins), from ``at``."""
    found = data.find(b"\x00\x00\x01", at)
    if found < 0:
        return None
    begin = found - 1 if found > 0 and data[found - 1] == 0 else found
    return begin, found + 3


def nal_type(unit: bytes) -> int:
    return (unit[0] >> 1) & 0x3F


def packetize(access_unit: bytes, payload_max: int = PAYLOAD_MAX) -> list[bytes]:
    """RTP payloads of one access unit (Annex B in)."""
    payloads: list[bytes] = []
    pending: list[bytes] = []  # small units waiting to share an AP

    def flush() -> None:
        if len(pending) == 1:
            payloads.append(pending[0])
        elif pending:
            payloads.append(_aggregate(pending))
        pending.clear()

    for unit in nal_units(access_unit):
        if len(unit) > payload_max:
            flush()
            payloads += _fragment(unit, payload_max)
            continue
        if pending and _aggregated_size([*pending, unit]) > payload_max:
            flush()
        pending.append(unit)
    flush()
    return payloads


def _aggregated_size(units: list[bytes]) -> int:
    return 2 + sum(2 + len(unit) for unit in units)


def _aggregate(units: list[bytes]) -> bytes:
    """One AP: its header takes F as any unit's, the lowest layer and temporal id (§4.4.2)."""
    forbidden = max(unit[0] & 0x80 for unit in units)
    layer = min(((unit[0] & 0x01) << 5) | (unit[1] >> 3) for unit in units)
    temporal = min(unit[1] & 0x07 for unit in units)
    header = bytes([forbidden | (AP_TYPE << 1) | (layer >> 5), ((layer & 0x1F) << 3) | temporal])
    body = b"".join(len(unit).to_bytes(2, "big") + unit for unit in units)
    return header + body


def _fragment(unit: bytes, payload_max: int) -> list[bytes]:
    """FUs of one NAL unit: the payload header keeps its F, layer and temporal id."""
    header = bytes([(unit[0] & 0x81) | (FU_TYPE << 1), unit[1]])
    kind = nal_type(unit)
    body = unit[2:]
    size = payload_max - 3
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    out = []
    for index, piece in enumerate(pieces):
        start = 0x80 if index == 0 else 0
        end = 0x40 if index == len(pieces) - 1 else 0
        out.append(header + bytes([start | end | kind]) + piece)
    return out


def depayload(payload: bytes) -> bytes:
    """One payload as Annex B bytes; a fragmentation unit's continue the unit its start began,
    so the payloads of an access unit, depayloaded in order and joined, are the access unit."""
    if len(payload) < 3:
        return b""
    kind = nal_type(payload)
    if kind == AP_TYPE:
        out = bytearray()
        at = 2
        while at + 2 <= len(payload):
            size = int.from_bytes(payload[at : at + 2], "big")
            out += START_CODE + payload[at + 2 : at + 2 + size]
            at += 2 + size
        return bytes(out)
    if kind == FU_TYPE:
        fu = payload[2]
        if fu & 0x80:  # start: the unit's own header, rebuilt
            header = bytes([(payload[0] & 0x81) | ((fu & 0x3F) << 1), payload[1]])
            return START_CODE + header + payload[3:]
        return payload[3:]
    return START_CODE + payload


def depacketize(payloads: Iterable[bytes]) -> bytes:
    """An Annex B access unit from its RTP payloads (in order, none missing)."""
    return b"".join(depayload(payload) for payload in payloads)


class HevcPassthrough(Encoder):
    """aiortc's sender side of H.265: packets are packetized as they are, never encoded."""

    def encode(self, frame: Any, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        raise NotImplementedError("H.265 is passed through from the camera, never encoded")

    def pack(self, packet: Any) -> tuple[list[bytes], int]:
        timestamp = convert_timebase(packet.pts, packet.time_base, VIDEO_TIME_BASE)
        return packetize(bytes(packet)), timestamp


def install() -> None:
    """Add H.265 to aiortc's video codecs and its sender's encoders (once)."""
    video = CODECS["video"]
    if any(codec.mimeType.lower() == MIME.lower() for codec in video):
        return
    payload_type = max(codec.payloadType or 0 for codec in video) + 1
    video += [
        RTCRtpCodecParameters(
            mimeType=MIME,
            clockRate=90_000,
            payloadType=payload_type,
            rtcpFeedback=[
                RTCRtcpFeedback(type="nack"),
                RTCRtcpFeedback(type="nack", parameter="pli"),
            ],
        ),
        RTCRtpCodecParameters(
            mimeType="video/rtx",
            clockRate=90_000,
            payloadType=payload_type + 1,
            parameters={"apt": payload_type},
        ),
    ]
    original = rtcrtpsender.get_encoder  # type: ignore[attr-defined]

    def get_encoder(codec: RTCRtpCodecParameters) -> Encoder:
        if codec.mimeType.lower() == MIME.lower():
            return HevcPassthrough()
        return original(codec)

    # the sender looks its encoder up by this module-level name
    rtcrtpsender.get_encoder = get_encoder  # type: ignore[attr-defined]
