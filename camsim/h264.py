"""Tiny H.264 Annex B helpers (pure functions, no GStreamer)."""

from collections.abc import Iterator

NAL_SLICE = 1
NAL_IDR = 5
NAL_SPS = 7


def start_code_payloads(data: bytes) -> Iterator[int]:
    """The first byte after each start code (00 00 01) of an Annex B chunk: the NAL header
    byte, of H.264 and H.265 alike."""
    start = 0
    while True:
        at = data.find(b"\x00\x00\x01", start)
        if at < 0 or at + 3 >= len(data):
            return
        yield data[at + 3]
        start = at + 3


def nal_types(data: bytes) -> list[int]:
    """The NAL unit types of an Annex B byte-stream chunk, in order."""
    return [first & 0x1F for first in start_code_payloads(data)]


def is_keyframe(data: bytes) -> bool:
    """True if the access unit starts a GOP: an SPS or IDR comes before its first slice."""
    for nal_type in nal_types(data):
        if nal_type in (NAL_IDR, NAL_SPS):
            return True
        if NAL_SLICE <= nal_type < NAL_IDR:
            return False
    return False
