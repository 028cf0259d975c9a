"""The server's side of a camera that a worker process owns: what the API, the relay, the
alarms and the patrol read about it, with the interfaces they read in-process cameras by.

- `RemoteHub` is a `Hub` fed from the worker's media channel — only while someone watches
  the camera (a subscription or a sink): the first watcher asks the worker for the camera's
  packets, which sends its cached GOP and then every packet; the last one leaving stops them.
  Snapshots and the patrol of an unwatched camera ask the worker for its keyframe or GOP.
- `RemoteCamera` and `RemoteRecorder` hold what the worker reports (state changes at once,
  counters and recording state every second) and forward operator controls.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from typing import Any, Protocol

from ingest import wire
from ingest.events import CameraState, Cause
from ingest.hub import GopReplayed, Hub, PacketSink, RecentMedia, Subscription
from ingest.packets import MediaPacket, StreamInfo
from ingest.supervisor import CameraStats
from ingest.timestamps import Discontinuity
from recorder.camera_recorder import RecordingFailure
from recorder.runs import RunEndReason

logger = logging.getLogger(__name__)

REQUEST_SECONDS = 5.0
"""How long a snapshot or a patrol waits for a worker's answer."""


@dataclass
class Reply:
    """A worker's answer to a request for a camera's recent media."""

    info: StreamInfo | None
    gop_seconds: float | None
    packets: list[MediaPacket]


class WorkerLink(Protocol):
    """What a `RemoteHub` and a `RemoteRecorder` need of the worker that owns their camera
    (the pool's slot, which outlives each worker process)."""

    def send(self, kind: str, **fields: object) -> None:
        """Send a control message; dropped while the worker is down (it is restarted with
        every camera's current wishes)."""

    def request(self, camera: int, *, keyframe_only: bool, timeout: float) -> Reply | None:
        """A camera's recent media from the worker; None when it does not answer in time."""


class RemoteHub(Hub):
    """A camera's Hub on the server side of the process boundary (see the module doc)."""

    def __init__(
        self, camera_id: str, index: int, link: WorkerLink, *, gop_cache_max_packets: int
    ) -> None:
        super().__init__(camera_id, gop_cache_max_packets=gop_cache_max_packets)
        self.index = index
        self._link = link
        self._watch_lock = threading.Lock()
        self._watching = False
        self._synced = False
        """After a watch request: whether the worker's replay has begun (frames of an earlier
        watch still in flight are dropped until it does)."""
        self._replaying = False
        self._replayed_video = 0
        self._awaiting: list[Subscription] = []
        self._remote_info: StreamInfo | None = None
        self._picture = False

    # -- consumers (as a Hub's) ---------------------------------------------------------------

    def subscribe(self, loop: asyncio.AbstractEventLoop, *, max_items: int = 400) -> Subscription:
        with self._watch_lock:
            if self._watching and not self._replaying:
                return super().subscribe(loop, max_items=max_items)
            subscription = Subscription(self, loop, max_items)
            self._add_subscription(subscription, primed=False)
            self._awaiting.append(subscription)
            self._watch()
            return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        super().unsubscribe(subscription)
        self._unwatch_if_unwatched()

    def add_sink(self, sink: PacketSink, *, replay: bool = False) -> None:
        with self._watch_lock:
            super().add_sink(sink, replay=replay and self._watching and not self._replaying)
            self._watch()

    def remove_sink(self, sink: PacketSink) -> None:
        super().remove_sink(sink)
        self._unwatch_if_unwatched()

    @property
    def stream_info(self) -> StreamInfo | None:
        return self._info if self._watching and self._synced else self._remote_info

    def has_picture(self) -> bool:
        """As the worker last reported (every second), or at once while watched."""
        return super().has_picture() if self._live() else self._picture

    def latest_keyframe(self) -> tuple[StreamInfo, MediaPacket] | None:
        """Blocking when the camera is not watched (ask the worker; call off the event loop)."""
        if self._live():
            return super().latest_keyframe()
        reply = self._link.request(self.index, keyframe_only=True, timeout=REQUEST_SECONDS)
        if reply is None or reply.info is None or not reply.packets:
            return None
        return reply.info, reply.packets[0]

    def recent_media(self) -> RecentMedia | None:
        """Blocking when the camera is not watched (ask the worker; call off the event loop)."""
        if self._live():
            return super().recent_media()
        reply = self._link.request(self.index, keyframe_only=False, timeout=REQUEST_SECONDS)
        if reply is None or reply.info is None or not reply.packets:
            return None
        return RecentMedia(reply.info, reply.packets, reply.gop_seconds)

    def _live(self) -> bool:
        with self._watch_lock:
            return self._watching and not self._replaying

    # -- watching ---------------------------------------------------------------------------------

    def _watch(self) -> None:
        """Under the watch lock: ask the worker for the camera's packets, if not yet asked."""
        if self._watching:
            return
        self._watching, self._synced, self._replaying = True, False, True
        self._replayed_video = 0
        self._link.send("watch", c=self.index)

    def _unwatch_if_unwatched(self) -> None:
        with self._watch_lock:
            if not self._watching or self.subscriber_count or self._sinks:
                return
            self._watching = False
            self._awaiting = []
            self._link.send("unwatch", c=self.index)
            with self._lock:  # what it held goes stale from now: a later watch starts afresh
                self._info, self._gop, self._gop_complete = None, [], False
                self._latest_keyframe = None

    def rewatch(self) -> None:
        """A new worker process owns the camera: ask it for the packets again if watched."""
        with self._watch_lock:
            if self._watching:
                self._watching = False
                self._watch()

    # -- what the worker sends (the pool's media reader thread) -------------------------------

    def deliver(self, item: object) -> None:
        """One live frame of this camera from the media channel."""
        with self._watch_lock:
            if not self._watching:
                return  # sent before the worker heard the unwatch
            if not self._synced:
                if not isinstance(item, StreamInfo | wire.Replayed):
                    return
                self._synced = True
            if isinstance(item, wire.Replayed):
                self._replaying = False
                awaiting, self._awaiting = self._awaiting, []
                marker = GopReplayed(self._replayed_video)
                for subscription in awaiting:
                    subscription.offer(marker)
                return
            if self._replaying and isinstance(item, MediaPacket) and item.is_video:
                self._replayed_video += 1
        if isinstance(item, MediaPacket):
            self.publish(item)
        elif isinstance(item, StreamInfo):
            self.stream_started(item)
        elif isinstance(item, Discontinuity):
            self.discontinuity(item)
        elif isinstance(item, tuple):
            self.stream_ended(*item)

    def stream_changed(self, info: StreamInfo | None) -> None:
        """The worker says the camera's stream began (``info``) or ended (None)."""
        self._remote_info = info
        if info is None:
            self._picture = False

    def beat(self, report: dict[str, Any]) -> None:
        """The worker's report of the camera (every second)."""
        self._picture = bool(report.get("picture", False))

    def worker_lost(self, detail: str) -> None:
        """The worker process is gone: the stream ended for everyone who watches."""
        self._remote_info, self._picture = None, False
        with self._watch_lock:
            watched = self._watching and self._synced
            self._synced, self._replaying = False, False
        if watched:
            self.stream_ended(Cause.WORKER_CRASHED, detail)


class RemoteCamera:
    """A camera reader in a worker process, as the server sees it (what `CameraWorker` offers
    its readers: state, cause, detail, since, counters, the camera's clock offset)."""

    def __init__(self, camera_id: str, since_us: int) -> None:
        self.camera_id = camera_id
        self.state = CameraState.CONNECTING
        self.cause: Cause | None = None
        self.detail = ""
        self.since_us = since_us
        self.stats = CameraStats()
        self.camera_clock_offset_us: int | None = None

    def changed(self, state: CameraState, cause: Cause | None, detail: str, at_us: int) -> None:
        self.state, self.cause, self.detail, self.since_us = state, cause, detail, at_us

    def beat(self, report: dict[str, Any]) -> None:
        stats = self.stats
        stats.fps = float(report.get("fps", 0.0))
        stats.bitrate_bps = float(report.get("bitrate_bps", 0.0))
        stats.video_packets = int(report.get("video_packets", 0))
        stats.audio_packets = int(report.get("audio_packets", 0))
        stats.dropped = int(report.get("dropped", 0))
        offset = report.get("clock_offset_us")
        self.camera_clock_offset_us = int(offset) if isinstance(offset, int) else None

    def lost(self, detail: str, at_us: int) -> None:
        """The worker reading it crashed: offline until the new worker reports."""
        self.changed(CameraState.OFFLINE, Cause.WORKER_CRASHED, detail, at_us)
        self.stats.idle()
        self.camera_clock_offset_us = None


class RemoteRecorder:
    """A camera's recorder in a worker process, as the server sees it (what `CameraRecorder`
    offers its readers), with the operator's controls forwarded."""

    def __init__(self, camera_id: str, index: int, link: WorkerLink, *, paused: bool) -> None:
        self.camera_id = camera_id
        self._index = index
        self._link = link
        self._paused = paused
        self._recording = False
        self._failure: RecordingFailure | None = None
        self.live_span: tuple[int, int] | None = None

    @property
    def recording(self) -> bool:
        return self._recording and not self._paused

    @property
    def failure(self) -> RecordingFailure | None:
        return self._failure

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self, paused: bool, detail: str = "recording paused by an operator") -> None:
        self._paused = paused
        self._link.send("pause", c=self._index, paused=paused, detail=detail)

    def request_cut(self) -> None:
        self._link.send("cut", c=self._index)

    def beat(self, report: dict[str, Any]) -> None:
        self._recording = bool(report.get("recording", False))
        span = report.get("live_span")
        self.live_span = (
            (int(span[0]), int(span[1])) if isinstance(span, list) and len(span) == 2 else None
        )
        failure = report.get("failure")
        self._failure = (
            RecordingFailure(RunEndReason(failure[0]), str(failure[1]), int(failure[2]))
            if isinstance(failure, list) and len(failure) == 3
            else None
        )

    def segment_finished(self, end_us: int) -> None:
        """A segment was closed at ``end_us``: the one being written starts there (known now,
        not at the next beat — a session's report must not take a catalogued segment for one
        still being written)."""
        span = self.live_span
        if span is not None and span[0] < end_us:
            self.live_span = (end_us, max(end_us, span[1]))

    def run_ended(self) -> None:
        """The run ended: nothing is being written until the next one starts."""
        self.live_span = None

    def failed(self, reason: RunEndReason, detail: str, at_us: int) -> None:
        """Recording stopped (a disk fault the worker reported, or the worker crashed): shown
        as not recording at once, not at the next beat."""
        self._recording = False
        self.live_span = None
        self._failure = RecordingFailure(reason, detail, at_us)
