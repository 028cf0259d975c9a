"""A camera's stream framed for another process: every packet, time and flag comes back as it
was sent, the description decodes the stream without the PyAV objects it came from, any split
of the byte stream reads the same, and a corrupt stream is refused, not misread."""

from __future__ import annotations

import random
import socket
import struct
import threading
from pathlib import Path

import av
import pytest

from ingest.events import Cause
from ingest.packets import MediaPacket, StreamInfo
from ingest.timestamps import Discontinuity
from ingest.wire import (
    HEADER,
    MAX_PAYLOAD,
    Frame,
    FrameReader,
    Kind,
    Replayed,
    ReplyBegin,
    ReplyEnd,
    WireError,
    discontinuity_frame,
    packet_frame,
    replayed_frame,
    reply_begin_frame,
    reply_end_frame,
    send,
    stream_ended_frame,
    stream_started_frame,
)
from tests.support.media import camera_packets, make_source


def test_a_stream_crosses_a_socket_whole_and_still_decodes(tmp_path: Path) -> None:
    source = make_source(tmp_path / "cam.mkv", seconds=2.0)
    with camera_packets(source) as (info, packets):
        sent = list(packets)
        frames = [stream_started_frame(3, info)]
        frames += [packet_frame(3, packet) for packet in sent]
        frames += [discontinuity_frame(3, Discontinuity.CLOCK_DRIFT)]
        frames += [stream_ended_frame(3, Cause.STALLED, "no packet for 5 s")]
        near, far = socket.socketpair()
        writer = threading.Thread(target=lambda: [send(near, frame) for frame in frames])
        writer.start()
        reader, got = FrameReader(), []
        while len(got) < len(frames):
            got += list(reader.feed(far.recv(65536)))
        writer.join()
        near.close()
        far.close()
        received = [frame.item for frame in got]
        assert all(frame.camera == 3 for frame in got)
        assert isinstance(received[0], StreamInfo)
        described = received[0]
        assert (described.video_codec, described.width, described.height) == ("h264", 320, 180)
        assert described.audio_codec == "aac" and described.audio_sample_rate == 48000
        assert described.video_extradata == info.video_extradata != b""
        assert described.audio_extradata == info.audio_extradata
        assert described.video_stream is None  # data only: no PyAV object crosses
        back = received[1 : 1 + len(sent)]
        for before, after in zip(sent, back, strict=True):
            assert isinstance(after, MediaPacket)
            assert bytes(after.packet) == bytes(before.packet)
            assert after.packet.size == before.size
            assert (after.kind, after.keyframe, after.epoch, after.time_base) == (
                before.kind, before.keyframe, before.epoch, before.time_base,
            )  # fmt: skip
            assert (after.dts_us, after.pts_us, after.duration_us, after.wall_us) == (
                before.dts_us, before.pts_us, before.duration_us, before.wall_us,
            )  # fmt: skip
        assert received[-2] == Discontinuity.CLOCK_DRIFT
        assert received[-1] == (Cause.STALLED, "no packet for 5 s")
    # the description alone is enough to decode what crossed
    decoder = av.CodecContext.create(described.video_codec, "r")
    decoder.extradata = described.decoder_extradata
    video = [p for p in back if isinstance(p, MediaPacket) and p.is_video]
    pictures = [f for p in video for f in decoder.decode(av.Packet(bytes(p.packet)))]
    pictures += list(decoder.decode(None))
    assert len(pictures) == len(video) and pictures[0].width == 320


def test_any_split_of_the_byte_stream_reads_the_same(tmp_path: Path) -> None:
    source = make_source(tmp_path / "cam.mkv", seconds=1.0)
    with camera_packets(source) as (info, packets):
        stream = b"".join(
            header + bytes(payload)
            for header, payload in [stream_started_frame(0, info)]
            + [packet_frame(0, p) for p in packets]
        )
    whole = list(FrameReader().feed(stream))
    rng = random.Random(4)
    reader, pieces = FrameReader(), []
    position = 0
    while position < len(stream):
        step = rng.choice([1, 7, 52, 53, 1000, 70_000])
        pieces += list(reader.feed(stream[position : position + step]))
        position += step
    assert [_key(f) for f in pieces] == [_key(f) for f in whole]


def _key(frame: Frame) -> object:
    item = frame.item
    if isinstance(item, MediaPacket):
        return (bytes(item.packet), item.dts_us, item.keyframe)
    return repr(item)


@pytest.mark.parametrize(
    ("header", "payload", "says"),
    [
        (HEADER.pack(9, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2), b"{}", "unknown frame kind 9"),
        (HEADER.pack(Kind.PACKET, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1), b"x", "time base"),
        (HEADER.pack(Kind.STREAM_STARTED, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2), b"{}", "does not read"),
        (HEADER.pack(Kind.STREAM_ENDED, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3), b"\xff\xfe{", "read"),
        (
            HEADER.pack(Kind.PACKET, 0, 0, 0, 0, 0, 0, 0, 1, 1, MAX_PAYLOAD + 1),
            b"",
            f"a payload of {MAX_PAYLOAD + 1} bytes",
        ),
    ],
    ids=["unknown-kind", "zero-time-base", "missing-fields", "not-json", "oversized"],
)
def test_a_corrupt_stream_is_refused(header: bytes, payload: bytes, says: str) -> None:
    with pytest.raises(WireError, match=says):
        list(FrameReader().feed(header + payload))


def test_the_header_is_fixed_size_little_endian() -> None:
    assert HEADER.size == 52
    assert struct.calcsize("<BBHIqqqqIII") == HEADER.size


def test_an_answer_is_told_apart_from_the_live_stream(tmp_path: Path) -> None:
    """A request's answer (the stream, the GOP's length, its packets flagged as a reply) and the
    end of a watched camera's replay read back as such, between live packets."""
    source = make_source(tmp_path / "cam.mkv", seconds=1.0)
    with camera_packets(source) as (info, packets):
        gop = list(packets)[:5]
        frames = [
            packet_frame(2, gop[0]),
            reply_begin_frame(2, 41, info, 2.5),
            *(packet_frame(2, packet, reply=True) for packet in gop),
            reply_end_frame(2, 41),
            reply_begin_frame(1, 42, None, None),
            reply_end_frame(1, 42),
            replayed_frame(2),
        ]
        data = b"".join(bytes(header) + bytes(payload) for header, payload in frames)
        got = list(FrameReader().feed(data))
    assert [frame.reply for frame in got] == [False, False, *[True] * 5, False, False, False, False]
    begin = got[1].item
    assert isinstance(begin, ReplyBegin) and begin.request == 41 and begin.gop_seconds == 2.5
    assert begin.info is not None and begin.info.video_extradata == info.video_extradata
    assert [bytes(frame.item.packet) for frame in got[2:7]] == [bytes(p.packet) for p in gop]
    assert got[7].item == ReplyEnd(41)
    assert got[8].item == ReplyBegin(42, None, None) and got[9].item == ReplyEnd(42)
    assert isinstance(got[10].item, Replayed) and got[10].camera == 2
