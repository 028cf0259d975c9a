"""A sink on its own thread behind a bounded backlog.

The recorder waits for the disk (an fsync on a slow or failing volume can take seconds); if it
ran on the camera thread, that wait would freeze the camera's live viewers and its other
consumers. ``SinkThread`` runs a sink on a thread of its own: the camera thread only appends to a
deque (no lock, no wake-up per packet) and the sink's thread takes what has queued every
``poll_seconds``. At the end of a stream the camera thread waits until the sink has handled
everything queued before it closes the connection the packets came from.

Backlog policy (bounded): at most ``max_seconds`` behind (the age of the oldest item not yet
handled) and ``max_bytes`` of packets. When either bound is reached the sink is told at once,
on the camera thread (``on_overrun(detail)``), and a ``Discontinuity.PACKETS_DROPPED`` is queued
right after the last packet it will get; packets are then dropped (stream events never are)
until the backlog is below half of both bounds. The sink thus ends what it was doing at the last
packet it has and starts again with whatever follows the loss.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable

from ingest.events import Cause
from ingest.hub import PacketSink
from ingest.packets import MediaPacket, StreamInfo
from ingest.timestamps import Discontinuity

logger = logging.getLogger(__name__)

_Item = tuple[float, str, tuple[object, ...]]
"""(time queued on the monotonic clock, sink method, its arguments)."""


class SinkThread:
    """A ``PacketSink`` that hands everything, in order, to ``sink`` on a thread of its own."""

    def __init__(
        self,
        sink: PacketSink,
        name: str,
        *,
        max_seconds: float,
        max_bytes: int,
        on_overrun: Callable[[str], None],
        poll_seconds: float = 0.05,
    ) -> None:
        self._sink = sink
        self._max_seconds = max_seconds
        self._max_bytes = max_bytes
        self._on_overrun = on_overrun
        self._poll = poll_seconds
        self._items: collections.deque[_Item] = collections.deque()
        self._queued_bytes = 0  # written by the camera thread only
        self._handled_bytes = 0  # written by the sink's thread only
        self._oldest_pending: float | None = None  # sink's thread: queue time of the item at hand
        self._dropping = False
        self.dropped_packets = 0
        self._closed = False
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # -- PacketSink (camera thread) ----------------------------------------------------------------

    def stream_started(self, info: StreamInfo) -> None:
        self._put("stream_started", info)

    def packet(self, packet: MediaPacket) -> None:
        lag = self.lag_seconds()
        pending = self._queued_bytes - self._handled_bytes
        if self._dropping:
            if lag >= self._max_seconds / 2 or pending >= self._max_bytes // 2:
                self.dropped_packets += 1
                return
            self._dropping = False
            logger.warning(
                "%s: caught up; %d packets dropped so far", self._thread.name, self.dropped_packets
            )
        elif lag >= self._max_seconds or pending >= self._max_bytes:
            self._dropping = True
            self.dropped_packets += 1
            detail = (
                f"storage too slow: the recorder is {lag:.1f} s and {pending / 1e6:.1f} MB behind"
                " the camera; packets are being dropped"
            )
            logger.error("%s: %s", self._thread.name, detail)
            self._on_overrun(detail)  # before the marker: the sink hears of it first
            self._put("discontinuity", Discontinuity.PACKETS_DROPPED)
            return
        self._queued_bytes += packet.size
        self._put("packet", packet)

    def discontinuity(self, reason: Discontinuity) -> None:
        self._put("discontinuity", reason)

    def stream_ended(self, cause: Cause, detail: str) -> None:
        """Queue the end, then wait until the sink has handled everything before it: the camera
        thread closes its container next, and the packets still queued belong to it (muxing a
        packet of a closed container reads freed memory)."""
        self._put("stream_ended", cause, detail)
        if not self._closed and not self.drain(timeout=self._max_seconds + 10):
            logger.error(
                "%s: the sink did not catch up within %.0f s of the stream's end",
                self._thread.name,
                self._max_seconds + 10,
            )

    # -- control (any thread) ----------------------------------------------------------------------

    def lag_seconds(self) -> float:
        """How long the oldest item not yet handled has been waiting."""
        oldest = self._oldest_pending
        return 0.0 if oldest is None else time.monotonic() - oldest

    def drain(self, timeout: float) -> bool:
        """Wait until everything queued so far has been handled; False on timeout."""
        self._idle.clear()
        self._wake.set()
        return self._idle.wait(timeout)

    def close(self, timeout: float) -> bool:
        """Handle what is queued, then stop the thread; later calls are ignored. False when the
        sink did not finish within ``timeout`` (its thread is left to finish on its own)."""
        self._closed = True
        self._wake.set()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # -- the sink's thread -------------------------------------------------------------------------

    def _put(self, method: str, *args: object) -> None:
        if not self._closed:
            self._items.append((time.monotonic(), method, args))

    def _run(self) -> None:
        while True:
            closing = self._closed
            while self._items:
                queued_at, method, args = self._items.popleft()
                self._oldest_pending = queued_at
                try:
                    getattr(self._sink, method)(*args)
                except Exception:  # the sink's own failure handling failed: keep the thread
                    logger.exception("%s: %s failed", self._thread.name, method)
                if method == "packet":
                    packet = args[0]
                    assert isinstance(packet, MediaPacket)
                    self._handled_bytes += packet.size
            self._oldest_pending = None
            self._idle.set()
            if closing:
                return
            self._wake.wait(self._poll)
            self._wake.clear()
