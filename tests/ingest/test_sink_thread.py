"""A sink on its own thread: the camera thread never waits for it, order is kept, and a sink
that falls too far behind is told at once, loses packets (never stream events) and hears where."""

from __future__ import annotations

import threading
import time
from fractions import Fraction
from types import SimpleNamespace
from typing import Any

from faults import wait_for

from ingest.events import Cause
from ingest.packets import MediaPacket, StreamInfo, StreamKind
from ingest.sink_thread import SinkThread
from ingest.timestamps import Discontinuity

INFO = StreamInfo("cam", 1, object(), None, "h264", 640, 360, None, None, 0)


def packet(n: int, *, size: int = 1_000) -> MediaPacket:
    return MediaPacket(
        packet=SimpleNamespace(size=size, n=n),
        kind=StreamKind.VIDEO,
        keyframe=n % 25 == 0,
        dts_us=n * 40_000,
        pts_us=n * 40_000,
        duration_us=40_000,
        wall_us=n * 40_000,
        epoch=0,
        time_base=Fraction(1, 90_000),
    )


class SlowSink:
    """Records calls; blocks in ``packet`` while ``gate`` is clear (a disk that hangs)."""

    def __init__(self) -> None:
        self.calls: list[Any] = []
        self.gate = threading.Event()
        self.gate.set()

    def stream_started(self, info: StreamInfo) -> None:
        self.calls.append("start")

    def packet(self, p: MediaPacket) -> None:
        self.gate.wait()
        self.calls.append(p.packet.n)

    def discontinuity(self, reason: Discontinuity) -> None:
        self.calls.append(reason)

    def stream_ended(self, cause: Cause, detail: str) -> None:
        self.calls.append(cause)


def test_everything_reaches_the_sink_in_order_and_close_drains_it() -> None:
    sink = SlowSink()
    thread = SinkThread(sink, "t", max_seconds=5, max_bytes=10**9, on_overrun=print)
    thread.stream_started(INFO)
    for n in range(100):
        thread.packet(packet(n))
    thread.stream_ended(Cause.STOPPED, "")
    assert thread.close(timeout=5)
    assert sink.calls == ["start", *range(100), Cause.STOPPED]
    thread.packet(packet(100))  # after close: ignored, never raises
    assert sink.calls[-1] is Cause.STOPPED


def test_a_sink_stuck_on_the_disk_does_not_hold_up_the_camera_thread() -> None:
    sink = SlowSink()
    sink.gate.clear()
    thread = SinkThread(sink, "t", max_seconds=30, max_bytes=10**9, on_overrun=print)
    started = time.monotonic()
    for n in range(500):
        thread.packet(packet(n))
    assert time.monotonic() - started < 0.5  # the camera thread went on at once
    sink.gate.set()
    assert thread.drain(timeout=5)
    assert sink.calls == list(range(500))
    thread.close(timeout=5)


def test_overrun_is_reported_at_once_then_packets_drop_until_the_sink_catches_up() -> None:
    sink = SlowSink()
    overruns: list[str] = []
    thread = SinkThread(sink, "t", max_seconds=0.3, max_bytes=10**9, on_overrun=overruns.append)
    thread.stream_started(INFO)
    thread.packet(packet(0))
    wait_for(lambda: sink.calls == ["start", 0], timeout=2)
    sink.gate.clear()  # the disk hangs while packet 1 is written
    thread.packet(packet(1))
    wait_for(lambda: thread.lag_seconds() > 0.35, timeout=2)
    thread.packet(packet(2))  # over the bound: dropped, and the sink is told
    assert len(overruns) == 1 and "storage too slow" in overruns[0]
    thread.packet(packet(3))
    assert thread.dropped_packets == 2
    threading.Timer(0.3, sink.gate.set).start()  # the disk answers again
    # stream events are never dropped; the end waits until the sink has handled what came
    # before it (the camera closes the connection those packets belong to next)
    thread.stream_ended(Cause.STALLED, "")
    assert sink.calls[-1] is Cause.STALLED
    thread.stream_started(INFO)
    assert thread.drain(timeout=5)
    thread.packet(packet(4))  # caught up: packets flow again
    assert thread.close(timeout=5)
    assert sink.calls == [
        "start", 0, 1, Discontinuity.PACKETS_DROPPED, Cause.STALLED, "start", 4,
    ]  # fmt: skip
    assert len(overruns) == 1


def test_the_byte_bound_holds_when_time_does_not_tell() -> None:
    sink = SlowSink()
    sink.gate.clear()
    overruns: list[str] = []
    thread = SinkThread(sink, "t", max_seconds=60, max_bytes=10_000, on_overrun=overruns.append)
    for n in range(20):
        thread.packet(packet(n, size=1_000))
    assert thread.dropped_packets == 10 and len(overruns) == 1
    sink.gate.set()
    assert thread.close(timeout=5)
    assert sink.calls == [*range(10), Discontinuity.PACKETS_DROPPED]
