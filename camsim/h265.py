"""Tiny H.265 Annex B helpers (pure functions, no GStreamer).

The NAL unit type is in bits 1..6 of the first header byte (H.264 uses the low 5 bits), and a
GOP starts at an IRAP picture (IDR, CRA or BLA: types 16..23) rather than at type 5. Cameras
and the simulator's encoder put VPS/SPS/PPS right before each of them.
"""

from .h264 import start_code_payloads

NAL_VCL_END = 32
"""Types below this are slices (VCL NAL units)."""
NAL_IRAP_FIRST = 16
NAL_IRAP_LAST = 23
NAL_VPS = 32
NAL_SPS = 33
NAL_PPS = 34


def nal_types(data: bytes) -> list[int]:
    """The NAL unit types of an Annex B byte-stream chunk, in order."""
    return [(first >> 1) & 0x3F for first in start_code_payloads(data)]


def is_keyframe(data: bytes) -> bool:
    """True if the access unit starts a GOP: a VPS, SPS or IRAP slice comes before its first
    slice."""
    for nal_type in nal_types(data):
        if nal_type in (NAL_VPS, NAL_SPS) or NAL_IRAP_FIRST <= nal_type <= NAL_IRAP_LAST:
            return True
        if nal_type < NAL_VCL_END:
            return False
    return False
