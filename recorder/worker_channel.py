"""The control channel between the server and a recorder worker process.

Two channels join them (recorder/DESIGN.md, "Worker processes"): the *media* channel carries a
watched camera's packets in `ingest.wire` frames; this *control* channel carries everything
else, as one JSON object per message over a Unix ``SOCK_SEQPACKET`` socket pair (the kernel
keeps message boundaries, so there is no framing to get wrong):

worker → server
    ``beat``        every second: per camera, its counters, clock offset and recording state
                    (the server's heartbeat and its view of the worker's cameras)
    ``state``       a camera's state change (connecting, live, offline …)
    ``stream``      a camera's stream began (its description) or ended (``info`` null)
    ``run_started`` / ``segment`` / ``run_ended``   what a recorder tells its listener: the
                    server's one catalog writer applies them in order
    ``write_error`` a recorder hit a disk fault (the server frees space and raises the alarm)
    ``stopped``     the worker stopped on request, every run closed

server → worker
    ``watch`` / ``unwatch``  start or stop sending a camera's packets on the media channel
    ``recent``      send a camera's recent media (its GOP, or only its keyframe) as a reply
    ``pause``       pause or resume a camera's recording
    ``enable``      start or stop reading a camera
    ``cut``         end a camera's segment at the next keyframe
    ``stop``        stop every camera, close every run, then exit

The worker's start (its settings and cameras) is written to its standard input once, before
either channel is used: it can be larger than one message, and it is the only message that
needs Python objects (the settings); everything the worker sends is plain JSON, so a worker
that was taken over by a malicious stream cannot make the server run code by what it sends.
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass
from typing import Any

from configs.schema import Settings

MAX_MESSAGE = 256 * 1024
"""The largest control message read (a beat of 128 cameras is about 20 kB)."""


class ChannelClosed(Exception):
    """The other side is gone (its end of the socket pair was closed)."""


class BadMessage(Exception):
    """A message that does not read as one of this channel's (the sender is broken)."""


@dataclass(frozen=True)
class WorkerCamera:
    """One camera as a worker is given it: where the catalog left it."""

    id: str
    index: int
    last_sha256: str | None
    last_end_us: int | None
    paused: bool
    disabled: bool


@dataclass(frozen=True)
class WorkerStart:
    """What a worker is started with (pickled onto its standard input by the server)."""

    worker: int
    settings: Settings
    cameras: list[WorkerCamera]


class Channel:
    """One end of the control socket pair: whole messages, sent from any thread."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._lock = threading.Lock()

    def send(self, kind: str, **fields: Any) -> None:
        """Send one message; raises `ChannelClosed` when the other side is gone."""
        data = json.dumps({"t": kind, **fields}, separators=(",", ":")).encode()
        try:
            with self._lock:
                self._sock.send(data)
        except OSError as error:
            raise ChannelClosed(str(error)) from None

    def receive(self) -> dict[str, Any]:
        """The next message (blocking); raises `ChannelClosed` at the end, `BadMessage` for a
        message that is not a JSON object with a kind."""
        try:
            data = self._sock.recv(MAX_MESSAGE)
        except OSError as error:
            raise ChannelClosed(str(error)) from None
        if not data:
            raise ChannelClosed("the other side closed the channel")
        try:
            message = json.loads(data)
        except ValueError as error:
            raise BadMessage(f"not JSON: {error}") from None
        if not isinstance(message, dict) or not isinstance(message.get("t"), str):
            raise BadMessage("not a message")
        return message

    def close(self) -> None:
        self._sock.close()


SocketPair = tuple[socket.socket, socket.socket]


def socket_pairs() -> tuple[SocketPair, SocketPair]:
    """(control, media) socket pairs, each (server end, worker end)."""
    control = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    media = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    return control, media
