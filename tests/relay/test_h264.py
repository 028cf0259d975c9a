"""Parameter sets in front of IDR frames that lack them; avcC and Annex B extradata."""

from __future__ import annotations

from relay.h264 import annexb_parameter_sets, nal_types_until_slice, with_parameter_sets

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
