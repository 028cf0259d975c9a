"""Recorder worker processes, from the server's side: who owns which camera, the channels, and
supervision (recorder/DESIGN.md, "Worker processes").

A `WorkerSlot` is one worker's place: its cameras and the process now running them. A process
that exits (any signal), stops beating for `RecorderSettings.heartbeat_timeout_seconds` or grows
beyond `worker_memory_mb` is killed if need be and replaced: every message it sent is applied
first (its control channel is read to the end), its cameras' open runs end as
``recorder_crashed`` with the cause and their partial files are adopted — exactly what start-up
recovery does after a crash of the whole server, for these cameras only — and only then does
the new process start, from the catalog as recovery left it. A slot whose process dies again
within `QUICK_CRASH_SECONDS` of its start backs off (1 s, doubling to 60 s). A camera that was
connecting at two crashes of its slot in a row is taken to be the cause: it moves to a slot of
its own, and its old slot's other cameras stay where they are.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from configs.schema import Area, CameraSettings, Settings, SiteSettings
from ingest import wire
from ingest.clock import Clock
from ingest.events import CameraState, Cause, StateChange
from ingest.packets import MediaPacket
from recorder import catalog
from recorder.camera_recorder import FinishedSegment, RecordingListener
from recorder.recovery import recover_cameras
from recorder.remote import RemoteCamera, RemoteHub, RemoteRecorder, Reply
from recorder.runs import RunEndReason
from recorder.segment_file import WrittenSegment
from recorder.worker_channel import (
    BadMessage,
    Channel,
    ChannelClosed,
    WorkerCamera,
    WorkerStart,
    socket_pairs,
)

logger = logging.getLogger(__name__)

SUPERVISE_SECONDS = 0.5
"""How often the supervisor looks at every worker."""
QUICK_CRASH_SECONDS = 30.0
"""A worker that dies this soon after its start backs off before the next one."""
BACKOFF_INITIAL_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 60.0
STOP_SECONDS = 40.0
"""How long a stop waits for a worker to close its runs (its own limit is 30 s)."""


@dataclass
class RemoteCameraRuntime:
    """The server's objects for one camera a worker owns."""

    site: SiteSettings
    camera: CameraSettings
    index: int
    hub: RemoteHub
    reader: RemoteCamera
    recorder: RemoteRecorder | None


@dataclass(frozen=True)
class WorkerStatus:
    """One worker for the metrics."""

    number: int
    running: bool
    cameras: int
    restarts: int
    resident_bytes: int


@dataclass
class _Request:
    done: threading.Event = field(default_factory=threading.Event)
    reply: Reply | None = None


class WorkerSlot:
    """One worker's place: its cameras and the process now running them (`WorkerLink` for
    their hubs and recorders)."""

    def __init__(self, number: int, cameras: list[str]) -> None:
        self.number = number
        self.cameras = cameras
        self.process: subprocess.Popen[bytes] | None = None
        self.channel: Channel | None = None
        self.started_mono = 0.0
        self.started_wall_us = 0
        self.last_beat_mono = 0.0
        self.readers: list[threading.Thread] = []
        self.backoff_seconds = 0.0
        self.restart_at: float | None = None
        self.suspects: set[str] = set()
        """Cameras that were connecting when its previous process crashed."""
        self.restarts = 0
        """Processes of this slot that ended without being asked to."""
        self._requests: dict[int, _Request] = {}
        self._request_ids = itertools.count(1)
        self._lock = threading.Lock()

    # -- WorkerLink -------------------------------------------------------------------------------

    def send(self, kind: str, **fields: object) -> None:
        channel = self.channel
        if channel is None:
            return
        with contextlib.suppress(ChannelClosed):
            channel.send(kind, **fields)

    def request(self, camera: int, *, keyframe_only: bool, timeout: float) -> Reply | None:
        request = _Request()
        with self._lock:
            number = next(self._request_ids)
            self._requests[number] = request
        try:
            self.send("recent", c=camera, id=number, keyframe=keyframe_only)
            request.done.wait(timeout)
            return request.reply
        finally:
            with self._lock:
                self._requests.pop(number, None)

    def answered(self, number: int, reply: Reply) -> None:
        with self._lock:
            request = self._requests.get(number)
        if request is not None:
            request.reply = reply
            request.done.set()

    def fail_requests(self) -> None:
        with self._lock:
            pending = list(self._requests.values())
        for request in pending:
            request.done.set()


class WorkerPool:
    """Starts, feeds, supervises and stops the recorder worker processes."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        clock: Clock,
        *,
        listener: RecordingListener,
        submit: Callable[[Callable[[Session], None]], object],
        flush: Callable[[float], bool],
        on_state: Callable[[StateChange], None],
        on_write_error: Callable[[str, RunEndReason, str], None] | None,
        storage_lock_fd: int | None = None,
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._clock = clock
        self._listener = listener
        self._submit = submit
        self._flush = flush
        self._on_state = on_state
        self._on_write_error = on_write_error
        self._inherited = () if storage_lock_fd is None else (storage_lock_fd,)
        self.cameras: dict[str, RemoteCameraRuntime] = {}
        self._by_index: dict[int, RemoteCameraRuntime] = {}
        self.slots: list[WorkerSlot] = []
        self._slot_of: dict[str, WorkerSlot] = {}
        self._disabled: set[str] = set()
        self._stop = threading.Event()
        self._supervisor = threading.Thread(target=self._supervise, name="workers", daemon=True)
        self._lock = threading.Lock()

    # -- start and stop ---------------------------------------------------------------------------

    def build(self, flags: dict[str, tuple[bool, bool]]) -> None:
        """Make every camera's server-side objects and deal the cameras to the workers
        (``flags``: per camera, paused and disabled by an operator)."""
        count = self._settings.recorder.worker_count()
        gop = self._settings.ingest.gop_cache_max_packets
        now = self._clock.wall_us()
        for index, (site, camera) in enumerate(self._settings.cameras()):
            paused, disabled = flags.get(camera.id, (False, False))
            link = _CameraLink(self, camera.id)
            recorder = None
            if camera.enabled and camera.record:
                recorder = RemoteRecorder(camera.id, index, link, paused=paused)
            runtime = RemoteCameraRuntime(
                site,
                camera,
                index,
                RemoteHub(camera.id, index, link, gop_cache_max_packets=gop),
                RemoteCamera(camera.id, now),
                recorder,
            )
            self.cameras[camera.id] = runtime
            self._by_index[index] = runtime
            if disabled or not camera.enabled:
                self._disabled.add(camera.id)
        self.slots = [WorkerSlot(n, []) for n in range(count)]
        for position, camera_id in enumerate(dealing_order(self._settings)):
            slot = self.slots[position % count]
            slot.cameras.append(camera_id)
            self._slot_of[camera_id] = slot

    def start(self) -> None:
        for slot in self.slots:
            if slot.cameras:
                self._spawn(slot)
        self._supervisor.start()

    def stop(self) -> None:
        """Ask every worker to close its runs and exit; kill those that do not in time (their
        runs are then closed as after a crash)."""
        self._stop.set()
        self._supervisor.join(timeout=10)
        for slot in self.slots:
            slot.send("stop")
        deadline = time.monotonic() + STOP_SECONDS
        for slot in self.slots:
            process = slot.process
            if process is None:
                continue
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.error("worker %d did not stop in time; killed", slot.number)
                process.kill()
                process.wait()
                self._join_readers(slot)
                self._recover(slot, "worker_crashed: did not stop in time")
                continue
            self._join_readers(slot)

    # -- operator controls ------------------------------------------------------------------------

    def set_enabled(self, camera_id: str, enabled: bool) -> None:
        runtime = self.cameras[camera_id]
        if enabled:
            self._disabled.discard(camera_id)
        else:
            self._disabled.add(camera_id)
        self._slot_of[camera_id].send("enable", c=runtime.index, enabled=enabled)

    def enabled(self, camera_id: str) -> bool:
        return camera_id not in self._disabled

    def slot_of(self, camera_id: str) -> WorkerSlot:
        return self._slot_of[camera_id]

    def status(self) -> list[WorkerStatus]:
        """Each worker as the metrics show it (any thread)."""
        with self._lock:
            slots = list(self.slots)
        result = []
        for slot in slots:
            process = slot.process
            running = process is not None and process.poll() is None
            result.append(
                WorkerStatus(
                    slot.number,
                    running,
                    len(slot.cameras),
                    slot.restarts,
                    resident_kb(process.pid) * 1024 if process is not None and running else 0,
                )
            )
        return result

    # -- one process ------------------------------------------------------------------------------

    def _spawn(self, slot: WorkerSlot) -> None:
        """Start the slot's next process, given each camera where the catalog left it."""
        given = []
        with self._sessions() as session:
            for camera_id in slot.cameras:
                runtime = self.cameras[camera_id]
                last = catalog.last_segment(session, camera_id=camera_id)
                given.append(
                    WorkerCamera(
                        id=camera_id,
                        index=runtime.index,
                        last_sha256=last.sha256 if last is not None else None,
                        last_end_us=last.end_us if last is not None else None,
                        paused=runtime.recorder.paused if runtime.recorder else False,
                        disabled=camera_id in self._disabled,
                    )
                )
        (control, control_child), (media, media_child) = socket_pairs()
        start = WorkerStart(worker=slot.number, settings=self._settings, cameras=given)
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "recorder.worker_process",
                str(control_child.fileno()),
                str(media_child.fileno()),
            ],
            stdin=subprocess.PIPE,
            # the storage lock's descriptor too: held until the last worker has exited
            pass_fds=(control_child.fileno(), media_child.fileno(), *self._inherited),
            start_new_session=True,  # the terminal's Ctrl-C reaches the server, which stops us
        )
        control_child.close()
        media_child.close()
        assert process.stdin is not None
        try:
            process.stdin.write(pickle.dumps(start))
            process.stdin.close()
        except OSError:
            logger.error("worker %d died before it was given its cameras", slot.number)
        slot.process = process
        slot.channel = Channel(control)
        slot.started_mono = slot.last_beat_mono = time.monotonic()
        slot.started_wall_us = self._clock.wall_us()
        slot.restart_at = None
        slot.readers = [
            threading.Thread(
                target=self._read_control,
                args=(slot, slot.channel),
                name=f"worker-{slot.number}-control",
                daemon=True,
            ),
            threading.Thread(
                target=self._read_media,
                args=(slot, media),
                name=f"worker-{slot.number}-media",
                daemon=True,
            ),
        ]
        for reader in slot.readers:
            reader.start()
        for camera_id in slot.cameras:
            self.cameras[camera_id].hub.rewatch()
        logger.info(
            "worker %d started (pid %d): %s", slot.number, process.pid, ", ".join(slot.cameras)
        )

    def _read_control(self, slot: WorkerSlot, channel: Channel) -> None:
        """Apply what one worker process says, to its end (the catalog rows are in order)."""
        owned = set(slot.cameras)
        while True:
            try:
                message = channel.receive()
                self._apply(slot, owned, message)
            except ChannelClosed:
                return
            except (BadMessage, KeyError, ValueError, TypeError) as error:
                # a worker that says what it must not is broken: its process is replaced
                logger.error("worker %d sent a bad message (%s); killed", slot.number, error)
                self._kill(slot)
                return

    def _apply(self, slot: WorkerSlot, owned: set[str], message: dict[str, Any]) -> None:
        kind = message["t"]
        if kind == "beat":
            slot.last_beat_mono = time.monotonic()
            for camera_id, report in message["cameras"].items():
                if camera_id not in owned:
                    raise ValueError(f"a beat for camera {camera_id!r} of another worker")
                runtime = self.cameras[camera_id]
                runtime.hub.beat(report)
                runtime.reader.beat(report)
                if runtime.recorder is not None:
                    runtime.recorder.beat(report)
            return
        if kind == "stopped":
            return
        camera_id = str(message["camera"])
        if camera_id not in owned:
            raise ValueError(f"a message about camera {camera_id!r} of another worker")
        runtime = self.cameras[camera_id]
        if kind == "state":
            change = StateChange(
                camera_id,
                CameraState(message["state"]),
                int(message["at_us"]),
                Cause(message["cause"]) if message["cause"] is not None else None,
                str(message["detail"]),
            )
            runtime.reader.changed(change.state, change.cause, change.detail, change.at_us)
            self._on_state(change)
        elif kind == "stream":
            described = message["info"]
            runtime.hub.stream_changed(wire.stream_info(described) if described else None)
        elif kind == "run_started":
            self._listener.run_started(camera_id, str(message["run_id"]), int(message["start_us"]))
        elif kind == "segment":
            finished = _finished_segment(camera_id, message)
            if runtime.recorder is not None:  # before its row can be read
                runtime.recorder.segment_finished(finished.end_us)
            self._listener.segment_finished(finished)
        elif kind == "run_ended":
            if runtime.recorder is not None:
                runtime.recorder.run_ended()
            self._listener.run_ended(
                camera_id,
                str(message["run_id"]),
                int(message["end_us"]),
                RunEndReason(message["reason"]),
                str(message["detail"]),
            )
        elif kind == "write_error":
            reason, detail = RunEndReason(message["reason"]), str(message["detail"])
            if runtime.recorder is not None:
                runtime.recorder.failed(reason, detail, self._clock.wall_us())
            if self._on_write_error is not None:
                self._on_write_error(camera_id, reason, detail)
        else:
            raise ValueError(f"an unknown message {kind!r}")

    def _read_media(self, slot: WorkerSlot, sock: socket.socket) -> None:
        """Feed the watched cameras' hubs and the answers to requests, to the channel's end."""
        reader = wire.FrameReader()
        replies: dict[int, tuple[int, Reply]] = {}  # camera index → (request, answer so far)
        owned = {self.cameras[c].index for c in slot.cameras}
        try:
            while True:
                data = sock.recv(1 << 20)
                if not data:
                    return
                for frame in reader.feed(data):
                    if frame.camera not in owned:
                        raise wire.WireError(f"a frame for camera {frame.camera} of another worker")
                    item = frame.item
                    if isinstance(item, wire.ReplyBegin):
                        replies[frame.camera] = (
                            item.request,
                            Reply(item.info, item.gop_seconds, []),
                        )
                    elif isinstance(item, wire.ReplyEnd):
                        number, reply = replies.pop(frame.camera, (item.request, None))
                        if reply is not None:
                            slot.answered(number, reply)
                    elif frame.reply:
                        if frame.camera in replies and isinstance(item, MediaPacket):
                            replies[frame.camera][1].packets.append(item)
                    else:
                        self._by_index[frame.camera].hub.deliver(item)
        except wire.WireError as error:
            logger.error("worker %d sent a corrupt media frame (%s); killed", slot.number, error)
            self._kill(slot)
        except OSError:
            return
        finally:
            sock.close()

    # -- supervision ------------------------------------------------------------------------------

    def _supervise(self) -> None:
        limit_kb = self._settings.recorder.worker_memory_mb * 1024
        silence = self._settings.recorder.heartbeat_timeout_seconds
        while not self._stop.wait(SUPERVISE_SECONDS):
            for slot in list(self.slots):
                try:
                    self._look_at(slot, limit_kb, silence)
                except Exception:  # supervision must go on for every other worker
                    logger.exception("supervising worker %d failed", slot.number)

    def _look_at(self, slot: WorkerSlot, limit_kb: int, silence: float) -> None:
        process = slot.process
        now = time.monotonic()
        if process is None:
            if slot.restart_at is not None and now >= slot.restart_at and not self._stop.is_set():
                self._spawn(slot)
            return
        code = process.poll()
        if code is not None:
            self._lost(slot, _exit_cause(code))
            return
        if now - slot.last_beat_mono > silence:
            logger.error("worker %d silent for %.0f s; killed", slot.number, silence)
            self._kill(slot)
            self._lost(slot, f"no heartbeat for {silence:g} s")
            return
        resident = resident_kb(process.pid)
        if resident > limit_kb:
            logger.error(
                "worker %d uses %d MB, beyond its limit of %d MB; restarted",
                slot.number,
                resident // 1024,
                limit_kb // 1024,
            )
            self._kill(slot)
            self._lost(slot, "worker_memory_limit")

    def _kill(self, slot: WorkerSlot) -> None:
        process = slot.process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()

    def _lost(self, slot: WorkerSlot, cause: str) -> None:
        """A worker process ended without being asked: apply what it said, end its cameras'
        runs as crashed, adopt their files, and schedule the next process."""
        process = slot.process
        assert process is not None
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait()
        self._join_readers(slot)
        slot.process, slot.channel = None, None
        slot.restarts += 1
        slot.fail_requests()
        quick = time.monotonic() - slot.started_mono < QUICK_CRASH_SECONDS
        slot.backoff_seconds = (
            min(max(slot.backoff_seconds * 2, BACKOFF_INITIAL_SECONDS), BACKOFF_MAX_SECONDS)
            if quick
            else 0.0
        )
        connecting = {
            camera_id
            for camera_id in slot.cameras
            if self.cameras[camera_id].reader.state is CameraState.CONNECTING
            and camera_id not in self._disabled
        }
        detail = f"worker_crashed: {cause}"
        when = "; restarting"
        if slot.backoff_seconds:
            when += f" in {slot.backoff_seconds:g} s"
        logger.error("worker %d (%s) %s%s", slot.number, ", ".join(slot.cameras), detail, when)
        now = self._clock.wall_us()
        for camera_id in slot.cameras:
            runtime = self.cameras[camera_id]
            runtime.hub.worker_lost(detail)
            if runtime.recorder is not None:
                runtime.recorder.failed(RunEndReason.RECORDER_CRASHED, detail + when, now)
            if camera_id not in self._disabled:
                runtime.reader.lost(detail + when, now)
                self._on_state(
                    StateChange(camera_id, CameraState.OFFLINE, now, Cause.WORKER_CRASHED, detail)
                )
        self._recover(slot, detail)
        self._isolate(slot, connecting)
        slot.restart_at = time.monotonic() + slot.backoff_seconds

    def _recover(self, slot: WorkerSlot, detail: str) -> None:
        """Its cameras' runs closed and files adopted, in order after every row it sent."""
        cameras, since = list(slot.cameras), slot.started_wall_us
        root = self._settings.storage.path
        now = self._clock.wall_us()

        def recover(session: Session) -> None:
            recover_cameras(session, root, cameras, since_us=since, now_us=now, detail=detail)

        self._submit(recover)
        while not self._flush(30.0) and not self._stop.is_set():
            logger.error("worker %d: waiting for the catalog to recover its cameras", slot.number)

    def _isolate(self, slot: WorkerSlot, connecting: set[str]) -> None:
        """A camera connecting at this crash and the one before moves to a slot of its own."""
        culprits = connecting & slot.suspects
        slot.suspects = connecting
        if not culprits or len(slot.cameras) == 1:
            return
        for camera_id in sorted(culprits):
            if len(slot.cameras) == 1:
                break
            slot.cameras.remove(camera_id)
            alone = WorkerSlot(len(self.slots), [camera_id])
            alone.backoff_seconds = slot.backoff_seconds
            alone.restart_at = time.monotonic() + slot.backoff_seconds
            with self._lock:
                self.slots.append(alone)
            self._slot_of[camera_id] = alone
            logger.error(
                "camera %s was connecting at two crashes of worker %d in a row: it gets a "
                "worker of its own (%d)",
                camera_id,
                slot.number,
                alone.number,
            )
        slot.backoff_seconds = 0.0  # its other cameras need not wait for the culprit's

    def _join_readers(self, slot: WorkerSlot) -> None:
        for reader in slot.readers:
            reader.join(timeout=30)
        slot.readers = []


class _CameraLink:
    """A camera's link to whichever slot owns it now (a camera may move to a slot of its own)."""

    def __init__(self, pool: WorkerPool, camera_id: str) -> None:
        self._pool = pool
        self._camera_id = camera_id

    def send(self, kind: str, **fields: object) -> None:
        self._pool.slot_of(self._camera_id).send(kind, **fields)

    def request(self, camera: int, *, keyframe_only: bool, timeout: float) -> Reply | None:
        slot = self._pool.slot_of(self._camera_id)
        return slot.request(camera, keyframe_only=keyframe_only, timeout=timeout)


def dealing_order(settings: Settings) -> list[str]:
    """The cameras in the order they are dealt to the workers, round robin: station by
    station, interrogation rooms first, so one station's interrogation rooms land on different
    workers (as far as there are workers)."""
    order: list[str] = []
    for site in settings.sites:
        ranked = sorted(site.cameras, key=lambda camera: camera.area is not Area.INTERROGATION)
        order.extend(camera.id for camera in ranked)
    return order


def _finished_segment(camera_id: str, message: dict[str, Any]) -> FinishedSegment:
    audio_codec = message["audio_codec"]
    previous = message["prev_sha256"]
    return FinishedSegment(
        camera_id=camera_id,
        run_id=str(message["run_id"]),
        path=str(message["path"]),
        start_us=int(message["start_us"]),
        end_us=int(message["end_us"]),
        prev_sha256=str(previous) if previous is not None else None,
        written=WrittenSegment(
            size_bytes=int(message["size_bytes"]),
            sha256=str(message["sha256"]),
            video_packets=int(message["video_packets"]),
            audio_packets=int(message["audio_packets"]),
        ),
        video_codec=str(message["video_codec"]),
        width=int(message["width"]),
        height=int(message["height"]),
        audio_codec=str(audio_codec) if audio_codec is not None else None,
    )


def _exit_cause(code: int) -> str:
    """How a process ended, as an operator reads it: ``SIGSEGV``, ``exit status 1``."""
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"exit status {code}"


def resident_kb(pid: int) -> int:
    """A process's resident memory (kB), from /proc (0 when it cannot be read)."""
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_bytes().split()[1])
    except (OSError, ValueError, IndexError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024
