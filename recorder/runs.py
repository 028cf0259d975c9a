"""Why a recording run ended: what a recorder says, in this process or a worker's, and what the
catalog keeps (`recorder.models` re-exports it). No database here: worker processes, which never
open the catalog, use it without importing SQLAlchemy."""

from __future__ import annotations

import enum


class RunEndReason(enum.StrEnum):
    """Why a recording run ended; gap causes are derived from these (recorder/coverage.py)."""

    CAMERA_DISCONNECTED = "camera_disconnected"
    CAMERA_STALLED = "camera_stalled"
    RECORDER_STOPPED = "recorder_stopped"
    RECORDER_CRASHED = "recorder_crashed"
    DISK_FULL = "disk_full"
    WRITE_ERROR = "write_error"
    MUX_ERROR = "mux_error"  # the muxer refused a packet or failed (PyAV/libav)
    STORAGE_STALLED = "storage_stalled"  # the disk was so slow that the write backlog overflowed
    CLOCK_DRIFT = "clock_drift"
    TIMESTAMP_JUMP = "timestamp_jump"
    STREAM_CHANGED = "stream_changed"
    RECORDING_PAUSED = "recording_paused"  # by an operator through the API
