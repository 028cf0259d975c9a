"""Hub fan-out: sinks in order, bounded subscriptions, GOP replay, broken consumers detached."""

from __future__ import annotations

import asyncio
from fractions import Fraction
from typing import Any

from ingest.events import Cause
from ingest.hub import GopReplayed, Hub, StreamEnded, StreamStarted
from ingest.packets import MediaPacket, StreamInfo, StreamKind
from ingest.timestamps import Discontinuity

INFO = StreamInfo("cam", 1, object(), None, "h264", 640, 360, None, None, 0)


def packet(n: int, *, key: bool = False, video: bool = True) -> MediaPacket:
    return MediaPacket(
        packet=n,
        kind=StreamKind.VIDEO if video else StreamKind.AUDIO,
        keyframe=key,
        dts_us=n * 40_000,
        pts_us=n * 40_000,
        duration_us=40_000,
        wall_us=n * 40_000,
        epoch=0,
        time_base=Fraction(1, 90_000),
    )


class Recording:
    def __init__(self) -> None:
        self.calls: list[Any] = []

    def stream_started(self, info: StreamInfo) -> None:
        self.calls.append("start")

    def packet(self, p: MediaPacket) -> None:
        self.calls.append(p.packet)

    def discontinuity(self, reason: Discontinuity) -> None:
        self.calls.append(reason)

    def stream_ended(self, cause: Cause, detail: str) -> None:
        self.calls.append(cause)


class Broken(Recording):
    def packet(self, p: MediaPacket) -> None:
        raise RuntimeError("boom")


def test_sinks_get_everything_in_order_and_a_broken_sink_is_detached() -> None:
    hub = Hub("cam")
    good, broken = Recording(), Broken()
    hub.add_sink(broken)
    hub.add_sink(good)
    hub.stream_started(INFO)
    for n in range(3):
        hub.publish(packet(n, key=n == 0))
    hub.discontinuity(Discontinuity.CLOCK_DRIFT)
    hub.stream_ended(Cause.STREAM_ENDED, "")
    assert good.calls == ["start", 0, 1, 2, Discontinuity.CLOCK_DRIFT, Cause.STREAM_ENDED]
    assert broken.calls == ["start"]


def test_new_subscriber_starts_from_cached_gop() -> None:
    async def scenario() -> list[Any]:
        hub = Hub("cam")
        hub.stream_started(INFO)
        for n in range(5):
            hub.publish(packet(n, key=n in (0, 3)))
        subscription = hub.subscribe(asyncio.get_running_loop())
        hub.publish(packet(5))
        items = [await subscription.get() for _ in range(5)]
        subscription.close()
        return items

    items = asyncio.run(scenario())
    assert isinstance(items[0], StreamStarted)
    assert [item.packet for item in items[1:3]] == [3, 4]
    assert items[3] == GopReplayed(2)  # the replayed GOP ends here; live packets follow
    assert items[4].packet == 5


def test_a_subscriber_gets_the_video_and_sinks_get_everything() -> None:
    """A viewer's video track is not woken for the camera's audio (the audio relay, a sink,
    takes it), neither in the replayed GOP nor live."""

    async def scenario() -> tuple[list[Any], list[Any]]:
        hub = Hub("cam")
        sink = Recording()
        hub.add_sink(sink)
        hub.stream_started(INFO)
        hub.publish(packet(0, key=True))
        hub.publish(packet(100, video=False))
        subscription = hub.subscribe(asyncio.get_running_loop())
        for n in (101, 102):
            hub.publish(packet(n, video=False))
        hub.publish(packet(1))
        got = [await subscription.get() for _ in range(4)]
        assert not subscription.pending()
        subscription.close()
        return got, sink.calls

    got, sink_calls = asyncio.run(scenario())
    assert isinstance(got[0], StreamStarted) and got[2] == GopReplayed(1)
    assert [item.packet for item in (got[1], got[3])] == [0, 1]
    assert sink_calls == ["start", 0, 100, 101, 102, 1]


def test_slow_subscriber_overflows_alone_and_resyncs_at_keyframe() -> None:
    async def scenario() -> tuple[list[Any], int, list[Any]]:
        hub = Hub("cam")
        sink = Recording()
        hub.add_sink(sink)
        hub.stream_started(INFO)
        hub.publish(packet(0, key=True))
        slow = hub.subscribe(asyncio.get_running_loop(), max_items=6)
        for n in range(1, 20):
            hub.publish(packet(n, key=n == 15))
        hub.stream_ended(Cause.STALLED, "x")
        got = []
        while slow.pending():
            got.append(await slow.get())
        return got, slow.overflows, sink.calls

    got, overflows, sink_calls = asyncio.run(scenario())
    assert overflows >= 1
    packets = [item.packet for item in got if isinstance(item, MediaPacket)]
    assert packets[0] == 15 and packets == list(range(15, 20))
    assert isinstance(got[-1], StreamEnded)
    assert sink_calls[1:-1] == list(range(20))  # the sink lost nothing
