"""The live event stream: camera states, recording on/off, alarms, wall-screen pushes.

Every event is a ``kind`` (the SSE event name) and a JSON object. The bus lives on the event loop;
``publish`` fans out to every connected client, and a slow client loses its oldest events rather
than holding memory or the others back.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from ingest.clock import isoformat_us
from ingest.events import StateChange
from ingest.redact import hide_addresses


@dataclass(frozen=True, slots=True)
class Event:
    """One event: ``kind`` is ``camera``, ``recording``, ``alarm``, ``session``, ``screen`` or
    ``approval``."""

    kind: str
    data: dict[str, Any]

    def json(self) -> str:
        return json.dumps(self.data, ensure_ascii=False)


def camera_event(change: StateChange) -> Event:
    """A camera state change as an event."""
    return Event(
        "camera",
        {
            "camera_id": change.camera_id,
            "state": change.state.value,
            "at_us": change.at_us,
            "at": isoformat_us(change.at_us),
            "cause": change.cause.value if change.cause else None,
            "detail": hide_addresses(change.detail),
        },
    )


class EventBus:
    """Event loop only: ``publish`` fans out; a slow client loses its oldest events."""

    def __init__(self, *, per_client: int = 1000) -> None:
        self._clients: set[asyncio.Queue[Event]] = set()
        self._per_client = per_client

    @property
    def clients(self) -> int:
        return len(self._clients)

    def publish(self, event: Event) -> None:
        for queue in self._clients:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)

    def listen(self) -> Listener:
        """A queue of the events from now on, for one client; ``close`` it when done."""
        listener = Listener(self._clients, self._per_client)
        self._clients.add(listener.queue)
        return listener


class Listener:
    """One client's events; registered on creation, so nothing published after it is missed."""

    def __init__(self, clients: set[asyncio.Queue[Event]], size: int) -> None:
        self._clients = clients
        self.queue: asyncio.Queue[Event] = asyncio.Queue(size)

    async def get(self) -> Event:
        return await self.queue.get()

    def close(self) -> None:
        self._clients.discard(self.queue)
