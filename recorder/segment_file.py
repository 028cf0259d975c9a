"""One segment file: stream copy (no re-encoding) of validated packets into fragmented MP4.

G.711 audio, which MP4 cannot carry, is the one exception: it is stored losslessly as FLAC
(``recorder.lossless_audio``), and can be turned back into the camera's bytes.

The muxer writes through ``HashingSink``, a non-seekable file object that hashes and counts every
byte as it reaches the file, so SHA-256 and size need no second read. Fragments are cut by time
(``frag_duration``) as well as at keyframes and are written out whole as soon as they are
complete, so a process crash loses at most the fragment being built (≤ ``fragment_seconds``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from ingest.packets import MediaPacket, StreamInfo
from recorder.files import fsync_directory, make_directories
from recorder.lossless_audio import G711_CODECS, TIME_BASE, FlacTrack


class HashingSink(io.RawIOBase):
    """Append-only file that hashes what it writes and fdatasyncs at most every ``interval``."""

    def __init__(self, path: Path, *, fsync_interval: float) -> None:
        super().__init__()
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        self._hash = hashlib.sha256()
        self._interval = fsync_interval
        self._last_sync = time.monotonic()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        written = 0
        while written < len(view):
            written += os.write(self._fd, view[written:])
        self._hash.update(view)
        self.size += written
        if time.monotonic() - self._last_sync >= self._interval:
            os.fdatasync(self._fd)
            self._last_sync = time.monotonic()  # a slow disk still gets `interval` of writes
        return written

    def finish(self) -> str:
        """fsync the file and return its SHA-256 (hex)."""
        os.fsync(self._fd)
        return self._hash.hexdigest()

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()


@dataclass(frozen=True, slots=True)
class WrittenSegment:
    """A segment file that is complete and fsynced."""

    size_bytes: int
    sha256: str
    video_packets: int
    audio_packets: int


class SegmentFile:
    """Writes one segment. Camera thread only. Raises OSError on disk errors."""

    def __init__(
        self,
        path: Path,
        info: StreamInfo,
        first: MediaPacket,
        *,
        fragment_seconds: float,
        fsync_interval: float,
    ) -> None:
        make_directories(path.parent)
        self.path = path
        self._sink = HashingSink(path, fsync_interval=fsync_interval)
        fsync_directory(path.parent)
        try:
            self._container = av.open(
                self._sink,
                "w",
                format="mp4",
                options={
                    "movflags": "frag_keyframe+empty_moov+default_base_moof",
                    "frag_duration": str(int(fragment_seconds * 1_000_000)),
                    "flush_packets": "1",
                },
            )
            self._video = self._container.add_stream_from_template(info.video_stream)
            if info.video_codec == "hevc":
                self._video.codec_tag = "hvc1"  # what players expect (ffmpeg's default: hev1)
            if info.video_parameter_sets:  # the stream changed since the connection opened
                self._video.codec_context.extradata = info.video_parameter_sets
                self._video.codec_context.width = info.width
                self._video.codec_context.height = info.height
            self._audio: Any = None
            self._flac: FlacTrack | None = None
            if info.audio_stream is not None and info.audio_codec in G711_CODECS:
                self._audio = FlacTrack.add_stream(self._container)
                self._flac = FlacTrack(self._audio, info.audio_codec)
            elif info.audio_stream is not None:
                self._audio = self._container.add_stream_from_template(info.audio_stream)
        except BaseException:
            self._sink.close()
            raise
        self._base_us = first.dts_us
        self._last_dts: dict[bool, int] = {}
        self.video_packets = 0
        self.audio_packets = 0
        self.first = first

    def write(self, packet: MediaPacket) -> None:
        """Mux one packet; times are re-based so the segment starts at 0."""
        stream = self._video if packet.is_video else self._audio
        if stream is None:
            return
        if self._flac is not None and not packet.is_video:
            self._write_g711(packet)
            return
        time_base: Fraction = packet.time_base
        rel_dts = _from_us(packet.dts_us - self._base_us, time_base)
        if rel_dts < 0:
            return  # audio captured before this segment's first keyframe: it closed the last one
        last = self._last_dts.get(packet.is_video)
        if last is not None and rel_dts <= last:
            return
        self._last_dts[packet.is_video] = rel_dts
        out = av.Packet(packet.packet)
        out.time_base = time_base
        out.dts = rel_dts
        out.pts = rel_dts + (packet.packet.pts - packet.packet.dts)
        out.is_keyframe = packet.keyframe
        out.duration = packet.packet.duration
        out.stream = stream
        self._container.mux(out)
        if packet.is_video:
            self.video_packets += 1
        else:
            self.audio_packets += 1

    def _write_g711(self, packet: MediaPacket) -> None:
        assert self._flac is not None
        at_sample = _from_us(packet.dts_us - self._base_us, TIME_BASE)
        if at_sample < 0:
            return  # captured before this segment's first keyframe: it closed the last one
        for flac in self._flac.add(bytes(packet.packet), at_sample):
            self._container.mux(flac)
        self.audio_packets += 1

    def close(self) -> WrittenSegment:
        """Finish the file: trailer, fsync file and directory, return size and hash."""
        try:
            if self._flac is not None:
                for flac in self._flac.finish():
                    self._container.mux(flac)
            self._container.close()
            digest = self._sink.finish()
        finally:
            self._sink.close()
        fsync_directory(self.path.parent)
        return WrittenSegment(self._sink.size, digest, self.video_packets, self.audio_packets)

    def abandon(self) -> None:
        """Stop writing after an error; the file stays for recovery to adopt or quarantine."""
        with contextlib.suppress(Exception):  # the container may be unusable after a disk error
            self._container.close()
        self._sink.close()


def _from_us(value_us: int, time_base: Fraction) -> int:
    return value_us * time_base.denominator // (time_base.numerator * 1_000_000)
