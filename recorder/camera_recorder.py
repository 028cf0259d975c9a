"""Continuous recording of one camera: a hub sink that cuts segments and records runs.

Called on the camera thread only (see ingest/hub.py). Procedure per segment (DESIGN.md):
create the file and fsync its directory → write fragments → on close write the trailer, fsync the
file and directory → only then submit the catalog row. A run is one stretch of continuous
recording; it ends with a reason when the stream ends, stalls, jumps in time or the disk fails.
"""

from __future__ import annotations

import errno
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from configs.schema import StorageSettings
from ingest.clock import Clock
from ingest.events import Cause
from ingest.packets import MediaPacket, StreamInfo
from ingest.timestamps import Discontinuity
from recorder import pathcodec
from recorder.models import RunEndReason
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
    Cause.STOPPED: RunEndReason.RECORDER_STOPPED,
}
_DISCONTINUITY_TO_REASON = {
    Discontinuity.CLOCK_DRIFT: RunEndReason.CLOCK_DRIFT,
    Discontinuity.TIMESTAMP_JUMP: RunEndReason.TIMESTAMP_JUMP,
}
RETRY_AFTER_ERROR_SECONDS = 5.0


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
        self._segment_start_us = 0
        self._segment_end_us = 0
        self._run_id: str | None = None
        self._prev_sha256 = last_sha256
        self._last_end_us = last_end_us or 0
        self._retry_at = 0.0
        self._paused = False
        self._pause_detail = ""
        self._cut_requested = False
        self.live_span: tuple[int, int] | None = None  # read by the API: the open segment
        self.skipped_packets = 0

    @property
    def recording(self) -> bool:
        """A run is open: footage is being written (also across the moment a segment is cut)."""
        return self._run_id is not None and not self._paused

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

    # -- PacketSink -----------------------------------------------------------------

    def stream_started(self, info: StreamInfo) -> None:
        self._info = info

    def packet(self, packet: MediaPacket) -> None:
        if self._file is None:
            if not (packet.is_video and packet.keyframe) or self._paused:
                self.skipped_packets += 1
                return
            if self._clock.monotonic() < self._retry_at:
                return
            self._open(packet)
            if self._file is None:
                return
        elif self._paused:
            self._end_run(RunEndReason.RECORDING_PAUSED, self._pause_detail)
            self.skipped_packets += 1
            return
        elif (
            packet.is_video
            and packet.keyframe
            and (self._cut_requested or packet.dts_us - self._file.first.dts_us >= self._segment_us)
        ):
            self._cut_requested = False
            self._close_segment(end_us=packet.wall_us)
            self._open(packet)
            if self._file is None:
                return
        assert self._file is not None
        try:
            self._file.write(packet)
        except OSError as error:
            self._fail(error)
            return
        end = packet.wall_us + max(packet.duration_us, 0)
        if end > self._segment_end_us:
            self._segment_end_us = end
            self.live_span = (self._segment_start_us, end)

    def discontinuity(self, reason: Discontinuity) -> None:
        self._end_run(_DISCONTINUITY_TO_REASON[reason], f"media timestamps: {reason.value}")

    def stream_ended(self, cause: Cause, detail: str) -> None:
        if self._paused:
            self._end_run(RunEndReason.RECORDING_PAUSED, self._pause_detail)
        else:
            reason = _CAUSE_TO_REASON.get(cause, RunEndReason.CAMERA_DISCONNECTED)
            self._end_run(reason, f"{cause.value}: {detail}" if detail else cause.value)
        self._info = None

    # -- internals ---------------------------------------------------------------------------------

    def _open(self, first: MediaPacket) -> None:
        assert self._info is not None
        start = max(first.wall_us, self._last_end_us)
        if start != first.wall_us:
            logger.warning(
                "[%s] segment start moved %d µs later to avoid overlap",
                self.camera_id,
                start - first.wall_us,
            )
        if self._run_id is None:
            self._run_id = uuid.uuid4().hex
            self._listener.run_started(self.camera_id, self._run_id, start)
        relative = pathcodec.encode(self.camera_id, start)
        try:
            self._file = SegmentFile(
                self._root / relative,
                self._info,
                first,
                fragment_seconds=self._fragment_seconds,
                fsync_interval=self._fsync_interval,
            )
        except OSError as error:
            self._file = None
            self._fail(error)
            return
        self._segment_start_us = start
        self._segment_end_us = start
        self.live_span = (start, start)

    def _close_segment(self, *, end_us: int | None = None) -> None:
        file, info, run_id = self._file, self._info, self._run_id
        if file is None or run_id is None:
            return
        self._file = None
        self.live_span = None
        end = max(
            end_us if end_us is not None else self._segment_end_us, self._segment_start_us + 1
        )
        try:
            written = file.close()
        except OSError as error:
            logger.error(
                "[%s] closing %s failed: %s; left for recovery",
                self.camera_id,
                file.path.name,
                error,
            )
            self._report(RunEndReason.WRITE_ERROR, str(error))
            return
        assert info is not None
        segment = FinishedSegment(
            camera_id=self.camera_id,
            run_id=run_id,
            path=file.path.relative_to(self._root).as_posix(),
            start_us=self._segment_start_us,
            end_us=end,
            prev_sha256=self._prev_sha256,
            written=written,
            video_codec=info.video_codec,
            width=info.width,
            height=info.height,
            audio_codec=info.audio_codec if written.audio_packets else None,
        )
        self._prev_sha256 = written.sha256
        self._last_end_us = end
        self._listener.segment_finished(segment)

    def _end_run(self, reason: RunEndReason, detail: str) -> None:
        self._close_segment()
        if self._run_id is not None:
            self._listener.run_ended(
                self.camera_id, self._run_id, self._last_end_us, reason, detail
            )
            self._run_id = None

    def _fail(self, error: OSError) -> None:
        reason = RunEndReason.DISK_FULL if error.errno == errno.ENOSPC else RunEndReason.WRITE_ERROR
        logger.error("[%s] write failed (%s): %s", self.camera_id, reason.value, error)
        file, self._file = self._file, None
        self.live_span = None
        if file is not None:
            file.abandon()
        if self._run_id is not None:
            self._listener.run_ended(
                self.camera_id,
                self._run_id,
                max(self._segment_end_us, self._last_end_us),
                reason,
                str(error),
            )
            self._run_id = None
        self._retry_at = self._clock.monotonic() + RETRY_AFTER_ERROR_SECONDS
        self._report(reason, str(error))

    def _report(self, reason: RunEndReason, detail: str) -> None:
        if self._on_error is not None:
            self._on_error(self.camera_id, reason, detail)

    def stop(self) -> None:
        """Camera thread has ended: close what is open as a clean recorder stop."""
        self._end_run(RunEndReason.RECORDER_STOPPED, "casewatch stopped")
