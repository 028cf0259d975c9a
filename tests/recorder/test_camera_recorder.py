"""The camera recorder with real media and real faults: a packet the muxer refuses, a full file
system, and segment cuts that keep every audio packet."""

from __future__ import annotations

import itertools
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import pytest
from faults import small_file_system
from media import START_US, camera_packets, make_source

from configs.schema import StorageSettings
from ingest.events import Cause
from ingest.packets import MediaPacket
from ingest.timestamps import Discontinuity
from recorder.camera_recorder import CameraRecorder, FinishedSegment, RecordingListener
from recorder.models import RunEndReason

S = 1_000_000


@dataclass
class ManualClock:
    """A clock the test moves."""

    now_us: int = START_US
    mono: float = 1000.0

    def wall_us(self) -> int:
        return self.now_us

    def monotonic(self) -> float:
        return self.mono


@dataclass
class Catalog(RecordingListener):
    """What the catalog would receive, in order."""

    events: list[tuple[str, Any]] = field(default_factory=list)

    def run_started(self, camera_id: str, run_id: str, start_us: int) -> None:
        self.events.append(("run_started", (run_id, start_us)))

    def segment_finished(self, segment: FinishedSegment) -> None:
        self.events.append(("segment", segment))

    def run_ended(
        self, camera_id: str, run_id: str, end_us: int, reason: RunEndReason, detail: str
    ) -> None:
        self.events.append(("run_ended", (run_id, end_us, reason, detail)))

    def of(self, kind: str) -> list[Any]:
        return [value for name, value in self.events if name == kind]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_source(tmp_path_factory.mktemp("media") / "source.mkv", seconds=6, gop=25)


def recorder(root: Path, catalog: Catalog, clock: ManualClock, **storage: Any) -> CameraRecorder:
    settings = StorageSettings(path=root, **{"segment_seconds": 60, **storage})
    errors: list[tuple[str, RunEndReason, str]] = []
    rec = CameraRecorder(
        "cam",
        settings,
        catalog,
        clock,
        last_sha256=None,
        last_end_us=None,
        on_error=lambda *args: errors.append(args),
    )
    rec.errors = errors  # type: ignore[attr-defined]
    return rec


def refused_by_the_muxer(packet: MediaPacket) -> MediaPacket:
    """The same picture with a presentation time before its decode time (pts < dts), which no
    MP4 muxer accepts: what a camera with broken timestamps sends."""
    raw = av.Packet(bytes(packet.packet))
    raw.time_base = packet.packet.time_base
    raw.dts = packet.packet.dts
    raw.pts = packet.packet.dts - 2 * (packet.packet.duration or 1)
    raw.duration = packet.packet.duration
    return MediaPacket(
        raw,
        packet.kind,
        False,
        packet.dts_us,
        packet.pts_us,
        packet.duration_us,
        packet.wall_us,
        packet.epoch,
        packet.time_base,
    )


def ffprobe_seconds(path: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(out)


def feed(rec: CameraRecorder, packets: Iterator[MediaPacket], clock: ManualClock) -> None:
    for packet in packets:
        clock.now_us = packet.wall_us
        rec.packet(packet)


def test_a_packet_the_muxer_refuses_ends_the_run_and_recording_resumes(
    source: Path, tmp_path: Path
) -> None:
    catalog, clock = Catalog(), ManualClock()
    rec = recorder(tmp_path, catalog, clock)
    with camera_packets(source) as (info, packets):
        rec.stream_started(info)
        for packet in packets:
            clock.now_us = packet.wall_us
            if packet.is_video and not packet.keyframe and 2.5 * S <= packet.dts_us < 2.55 * S:
                rec.packet(refused_by_the_muxer(packet))
                # recording state is the truth at once: not recording, with the cause
                assert not rec.recording
                assert rec.failure is not None and rec.failure.reason is RunEndReason.MUX_ERROR
                assert rec.errors[-1][1] is RunEndReason.MUX_ERROR  # type: ignore[attr-defined]
                failed_at = packet.dts_us
                continue
            if rec.failure is not None and packet.dts_us > failed_at + 0.2 * S:
                clock.mono += 2.0  # past the first backoff (1 s)
            rec.packet(packet)
        rec.stream_ended(Cause.STOPPED, "")
    runs = catalog.of("run_ended")
    assert [r[2] for r in runs] == [RunEndReason.MUX_ERROR, RunEndReason.RECORDER_STOPPED]
    assert rec.failure is None
    first, second = catalog.of("segment")
    base = first.start_us  # the first keyframe
    # the footage before the refused packet was kept: its file was finished and catalogued
    assert abs(first.end_us - (START_US + 2.5 * S)) <= 0.05 * S
    assert runs[0][1] == first.end_us  # the run ends where its footage ends
    # recording resumed at the first keyframe after the backoff: at most a GOP lost
    assert second.start_us == base + 3 * S
    for segment in (first, second):
        seconds = ffprobe_seconds(tmp_path / segment.path)
        assert abs(seconds - (segment.end_us - segment.start_us) / S) < 0.1


def audio_late(packets: Iterator[MediaPacket]) -> Iterator[MediaPacket]:
    """Each audio packet after the next video packet, as RTSP interleaving delivers them: an
    audio frame is sent once complete, after the picture captured during it."""
    held: list[MediaPacket] = []
    for packet in packets:
        if packet.is_video:
            yield packet
            yield from held
            held.clear()
        else:
            held.append(packet)
    yield from held


def test_cuts_keep_every_audio_packet(source: Path, tmp_path: Path) -> None:
    catalog, clock = Catalog(), ManualClock()
    rec = recorder(tmp_path, catalog, clock, segment_seconds=2)
    with camera_packets(source) as (info, packets):
        rec.stream_started(info)
        delivered = list(audio_late(packets))
        for packet in delivered:
            clock.now_us = packet.wall_us
            rec.packet(packet)
        rec.stream_ended(Cause.STOPPED, "")
    first_keyframe_us = next(p.dts_us for p in delivered if p.is_video)
    # every audio packet from the first keyframe on (what came before precedes the recording)
    expected = sum(1 for p in delivered if not p.is_video and p.dts_us >= first_keyframe_us)
    segments = catalog.of("segment")
    base = segments[0].start_us
    assert [s.start_us for s in segments] == [base + i * S for i in (0, 2, 4)]
    assert all(a.end_us == b.start_us for a, b in itertools.pairwise(segments))
    stored = 0
    for segment in segments:
        with av.open(str(tmp_path / segment.path)) as container:
            stored += sum(1 for p in container.demux(container.streams.audio[0]) if p.size)
    assert stored == sum(s.written.audio_packets for s in segments) == expected


@pytest.fixture(scope="module")
def long_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_source(tmp_path_factory.mktemp("media") / "long.mkv", seconds=12, gop=25)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB file system, so writes fail with ENOSPC."""
    with small_file_system(tmp_path / "disk", "1m") as mount:
        yield mount


@pytest.mark.parametrize("filler_bytes", [620_000, 680_000, 740_000, 800_000, 860_000])
def test_disk_full_ends_the_run_and_recording_resumes_when_space_returns(
    long_source: Path, small_disk: Path, filler_bytes: int
) -> None:
    """The disk fills at different moments (mid-fragment, at a cut, while a segment closes):
    what was written whole before the fault is always catalogued."""
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * filler_bytes)
    catalog, clock = Catalog(), ManualClock()
    rec = recorder(small_disk / "rec", catalog, clock, segment_seconds=2)
    with camera_packets(long_source) as (info, packets):
        rec.stream_started(info)
        for packet in packets:
            clock.now_us = packet.wall_us
            rec.packet(packet)
            if rec.failure is not None and filler.exists():
                assert rec.failure.reason is RunEndReason.DISK_FULL
                assert not rec.recording
                failed_at = packet.dts_us
                assert failed_at < 10 * S, "filled too late to see recording resume"
                filler.unlink()  # an operator frees space
                clock.mono += 2.0
        rec.stream_ended(Cause.STOPPED, "")
    assert not filler.exists(), "the disk never filled"
    reasons = [r[2] for r in catalog.of("run_ended")]
    assert reasons == [RunEndReason.DISK_FULL, RunEndReason.RECORDER_STOPPED]
    segments = catalog.of("segment")
    first_run = [s for s in segments if s.start_us < START_US + failed_at]
    after = [s for s in segments if s.start_us > START_US + failed_at]
    assert first_run and after, segments
    # footage up to the last whole fragment before the fault is kept (fragments are 1 s)
    assert START_US + failed_at - first_run[-1].end_us <= 1.1 * S
    assert after[0].start_us - (START_US + failed_at) <= 1 * S  # the next keyframe
    shutil.rmtree(small_disk / "rec", ignore_errors=True)


def test_a_backlog_overrun_shows_at_once_and_ends_the_run_where_its_footage_ends(
    source: Path, tmp_path: Path
) -> None:
    """The disk was too slow: packets were dropped before reaching the recorder. Recording is
    false with the cause as soon as the drop starts (not when the recorder gets there), the run
    ends at the last packet written, and the next keyframe after the loss starts a new run."""
    catalog, clock = Catalog(), ManualClock()
    rec = recorder(tmp_path, catalog, clock)
    with camera_packets(source) as (info, packets):
        rec.stream_started(info)
        delivered = list(packets)
        feed(rec, iter([p for p in delivered if p.dts_us < 2.5 * S]), clock)
        assert rec.recording
        rec.backlog_overrun("storage too slow: 20.0 s behind")  # camera thread, mid-backlog
        assert not rec.recording
        assert rec.failure is not None and rec.failure.reason is RunEndReason.STORAGE_STALLED
        assert rec.errors[-1][1] is RunEndReason.STORAGE_STALLED  # type: ignore[attr-defined]
        feed(rec, iter([p for p in delivered if 2.5 * S <= p.dts_us < 3.1 * S]), clock)  # backlog
        rec.discontinuity(Discontinuity.PACKETS_DROPPED)
        assert rec.failure is not None and not rec.recording  # until footage is written again
        feed(rec, iter([p for p in delivered if p.dts_us >= 4.5 * S]), clock)  # after the loss
        assert rec.recording and rec.failure is None
        rec.stream_ended(Cause.STOPPED, "")
    runs = catalog.of("run_ended")
    assert [r[2] for r in runs] == [RunEndReason.STORAGE_STALLED, RunEndReason.RECORDER_STOPPED]
    assert "storage too slow" in runs[0][3]
    first, second = catalog.of("segment")
    assert runs[0][1] == first.end_us
    assert abs(first.end_us - (START_US + 3.1 * S)) <= 0.05 * S
    assert second.start_us == first.start_us + 5 * S  # the first keyframe after the loss
