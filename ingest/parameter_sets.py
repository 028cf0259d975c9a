"""Parameter sets (SPS/PPS, and VPS for H.265) in Annex B access units.

Two consumers: the relay, because browsers decode nothing until they have seen SPS and PPS in
the stream and cameras that send them only in the SDP (``sprop-parameter-sets``) give zero
decoded frames — it puts the connection's parameter sets in front of every IDR frame that does
not carry its own; and the supervisor, which watches the parameter sets a camera sends in band
with its keyframes: when they change mid-stream (an installer changed the resolution or the
codec profile), what follows is a different stream (``picture_size`` reads its new size).
"""

from __future__ import annotations

from fractions import Fraction

import av

NAL_SLICE, NAL_IDR, NAL_SPS, NAL_PPS = 1, 5, 7, 8
START_CODE = b"\x00\x00\x00\x01"


def nal_types_until_slice(data: bytes) -> set[int]:
    """NAL unit types of an Annex B access unit, up to and including its first slice."""
    types: set[int] = set()
    index = data.find(b"\x00\x00\x01")
    while index != -1 and index + 3 < len(data):
        nal_type = data[index + 3] & 0x1F
        types.add(nal_type)
        if nal_type in (NAL_SLICE, NAL_IDR):
            break
        index = data.find(b"\x00\x00\x01", index + 3)
    return types


def annexb_parameter_sets(extradata: bytes | None) -> bytes:
    """SPS and PPS from a stream's extradata (Annex B or avcC) as Annex B; b"" if none."""
    if not extradata:
        return b""
    if extradata[0] != 1:  # already Annex B (what libavformat's RTSP demuxer produces)
        return extradata if extradata.find(b"\x00\x00\x01") != -1 else b""
    return _avcc_to_annexb(extradata)


def _avcc_to_annexb(avcc: bytes) -> bytes:
    """AVCDecoderConfigurationRecord (ISO 14496-15) → Annex B SPS/PPS; b"" if malformed."""
    out = bytearray()
    try:
        pos = 5
        count = avcc[pos] & 0x1F
        pos += 1
        for _ in range(count):
            size = int.from_bytes(avcc[pos : pos + 2], "big")
            out += START_CODE + avcc[pos + 2 : pos + 2 + size]
            pos += 2 + size
        count = avcc[pos]
        pos += 1
        for _ in range(count):
            size = int.from_bytes(avcc[pos : pos + 2], "big")
            out += START_CODE + avcc[pos + 2 : pos + 2 + size]
            pos += 2 + size
    except IndexError:
        return b""
    return bytes(out)


def with_parameter_sets(access_unit: bytes, parameter_sets: bytes) -> bytes:
    """``access_unit`` with ``parameter_sets`` in front unless it already has an SPS."""
    if not parameter_sets or NAL_SPS in nal_types_until_slice(access_unit):
        return access_unit
    return parameter_sets + access_unit


HEVC_VPS, HEVC_SPS, HEVC_PPS = 32, 33, 34


def _nal_units(data: bytes) -> list[tuple[int, int]]:
    """(start of the NAL header, end) of each NAL unit of an Annex B buffer."""
    starts = []
    index = data.find(b"\x00\x00\x01")
    while index != -1:
        starts.append(index + 3)
        index = data.find(b"\x00\x00\x01", index + 3)
    units = []
    for number, start in enumerate(starts):
        end = starts[number + 1] - 3 if number + 1 < len(starts) else len(data)
        if end > start and data[end - 1] == 0:  # the zero byte of a 4-byte start code
            end -= 1
        units.append((start, end))
    return units


def leading_parameter_sets(access_unit: bytes, codec: str) -> bytes:
    """The parameter sets in force for an access unit, from those it carries before its first
    slice, as Annex B: the last one of each type (an encoder that switched streams may repeat the
    old set before the new). b"" when it carries none, or for codecs other than H.264/H.265."""
    in_force: dict[int, bytes] = {}
    for start, end in _nal_units(access_unit):
        if start >= end:
            continue
        if codec == "h264":
            nal_type = access_unit[start] & 0x1F
            if nal_type in (NAL_SLICE, NAL_IDR):
                break
            wanted = nal_type in (NAL_SPS, NAL_PPS)
        elif codec in ("hevc", "h265"):
            nal_type = (access_unit[start] >> 1) & 0x3F
            if nal_type < 32:  # a slice segment
                break
            wanted = nal_type in (HEVC_VPS, HEVC_SPS, HEVC_PPS)
        else:
            return b""
        if wanted:
            in_force[nal_type] = access_unit[start:end]
    return b"".join(START_CODE + in_force[nal_type] for nal_type in sorted(in_force))


def picture_size(codec: str, access_unit: bytes) -> tuple[int, int] | None:
    """Width and height of a keyframe that carries its parameter sets, by decoding it (done
    only when a stream changes: a few milliseconds); ``None`` when it cannot be decoded."""
    try:
        decoder = av.CodecContext.create(codec, "r")
        assert isinstance(decoder, av.VideoCodecContext)
        packet = av.Packet(access_unit)
        packet.time_base = Fraction(1, 90_000)
        packet.pts = packet.dts = 0
        frames = [*decoder.decode(packet), *decoder.decode(None)]
    except (av.FFmpegError, ValueError):
        return None
    if not frames:
        return None
    return int(frames[0].width), int(frames[0].height)
