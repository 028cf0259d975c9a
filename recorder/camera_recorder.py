"""Continuous recording of one camera: a hub sink that cuts segments and records runs.

Called on the camera's recorder thread only (``ingest.sink_thread.SinkThread`` behind the hub),
except where a method says "any thread". Procedure per segment (DESIGN.md):
create the file and fsync its directory → write fragments → on close write the trailer, fsync the
file and directory → only then submit the catalog row. A run is one stretch of continuous
recording; it ends with a reason when the stream ends, stalls, jumps in time or the disk fails.

**Recording state is the truth**: any exception on the recording path ends the run with a
cause (``disk_full``, ``write_error``, ``mux_error``), sets ``failure`` (so ``recording`` is
false and the alarm says why at once) and the recorder tries again at a keyframe after a backoff
that grows with each failure and resets once a segment is written whole. Nothing here raises
into the hub.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from configs.schema import StorageSettings
from ingest.backoff import Backoff
from ingest.clock import Clock
from ingest.events import Cause
from ingest.packets import MediaPacket, StreamInfo
from ingest.timestamps import Discontinuity
from recorder import pathcodec
from recorder.lossless_audio import stored_codec
from recorder.runs import RunEndReason
from recorder.salvage import salvage
from recorder.segment_file import SegmentFile, WrittenSegment

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FinishedSegment:
    """What the catalog needs to know about a closed segment."""

    camera_id: str
    run_id: str
    path: str
    start_us: int
    end_us: int
    prev_sha256: str | None
    written: WrittenSegment
    video_codec: str
    width: int
    height: int
    audio_codec: str | None


class RecordingListener:
    """Receives the recorder's catalog events (implemented by recorder.service)."""

    def run_started(self, camera_id: str, run_id: str, start_us: int) -> None: ...

    def segment_finished(self, segment: FinishedSegment) -> None: ...

    def run_ended(
        self, camera_id: str, run_id: str, end_us: int, reason: RunEndReason, detail: str
    ) -> None: ...


_CAUSE_TO_REASON = {
    Cause.STALLED: RunEndReason.CAMERA_STALLED,
    Cause.STREAM_CHANGED: RunEndReason.STREAM_CHANGED,
    Cause.STOPPED: RunEndReason.RECORDER_STOPPED,
}
_DISCONTINUITY_TO_REASON = {
    Discontinuity.CLOCK_DRIFT: RunEndReason.CLOCK_DRIFT,
    Discontinuity.TIMESTAMP_JUMP: RunEndReason.TIMESTAMP_JUMP,
    Discontinuity.PACKETS_DROPPED: RunEndReason.STORAGE_STALLED,
}
RETRY_INITIAL_SECONDS = 1.0
RETRY_MAX_SECONDS = 10.0
AUDIO_AFTER_CUT_US = 1_000_000
"""How long after a cut the previous segment stays open for audio captured before the cutting
keyframe (audio frames arrive after the video frame they overlap)."""


def failure_reason(error: BaseException) -> RunEndReason:
    """The run end reason of an exception raised while writing a segment."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return RunEndReason.DISK_FULL
    if isinstance(error, OSError) and error.errno is not None:
        return RunEndReason.WRITE_ERROR
    return RunEndReason.MUX_ERROR


@dataclass(frozen=True, slots=True)
class RecordingFailure:
    """Why a camera that should record is not recording: set when the recording path failed,
    cleared when a new segment opens."""

    reason: RunEndReason
    detail: str
    at_us: int


@dataclass(slots=True)
class _Closing:
    """A segment cut at a keyframe, kept open briefly for the audio captured before the cut."""

    file: SegmentFile
    run_id: str
    info: StreamInfo
    start_us: int
    end_us: int
    cut_dts_us: int


class CameraRecorder:
    """Records one camera's hub into segments."""

    def __init__(
        self,
        camera_id: str,
        storage: StorageSettings,
        listener: RecordingListener,
        clock: Clock,
        *,
        last_sha256: str | None,
        last_end_us: int | None,
        on_error: Callable[[str, RunEndReason, str], None] | None = None,
    ) -> None:
        self.camera_id = camera_id
        self._root = Path(storage.path)
        self._segment_us = int(storage.segment_seconds * 1_000_000)
        self._fragment_seconds = storage.fragment_seconds
        self._fsync_interval = storage.fsync_interval_seconds
        self._listener = listener
        self._clock = clock
        self._on_error = on_error
        self._info: StreamInfo | None = None
        self._file: SegmentFile | None = None
        self._closing: _Closing | None = None
        self._segment_start_us = 0
        self._segment_end_us = 0
        self._run_id: str | None = None
        self._run_start_us = 0
        self._prev_sha256 = last_sha256
        self._last_end_us = last_end_us or 0
        """End of the last segment cut (new segments never start before it)."""
        self._catalogued_end_us = self._last_end_us
        """End of the last segment handed to the catalog (where a failed run's footage ends)."""
        self._retry = Backoff(RETRY_INITIAL_SECONDS, 2.0, RETRY_MAX_SECONDS, reset_after=0.0)
        self._retry_at = 0.0
        self._paused = False
        self._pause_detail = ""
        self._cut_requested = False
        self._failure: RecordingFailure | None = None
        self._stall: RecordingFailure | None = None
        """Set by ``backlog_overrun`` (camera thread) until this thread reaches the loss."""
        self.live_span: tuple[int, int] | None = None
        """Any thread may read: (start, end of the last packet written) of the open segment."""
        self.skipped_packets = 0

    @property
    def recording(self) -> bool:
        """A run is open and keeps up: footage is being written (also across the moment a
        segment is cut)."""
        return self._run_id is not None and not self._paused and self._stall is None

    @property
    def failure(self) -> RecordingFailure | None:
        """Any thread: why recording stopped, while it is stopped by a fault."""
        return self._stall or self._failure

    def backlog_overrun(self, detail: str) -> None:
        """Camera thread: the disk is so slow that packets are being dropped before they reach
        this recorder. Recording shows as stopped with the cause at once; the run itself ends
        when this thread gets to the loss (``Discontinuity.PACKETS_DROPPED``)."""
        self._stall = RecordingFailure(RunEndReason.STORAGE_STALLED, detail, self._clock.wall_us())
        if self._on_error is not None:
            with contextlib.suppress(Exception):
                self._on_error(self.camera_id, RunEndReason.STORAGE_STALLED, detail)

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self, paused: bool, detail: str = "recording paused by an operator") -> None:
        """Any thread: stop recording at the next packet (the run ends as ``recording_paused``),
        or resume at the next keyframe."""
        self._pause_detail = detail
        self._paused = paused

    def request_cut(self) -> None:
        """Any thread: end the current segment at the next keyframe (nothing is lost: the
        keyframe starts the next segment), so footage up to now gets its catalog row and hash."""
        self._cut_requested = True

    # -- PacketSink (camera thread; never raises) --------------------------------------------------

    def stream_started(self, info: StreamInfo) -> None:
        self._info = info

    def packet(self, packet: MediaPacket) -> None:
        try:
            self._packet(packet)
        except Exception as error:  # any failure ends the run with its cause, never the hub's
            self._fail(error)

    def discontinuity(self, reason: Discontinuity) -> None:
        if reason is Discontinuity.PACKETS_DROPPED:
            stall = self._stall or RecordingFailure(
                RunEndReason.STORAGE_STALLED, "packets dropped", self._clock.wall_us()
            )
            self._end_run_safely(RunEndReason.STORAGE_STALLED, stall.detail)
            self._failure, self._stall = stall, None  # until a segment opens again
            return
        self._end_run_safely(_DISCONTINUITY_TO_REASON[reason], f"media timestamps: {reason.value}")

    def stream_ended(self, cause: Cause, detail: str) -> None:
        if self._paused:
            self._end_run_safely(RunEndReason.RECORDING_PAUSED, self._pause_detail)
        else:
            reason = _CAUSE_TO_REASON.get(cause, RunEndReason.CAMERA_DISCONNECTED)
            self._end_run_safely(reason, f"{cause.value}: {detail}" if detail else cause.value)
        self._info = None

    def stop(self) -> None:
        """Camera thread has ended: close what is open as a clean recorder stop."""
        self._end_run_safely(RunEndReason.RECORDER_STOPPED, "casewatch stopped")

    # -- internals ---------------------------------------------------------------------------------

    def _end_run_safely(self, reason: RunEndReason, detail: str) -> None:
        try:
            self._end_run(reason, detail)
        except Exception as error:
            self._fail(error)

    def _packet(self, packet: MediaPacket) -> None:
        if self._closing is not None:
            if not packet.is_video and packet.dts_us < self._closing.cut_dts_us:
                self._closing.file.write(packet)
                return
            if not packet.is_video or packet.dts_us - self._closing.cut_dts_us > AUDIO_AFTER_CUT_US:
                self._finish_closing()
        if self._file is None:
            if not (packet.is_video and packet.keyframe) or self._paused:
                self.skipped_packets += 1
                return
            if self._clock.monotonic() < self._retry_at:
                return
            self._open(packet)
            return
        if self._paused:
            self._end_run(RunEndReason.RECORDING_PAUSED, self._pause_detail)
            self.skipped_packets += 1
            return
        if (
            packet.is_video
            and packet.keyframe
            and (self._cut_requested or packet.dts_us - self._file.first.dts_us >= self._segment_us)
        ):
            self._cut_requested = False
            self._cut(packet)
            return
        self._file.write(packet)
        self._written(packet)

    def _written(self, packet: MediaPacket) -> None:
        if not packet.is_video:
            return  # segments span their pictures; audio a few ms past the last one rides along
        end = packet.wall_us + max(packet.duration_us, 0)
        if end > self._segment_end_us:
            self._segment_end_us = end
            # the segment still closing is footage being written too, until it is catalogued
            closing = self._closing
            self.live_span = (closing.start_us if closing else self._segment_start_us, end)

    def _open(self, first: MediaPacket) -> None:
        """Start a segment at keyframe ``first`` (and a run, if none is open). The file is
        created and its header and first packet written before a new run is announced, so a
        retry on a disk that is still full or failing adds no run to the catalog."""
        assert self._info is not None
        start = max(first.wall_us, self._last_end_us)
        if start != first.wall_us:
            logger.warning(
                "[%s] segment start moved %d µs later to avoid overlap",
                self.camera_id,
                start - first.wall_us,
            )
        relative = pathcodec.encode(self.camera_id, start)
        file = SegmentFile(
            self._root / relative,
            self._info,
            first,
            fragment_seconds=self._fragment_seconds,
            fsync_interval=self._fsync_interval,
        )
        try:
            file.write(first)
        except BaseException:
            file.abandon()
            file.path.unlink(missing_ok=True)  # nothing of this segment reached the catalog
            raise
        if self._run_id is None:
            self._run_id = uuid.uuid4().hex
            self._run_start_us = start
            self._listener.run_started(self.camera_id, self._run_id, start)
        self._file = file
        self._segment_start_us = start
        self._segment_end_us = start
        self._failure = None
        self._written(first)

    def _cut(self, keyframe: MediaPacket) -> None:
        """End the open segment at ``keyframe``, which starts the next one; the old file takes
        the audio captured before the keyframe, then closes."""
        self._finish_closing()
        file, info, run_id = self._file, self._info, self._run_id
        assert file is not None and info is not None and run_id is not None
        end = max(keyframe.wall_us, self._segment_start_us + 1)
        self._closing = _Closing(file, run_id, info, self._segment_start_us, end, keyframe.dts_us)
        self._file = None
        self._last_end_us = end
        self._open(keyframe)

    def _finish_closing(self) -> None:
        closing = self._closing
        if closing is not None:
            self._catalog(
                closing.file, closing.run_id, closing.info, closing.start_us, closing.end_us
            )
            self._closing = None  # only now: a file that failed to close is still salvaged
            self._retry.reset()  # a whole segment: the next failure starts the backoff anew
            if self._file is not None:  # the open segment alone is being written now
                self.live_span = (self._segment_start_us, self._segment_end_us)

    def _close_segment(self) -> None:
        """Close the open segment at its last packet."""
        self._finish_closing()
        file, info, run_id = self._file, self._info, self._run_id
        if file is None or run_id is None or info is None:
            return
        end = max(self._segment_end_us, self._segment_start_us + 1)
        self._catalog(file, run_id, info, self._segment_start_us, end)
        self._file = None
        self.live_span = None
        self._last_end_us = end

    def _catalog(
        self, file: SegmentFile, run_id: str, info: StreamInfo, start_us: int, end_us: int
    ) -> None:
        """Finish a file (trailer, fsync) and hand its row to the catalog; raises on failure."""
        self._submit(file, run_id, info, start_us, end_us, file.close())

    def _submit(
        self,
        file: SegmentFile,
        run_id: str,
        info: StreamInfo,
        start_us: int,
        end_us: int,
        written: WrittenSegment,
    ) -> None:
        self._listener.segment_finished(
            FinishedSegment(
                camera_id=self.camera_id,
                run_id=run_id,
                path=file.path.relative_to(self._root).as_posix(),
                start_us=start_us,
                end_us=end_us,
                prev_sha256=self._prev_sha256,
                written=written,
                video_codec=info.video_codec,
                width=info.width,
                height=info.height,
                audio_codec=stored_codec(info.audio_codec) if written.audio_packets else None,
            )
        )
        self._prev_sha256 = written.sha256
        self._catalogued_end_us = max(self._catalogued_end_us, end_us)
        self._last_end_us = max(self._last_end_us, end_us)

    def _salvage(self, file: SegmentFile, run_id: str, info: StreamInfo, start_us: int) -> None:
        """Catalog the complete fragments of a file whose writing failed (``recorder.salvage``);
        raises when nothing can be kept."""
        salvaged = salvage(file.path)
        end_us = start_us + max(salvaged.info.duration_us, 1)
        written = WrittenSegment(
            salvaged.size_bytes,
            salvaged.sha256,
            salvaged.info.video_packets,
            salvaged.info.audio_packets,
        )
        self._submit(file, run_id, info, start_us, end_us, written)
        logger.warning(
            "[%s] kept %.3f s of %s written before the fault",
            self.camera_id,
            (end_us - start_us) / 1e6,
            file.path.name,
        )

    def _end_run(self, reason: RunEndReason, detail: str) -> None:
        self._close_segment()
        if self._run_id is not None:
            self._listener.run_ended(
                self.camera_id, self._run_id, self._last_end_us, reason, detail
            )
            self._run_id = None

    def _fail(self, error: Exception) -> None:
        """The recording path failed: keep what is whole, end the run with the cause, retry
        after a backoff. Never raises."""
        reason = failure_reason(error)
        detail = f"{type(error).__name__}: {error}"
        logger.error("[%s] recording failed (%s): %s", self.camera_id, reason.value, detail)
        for file, info, start_us, end_us, run_id in self._open_files():
            try:
                if reason is RunEndReason.MUX_ERROR:
                    # a muxer that refused a packet can still finish the file
                    self._catalog(file, run_id, info, start_us, end_us)
                else:
                    file.abandon()
                    self._salvage(file, run_id, info, start_us)
            except Exception as salvage_error:
                file.abandon()
                logger.error(
                    "[%s] %s left for start-up recovery: %s",
                    self.camera_id,
                    file.path.name,
                    salvage_error,
                )
        self._file, self._closing, self.live_span = None, None, None
        if self._run_id is not None:
            end = max(self._catalogued_end_us, self._run_start_us)
            with contextlib.suppress(Exception):
                self._listener.run_ended(self.camera_id, self._run_id, end, reason, detail)
            self._run_id = None
        self._failure = RecordingFailure(reason, detail, self._clock.wall_us())
        self._retry_at = self._clock.monotonic() + self._retry.next_delay()
        if self._on_error is not None:
            with contextlib.suppress(Exception):
                self._on_error(self.camera_id, reason, detail)

    def _open_files(self) -> list[tuple[SegmentFile, StreamInfo, int, int, str]]:
        """(file, stream info, start, end, run) of the segments open now, oldest first."""
        files = []
        if self._closing is not None:
            c = self._closing
            files.append((c.file, c.info, c.start_us, c.end_us, c.run_id))
        if self._file is not None and self._run_id is not None and self._info is not None:
            end = max(self._segment_end_us, self._segment_start_us + 1)
            files.append((self._file, self._info, self._segment_start_us, end, self._run_id))
        return files
