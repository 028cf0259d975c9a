"""H.264 Annex B helpers for passthrough: find NAL unit types, supply parameter sets.

Browsers decode nothing until they have seen SPS and PPS in the stream; cameras that send them
only in the SDP (``sprop-parameter-sets``) give zero decoded frames. The relay therefore puts the
connection's parameter sets in front of every IDR frame that does not carry its own.
"""

from __future__ import annotations

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
