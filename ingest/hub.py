"""Per-camera fan-out of packets, keeping the current GOP.

Two kinds of consumer:

* **Sinks** (the recorder) are called synchronously on the camera thread, in packet order. A sink
  must be fast and must not raise; an exception is logged and the sink is detached, so one broken
  consumer never stops ingest or the others.
* **Subscriptions** (live viewers) are bounded queues read on the asyncio event loop. The camera
  thread never waits for them: when a subscription is full it is emptied and skips packets until
  the next video keyframe (a slow consumer loses its own data and resynchronises at an IDR).

The hub keeps the packets from the last video keyframe on (the GOP cache), so a new subscriber can
start decoding at once instead of waiting up to a GOP for the next keyframe; a patrol's checks
decode the same cache (no second connection to the camera).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
from dataclasses import dataclass
from typing import Protocol

from ingest.events import Cause
from ingest.packets import MediaPacket, StreamInfo
from ingest.timestamps import Discontinuity

logger = logging.getLogger(__name__)


class PacketSink(Protocol):
    """A synchronous consumer. Every method is called on the camera thread."""

    def stream_started(self, info: StreamInfo) -> None: ...

    def packet(self, packet: MediaPacket) -> None: ...

    def discontinuity(self, reason: Discontinuity) -> None:
        """Times before and after the next packet do not join (it starts a new epoch)."""
        ...

    def stream_ended(self, cause: Cause, detail: str) -> None: ...


@dataclass(frozen=True, slots=True)
class StreamStarted:
    """Queued to subscribers when a connection delivers its streams."""

    info: StreamInfo


@dataclass(frozen=True, slots=True)
class StreamEnded:
    """Queued to subscribers when a connection ends."""

    cause: Cause
    detail: str


@dataclass(frozen=True, slots=True)
class GopReplayed:
    """Queued to a new subscriber right after the cached GOP: what follows is live.

    Live viewers play the replayed packets as fast as they can decode them (to show a picture at
    once) and the live ones at the camera's pace; this marker is where one becomes the other.
    """

    packets: int
    """How many video packets were replayed."""


HubItem = MediaPacket | StreamStarted | StreamEnded | GopReplayed


@dataclass(frozen=True)
class RecentMedia:
    """What a camera sent lately, for the patrol's checks (see `Hub.recent_media`)."""

    info: StreamInfo
    gop: list[MediaPacket]
    """From the last video keyframe on, in arrival order (audio packets included)."""
    gop_seconds: float | None = None
    """How long the camera's last complete GOP was (keyframe to keyframe): when the current one
    will likely end. None before two keyframes of one stream were seen."""


class SubscriptionClosed(Exception):
    """Raised by ``Subscription.get`` after ``close``."""


class Subscription:
    """A bounded queue of the camera's video from the camera thread to one consumer on the event
    loop (a viewer's video track). Audio packets are not queued: a viewer's audio comes from the
    camera's one shared audio relay (a sink), and each of them here would wake the event loop
    for a track that only drops it — about 46 times a second per viewer for AAC."""

    def __init__(self, hub: Hub, loop: asyncio.AbstractEventLoop, max_items: int) -> None:
        self._hub = hub
        self._loop = loop
        self._max_items = max_items
        self._items: collections.deque[HubItem] = collections.deque()
        self._lock = threading.Lock()
        self._ready = asyncio.Event()
        self._waiting_for_keyframe = False
        self._closed = False
        self.overflows = 0

    def offer(self, item: HubItem) -> None:
        """Camera thread: queue an item without ever blocking."""
        with self._lock:
            if self._closed:
                return
            if isinstance(item, MediaPacket):
                if not item.is_video:
                    return
                if self._waiting_for_keyframe:
                    if not item.keyframe:
                        return
                    self._waiting_for_keyframe = False
                if len(self._items) >= self._max_items:
                    self._items.clear()
                    self.overflows += 1
                    if not item.keyframe:
                        self._waiting_for_keyframe = True
                        return
            was_empty = not self._items
            self._items.append(item)
        if was_empty:
            self._loop.call_soon_threadsafe(self._ready.set)

    async def get(self) -> HubItem:
        """Event loop: the next item, waiting if there is none."""
        while True:
            self._ready.clear()
            with self._lock:
                if self._closed:
                    raise SubscriptionClosed
                if self._items:
                    return self._items.popleft()
            await self._ready.wait()

    def pending(self) -> int:
        with self._lock:
            return len(self._items)

    def close(self) -> None:
        """Stop receiving; safe from any thread, idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._items.clear()
        self._hub.unsubscribe(self)
        self._loop.call_soon_threadsafe(self._ready.set)


class Hub:
    """Fans one camera's packets out to sinks and subscriptions."""

    def __init__(self, camera_id: str, *, gop_cache_max_packets: int = 1500) -> None:
        self.camera_id = camera_id
        self._gop_max = gop_cache_max_packets
        self._lock = threading.Lock()
        self._sinks: list[PacketSink] = []
        self._subscriptions: list[Subscription] = []
        self._info: StreamInfo | None = None
        self._gop: list[MediaPacket] = []
        self._gop_complete = False
        self._latest_keyframe: MediaPacket | None = None
        self._gop_us: int | None = None

    # -- consumers ------------------------------------------------------------------------------

    def add_sink(self, sink: PacketSink, *, replay: bool = False) -> None:
        """Attach a synchronous consumer (before the camera starts, or between connections).

        With ``replay`` a consumer attached mid-stream is first handed the current stream and its
        cached GOP, then every packet after them: nothing falls between, because the replay runs
        under the hub's lock (so such a consumer must only queue what it is given)."""
        with self._lock:
            self._sinks = [*self._sinks, sink]
            if replay and self._info is not None:
                sink.stream_started(self._info)
                if self._gop_complete:
                    for packet in self._gop:
                        sink.packet(packet)

    def subscribe(self, loop: asyncio.AbstractEventLoop, *, max_items: int = 400) -> Subscription:
        """Event loop: a new subscription, primed with the stream info and the cached GOP."""
        subscription = Subscription(self, loop, max_items)
        self._add_subscription(subscription, primed=True)
        return subscription

    def _add_subscription(self, subscription: Subscription, *, primed: bool) -> None:
        """Attach a subscription; ``primed``: hand it the stream, the cached GOP and the
        `GopReplayed` marker now (else it starts at the next keyframe, and whoever feeds this
        hub says when its replay is through)."""
        with self._lock:
            if not primed:
                subscription._waiting_for_keyframe = True
                self._subscriptions = [*self._subscriptions, subscription]
                return
            replayed = 0
            if self._info is not None:
                subscription.offer(StreamStarted(self._info))
                if self._gop_complete:
                    for item in self._gop:
                        subscription.offer(item)
                    replayed = sum(1 for item in self._gop if item.is_video)
                else:
                    subscription._waiting_for_keyframe = True
            else:
                subscription._waiting_for_keyframe = True
            subscription.offer(GopReplayed(replayed))
            self._subscriptions = [*self._subscriptions, subscription]

    def remove_sink(self, sink: PacketSink) -> None:
        """Detach a synchronous consumer (any thread); it gets no further calls once this returns
        on the camera thread, or after at most the packet being delivered elsewhere."""
        self._detach(sink)

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscriptions = [s for s in self._subscriptions if s is not subscription]

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscriptions)

    # -- state for readers on other threads -------------------------------------------------------

    @property
    def stream_info(self) -> StreamInfo | None:
        return self._info

    def has_picture(self) -> bool:
        """Whether a keyframe of the current stream is at hand (cheap: no packets handed out)."""
        return self._info is not None and self._latest_keyframe is not None

    def latest_keyframe(self) -> tuple[StreamInfo, MediaPacket] | None:
        """The stream info and the last video keyframe, for snapshots."""
        with self._lock:
            if self._info is None or self._latest_keyframe is None:
                return None
            return self._info, self._latest_keyframe

    def recent_media(self) -> RecentMedia | None:
        """For the patrol's checks: the stream and its current GOP (the last keyframe and every
        packet since). References only: packets are never written after they are published."""
        with self._lock:
            if self._info is None or self._latest_keyframe is None:
                return None
            gop = list(self._gop) if self._gop_complete else [self._latest_keyframe]
            seconds = self._gop_us / 1_000_000 if self._gop_us is not None else None
            return RecentMedia(self._info, gop, seconds)

    # -- producer (camera thread) ------------------------------------------------------------------

    def stream_started(self, info: StreamInfo) -> None:
        with self._lock:
            self._info = info
            self._gop = []
            self._gop_complete = False
            self._latest_keyframe = None
            self._gop_us = None
            sinks = list(self._sinks)
            subscriptions = list(self._subscriptions)
        for sink in sinks:
            self._call(sink, "stream_started", info)
        item = StreamStarted(info)
        for subscription in subscriptions:
            subscription.offer(item)

    def publish(self, packet: MediaPacket) -> None:
        with self._lock:
            if packet.is_video and packet.keyframe:
                previous = self._latest_keyframe if self._gop_complete else None
                if previous is not None and previous.epoch == packet.epoch:
                    self._gop_us = packet.pts_us - previous.pts_us or self._gop_us
                self._gop = [packet]
                self._gop_complete = True
                self._latest_keyframe = packet
            elif self._gop_complete:
                if len(self._gop) < self._gop_max:
                    self._gop.append(packet)
                else:
                    self._gop_complete = False
                    self._gop = []
            sinks = self._sinks  # copy-on-write lists: safe to iterate outside the lock
            subscriptions = self._subscriptions
        for sink in sinks:
            try:
                sink.packet(packet)
            except Exception:
                logger.exception("[%s] packet consumer %r failed; detached", self.camera_id, sink)
                self._detach(sink)
        for subscription in subscriptions:
            subscription.offer(packet)

    def discontinuity(self, reason: Discontinuity) -> None:
        with self._lock:
            self._gop = []
            self._gop_complete = False
            sinks = list(self._sinks)
        for sink in sinks:
            self._call(sink, "discontinuity", reason)

    def stream_ended(self, cause: Cause, detail: str) -> None:
        with self._lock:
            self._info = None
            self._gop = []
            self._gop_complete = False
            sinks = list(self._sinks)
            subscriptions = list(self._subscriptions)
        for sink in sinks:
            self._call(sink, "stream_ended", cause, detail)
        item = StreamEnded(cause, detail)
        for subscription in subscriptions:
            subscription.offer(item)

    def _call(self, sink: PacketSink, method: str, *args: object) -> None:
        try:
            getattr(sink, method)(*args)
        except Exception:
            logger.exception(
                "[%s] consumer %r failed in %s; detached", self.camera_id, sink, method
            )
            self._detach(sink)

    def _detach(self, sink: PacketSink) -> None:
        with self._lock:
            self._sinks = [s for s in self._sinks if s is not sink]
