"""G.711 audio is stored as FLAC without loss: the stored track, decoded and compressed back
with G.711, is the camera's bytes again; a hole in the camera's audio becomes silence at the
right time, so sound and picture stay together."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from media import camera_packets, make_source

from recorder.lossless_audio import FRAME_SAMPLES, FlacTrack, expansion_table, stored_codec
from recorder.segment_file import SegmentFile


def g711_bytes(samples: np.ndarray, codec: str) -> bytes:
    """``samples`` (int16) compressed with G.711 by libavcodec."""
    encoder = av.CodecContext.create(codec, "w")
    encoder.sample_rate = 8000
    encoder.layout = "mono"  # type: ignore[attr-defined]
    encoder.format = "s16"  # type: ignore[attr-defined]
    encoder.time_base = Fraction(1, 8000)
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = 8000
    frame.pts = 0
    return b"".join(bytes(p) for p in encoder.encode(frame))  # type: ignore[attr-defined]


def stored_samples(path: Path) -> tuple[str, np.ndarray]:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        frames = [f.to_ndarray().ravel() for f in container.decode(stream)]
        return stream.codec_context.name, np.concatenate(frames).astype(np.int16)


def canonical(data: bytes, codec: str) -> bytes:
    """μ-law has two codes for zero (0x7F, 0xFF); both decode to 0 and come back as 0xFF."""
    return data.replace(b"\x7f", b"\xff") if codec == "pcm_mulaw" else data


@pytest.mark.parametrize("codec", ["pcm_alaw", "pcm_mulaw"])
def test_a_segment_keeps_the_cameras_g711_bytes(tmp_path: Path, codec: str) -> None:
    source = make_source(tmp_path / "camera.nut", seconds=4.0, audio=codec)
    sent = bytearray()
    with camera_packets(source) as (info, packets):
        writer: SegmentFile | None = None
        for packet in packets:
            if writer is None:
                writer = SegmentFile(
                    tmp_path / "segment.mp4", info, packet, fragment_seconds=1.0, fsync_interval=10
                )
            if not packet.is_video:
                sent += bytes(packet.packet)
            writer.write(packet)
        assert writer is not None
        written = writer.close()
    assert written.audio_packets == 200  # 4 s of 20 ms packets
    name, samples = stored_samples(tmp_path / "segment.mp4")
    assert name == "flac" == stored_codec(codec)
    assert len(samples) == len(sent) == 32_000
    assert canonical(g711_bytes(samples, codec), codec) == canonical(bytes(sent), codec)
    level = 20 * np.log10(np.sqrt(np.mean(samples.astype(float) ** 2)) / 32768)
    assert level > -50  # audible


class Collect:
    """An output stream stand-in that encodes FLAC and keeps the frames it was given."""

    def __init__(self) -> None:
        self.codec = av.CodecContext.create("flac", "w")
        self.codec.sample_rate = 8000
        self.codec.layout = "mono"  # type: ignore[attr-defined]
        self.codec.format = "s16"  # type: ignore[attr-defined]
        self.codec.time_base = Fraction(1, 8000)
        self.frames: list[tuple[int, np.ndarray]] = []

    def encode(self, frame: av.AudioFrame | None) -> list[av.Packet]:
        if frame is not None:
            self.frames.append((int(frame.pts or 0), frame.to_ndarray().ravel()))
        return []


def test_a_hole_becomes_silence_and_an_overlap_is_dropped() -> None:
    """Jitter within 20 ms is taken as it comes; beyond it, holes and overlaps are mended."""
    table = expansion_table("pcm_alaw")
    track = FlacTrack(Collect(), "pcm_alaw")
    loud = bytes([0xFF] * 160)  # one code: a constant sample
    track.add(loud, 1000)  # the segment's audio starts 125 ms in
    track.add(loud, 1160)
    track.add(loud, 1160 + 160 + 800)  # 100 ms of the camera's audio lost
    track.add(loud * 3, 2120 + 160 - 400)  # 50 ms back in time: its first 400 samples overlap
    track.finish()
    stream = track._stream
    assert isinstance(stream, Collect)
    starts = [pts for pts, _ in stream.frames]
    assert starts[0] == 1000 and starts[1] == 1000 + FRAME_SAMPLES
    samples = np.concatenate([block for _, block in stream.frames])
    assert track.silence_samples == 800 and track.overlap_samples == 400
    assert len(samples) == 160 * 2 + 800 + 160 + 80
    assert (samples[320:1120] == 0).all()
    assert (samples[:320] == table[0xFF]).all() and (samples[1120:] == table[0xFF]).all()
