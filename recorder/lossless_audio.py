"""G.711 audio kept without loss: expanded to 16-bit PCM and stored as FLAC in the segment.

Station cameras send the room's audio as G.711 (PCMA / PCMU, 8 kHz mono), which fragmented MP4
(and every browser) cannot carry as it is. Evidence must not be re-encoded lossily, so each
G.711 byte is expanded to its 16-bit sample — an exact table, the decoder's own — and the
samples are compressed with FLAC, which is lossless: decoding the stored track and compressing
each sample back with G.711 gives the camera's bytes again (μ-law's two codes for zero, 0x7F and
0xFF, both come back as 0xFF). ffmpeg, browsers' MSE and common players play FLAC in MP4.

Timing: the samples of a segment are laid on one clock that starts at the segment's first audio
packet. A packet that arrives later than the samples so far reach (a camera that dropped audio)
is preceded by digital silence up to its own time, so the picture and the sound stay together;
samples that overlap ones already laid are dropped. Both are counted.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import av
import numpy as np
import numpy.typing as npt

G711_CODECS = {"pcm_alaw": "alaw", "pcm_mulaw": "mulaw"}
"""Source codecs stored as FLAC, with their short names."""
STORED_CODEC = "flac"
SAMPLE_RATE = 8000
FRAME_SAMPLES = 800
"""FLAC block: 100 ms — short, so a crash loses little more audio than video; long enough to
compress well."""
TIME_BASE = Fraction(1, SAMPLE_RATE)
LATE_TOLERANCE_SAMPLES = SAMPLE_RATE // 50
"""A packet later than the samples so far by more than this (20 ms) is a hole: filled with
silence."""


def _expansion_table(codec: str) -> npt.NDArray[np.int16]:
    """The 16-bit sample of every G.711 code, from libavcodec's own decoder."""
    decoder: Any = av.CodecContext.create(codec, "r")
    decoder.sample_rate = SAMPLE_RATE
    decoder.layout = "mono"
    samples = [frame.to_ndarray() for frame in decoder.decode(av.Packet(bytes(range(256))))]
    table = np.concatenate(samples, axis=None).astype(np.int16)
    if table.shape != (256,):
        raise RuntimeError(f"{codec}: expected 256 samples, decoded {table.shape}")
    return table


_TABLES: dict[str, npt.NDArray[np.int16]] = {}


def expansion_table(codec: str) -> npt.NDArray[np.int16]:
    """``table[code]`` is the sample of G.711 byte ``code`` (built once per codec)."""
    table = _TABLES.get(codec)
    if table is None:
        table = _TABLES[codec] = _expansion_table(codec)
    return table


def stored_codec(source_codec: str | None) -> str | None:
    """The codec a camera's audio is stored in: FLAC for G.711, the source's own otherwise."""
    if source_codec is None:
        return None
    return STORED_CODEC if source_codec in G711_CODECS else source_codec


class FlacTrack:
    """The FLAC audio track of one segment fed with G.711 packets (recorder thread only).

    ``add`` takes a G.711 payload and its time (samples since the segment's start) and returns
    the FLAC packets ready to mux; ``finish`` returns the rest at the end of the segment."""

    def __init__(self, stream: Any, source_codec: str) -> None:
        self._stream = stream
        self._table = expansion_table(source_codec)
        self._pending = np.empty(0, dtype=np.int16)
        self._pending_start = 0
        self._next = 0
        self._started = False
        self.silence_samples = 0
        self.overlap_samples = 0

    @staticmethod
    def add_stream(container: Any) -> Any:
        """A FLAC output stream in ``container`` (8 kHz mono, 16-bit, 100 ms blocks)."""
        block = {"frame_size": str(FRAME_SAMPLES)}
        stream = container.add_stream(STORED_CODEC, rate=SAMPLE_RATE, layout="mono", options=block)
        stream.codec_context.format = "s16"
        stream.time_base = TIME_BASE
        return stream

    def add(self, payload: bytes, at_sample: int) -> list[Any]:
        """Expand ``payload`` (G.711 bytes) laid at ``at_sample``; the FLAC packets now whole."""
        samples = self._table[np.frombuffer(payload, dtype=np.uint8)]
        if not self._started:
            self._started = True
            self._pending_start = self._next = at_sample
        if at_sample > self._next + LATE_TOLERANCE_SAMPLES:
            hole = at_sample - self._next
            self.silence_samples += hole
            samples = np.concatenate((np.zeros(hole, dtype=np.int16), samples))
        elif at_sample < self._next - LATE_TOLERANCE_SAMPLES:
            overlap = min(self._next - at_sample, len(samples))
            self.overlap_samples += overlap
            samples = samples[overlap:]
        self._pending = np.concatenate((self._pending, samples))
        self._next += len(samples)
        return self._encode_whole_blocks()

    def finish(self) -> list[Any]:
        """The remaining samples (a short last block) and the encoder's flush."""
        packets = self._encode_whole_blocks()
        if len(self._pending):
            packets += self._encode(self._pending)
            self._pending = self._pending[:0]
        if self._started:
            packets += self._stream.encode(None)
        return list(packets)

    def _encode_whole_blocks(self) -> list[Any]:
        packets: list[Any] = []
        while len(self._pending) >= FRAME_SAMPLES:
            block, self._pending = (
                self._pending[:FRAME_SAMPLES],
                self._pending[FRAME_SAMPLES:],
            )
            packets += self._encode(block)
        return packets

    def _encode(self, block: npt.NDArray[np.int16]) -> list[Any]:
        frame = av.AudioFrame.from_ndarray(block.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.time_base = TIME_BASE
        frame.pts = self._pending_start
        self._pending_start += len(block)
        return list(self._stream.encode(frame))
