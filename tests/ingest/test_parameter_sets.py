"""Parameter sets in front of IDR frames that lack them; avcC and Annex B extradata."""

from __future__ import annotations

from ingest.parameter_sets import (
    annexb_parameter_sets,
    leading_parameter_sets,
    nal_types_until_slice,
    with_parameter_sets,
)

SC = b"\x00\x00\x00\x01"
SPS = b"\x67\x42\x00\x1f\xaa"
PPS = b"\x68\xce\x3c\x80"
IDR = SC + b"\x65\x88\x84\x00\x33"


def test_idr_without_parameter_sets_gets_them() -> None:
    sets = SC + SPS + SC + PPS
    assert with_parameter_sets(IDR, sets) == sets + IDR
    already = sets + IDR
    assert with_parameter_sets(already, sets) == already
    assert nal_types_until_slice(already) == {7, 8, 5}


def test_extradata_forms() -> None:
    annexb = SC + SPS + SC + PPS
    assert annexb_parameter_sets(annexb) == annexb
    avcc = (
        bytes([1, 0x42, 0, 0x1F, 0xFF, 0xE1])
        + len(SPS).to_bytes(2, "big")
        + SPS
        + bytes([1])
        + len(PPS).to_bytes(2, "big")
        + PPS
    )
    assert annexb_parameter_sets(avcc) == annexb
    assert annexb_parameter_sets(avcc[:8]) == b""  # truncated: nothing rather than garbage
    assert annexb_parameter_sets(None) == b"" and annexb_parameter_sets(b"\x05\x06") == b""


SPS_A, PPS_A = b"\x67\x4d\x40\x1e\xda", b"\x68\xee\x3c\x80"
SPS_B, PPS_B = b"\x67\x4d\x40\x0d\xda", b"\x68\xee\x3c\x81"
IDR_SLICE = b"\x65\x88\x84\x00"


def annexb(*units: bytes) -> bytes:
    return b"".join(b"\x00\x00\x00\x01" + unit for unit in units)


def test_the_parameter_sets_in_force_are_the_last_of_each_type() -> None:
    assert leading_parameter_sets(annexb(SPS_A, PPS_A, IDR_SLICE), "h264") == annexb(SPS_A, PPS_A)
    # an encoder that switched streams repeats the old sets before the new ones
    switched = annexb(SPS_A, PPS_A, SPS_B, PPS_B, IDR_SLICE)
    assert leading_parameter_sets(switched, "h264") == annexb(SPS_B, PPS_B)
    assert leading_parameter_sets(annexb(IDR_SLICE, SPS_B), "h264") == b""  # after the slice: not
    assert leading_parameter_sets(annexb(SPS_A, IDR_SLICE), "mpeg4") == b""
