"""Tiny H.264 Annex B helpers (pure functions, no GStreamer)."""

NAL_SLICE = 1
NAL_IDR = 5
NAL_SPS = 7


def nal_types(data: bytes) -> list[int]:
    """The NAL unit types of an Annex B byte-stream chunk, in order."""
    types: list[int] = []
    start = 0
    while True:
        at = data.find(b"\x00\x00\x01", start)
        if at < 0 or at + 3 >= len(data):
            return types
        types.append(data[at + 3] & 0x1F)
        start = at + 3


def is_keyframe(data: bytes) -> bool:
    """True if the access unit starts a GOP: an SPS or IDR comes before its first slice."""
    for nal_type in nal_types(data):
        if nal_type in (NAL_IDR, NAL_SPS):
            return True
        if NAL_SLICE <= nal_type < NAL_IDR:
            return False
    return False
