"""Broadcast of camera state changes to event-stream clients (bounded per client)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import asdict

from ingest.clock import isoformat_us
from ingest.events import StateChange


def change_json(change: StateChange) -> str:
    data = asdict(change)
    data["at"] = isoformat_us(change.at_us)
    data["state"] = change.state.value
    data["cause"] = change.cause.value if change.cause else None
    return json.dumps(data, ensure_ascii=False)


class EventBus:
    """Event loop only: ``publish`` fans out; a slow client loses its oldest events."""

    def __init__(self, *, per_client: int = 1000) -> None:
        self._clients: set[asyncio.Queue[StateChange]] = set()
        self._per_client = per_client

    def publish(self, change: StateChange) -> None:
        for queue in self._clients:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(change)

    async def stream(self) -> AsyncIterator[StateChange]:
        queue: asyncio.Queue[StateChange] = asyncio.Queue(self._per_client)
        self._clients.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._clients.discard(queue)
