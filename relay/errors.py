"""What can go wrong when a viewer asks for a live stream; the API maps each to an HTTP status."""

from __future__ import annotations


class RelayError(Exception):
    """Base class: ``message`` is safe to show to the client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class OfferError(RelayError):
    """The SDP offer is malformed or cannot be answered (HTTP 400/422)."""


class UnsupportedStream(RelayError):
    """The camera's stream cannot be played over WebRTC (e.g. H.265; HTTP 422)."""


class CapacityError(RelayError):
    """Too many viewers on this node or of this camera (HTTP 503)."""


class SessionNotFound(RelayError):
    """No live session with that id (HTTP 404)."""
