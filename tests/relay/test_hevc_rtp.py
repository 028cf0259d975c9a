"""H.265 in RTP (RFC 7798): every access unit of a real H.265 stream, cut into payloads no larger
than asked (single NAL units, aggregation packets for the parameter sets, fragmentation units for
large slices), comes back whole — the same NAL units, the same decoded pictures."""

from __future__ import annotations

import hashlib
from pathlib import Path

import av
import pytest
from media import make_source

from relay.hevc_rtp import AP_TYPE, FU_TYPE, depacketize, nal_type, nal_units, packetize


def access_units(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        bsf = av.BitStreamFilterContext("hevc_mp4toannexb", stream)
        units = []
        for packet in container.demux(stream):
            for out in bsf.filter(packet):
                units.append(bytes(out))
        return units


def pictures(units: list[bytes]) -> list[str]:
    decoder = av.CodecContext.create("hevc", "r")
    digests = []
    for unit in [*units, None]:
        packet = av.Packet(unit) if unit is not None else None
        for frame in decoder.decode(packet):
            digests.append(hashlib.sha256(frame.to_ndarray().tobytes()).hexdigest())
    return digests


@pytest.mark.parametrize("payload_max", [1200, 300])
def test_a_stream_survives_the_round_trip(tmp_path: Path, payload_max: int) -> None:
    source = make_source(tmp_path / "h265.mkv", seconds=2.0, gop=25, video="hevc")
    units = access_units(source)
    assert nal_type(nal_units(units[0])[0]) == 32  # the first access unit starts with its VPS
    kinds: set[int] = set()
    rebuilt = []
    for unit in units:
        payloads = packetize(unit, payload_max)
        assert all(len(p) <= payload_max for p in payloads)
        kinds |= {nal_type(p) for p in payloads}
        back = depacketize(payloads)
        assert nal_units(back) == nal_units(unit)
        rebuilt.append(back)
    assert AP_TYPE in kinds and FU_TYPE in kinds  # VPS+SPS+PPS shared one; big slices were cut
    assert pictures(rebuilt) == pictures(units)


def test_an_aggregation_packet_takes_the_lowest_layer_and_temporal_id() -> None:
    vps = bytes([32 << 1, 0x01]) + b"\x0c" * 10  # layer 0, temporal id 0 (+1)
    sei = bytes([39 << 1, 0x03]) + b"\x05" * 6  # temporal id 2 (+1)
    payload = packetize(b"\x00\x00\x00\x01" + vps + b"\x00\x00\x01" + sei)
    assert len(payload) == 1 and nal_type(payload[0]) == AP_TYPE
    assert payload[0][1] & 0x07 == 0x01
    assert depacketize(payload) == b"\x00\x00\x00\x01" + vps + b"\x00\x00\x00\x01" + sei
