"""Open an RTSP camera with PyAV and classify every failure into a ``Cause``.

``av.open`` of an RTSP URL blocks for seconds: call it only on the camera's own thread.
Error messages from FFmpeg contain the URL; they are redacted before they go anywhere.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import av

from ingest.events import Cause
from ingest.redact import redact_text

logger = logging.getLogger(__name__)

RECORDABLE_VIDEO = frozenset({"h264", "hevc"})
RECORDABLE_AUDIO = frozenset({"aac", "mp3", "opus", "alac", "flac", "pcm_alaw", "pcm_mulaw"})
"""Audio the recorder keeps: by stream copy, or G.711 losslessly as FLAC (``recorder``)."""


class SourceError(Exception):
    """The camera could not be opened or read; carries the cause and a redacted detail."""

    def __init__(self, cause: Cause, detail: str) -> None:
        super().__init__(f"{cause.value}: {detail}")
        self.cause = cause
        self.detail = detail


def classify(error: BaseException, *, elapsed: float, timeout: float) -> SourceError:
    """Map a PyAV/OS error to a cause. ``elapsed`` near ``timeout`` means the camera was silent."""
    detail = redact_text(str(error))
    if isinstance(error, av.error.HTTPUnauthorizedError | av.error.HTTPForbiddenError):
        return SourceError(Cause.UNAUTHORIZED, detail)
    if isinstance(error, av.error.HTTPNotFoundError):
        return SourceError(Cause.NOT_FOUND, detail)
    if isinstance(error, ConnectionRefusedError | av.error.ConnectionRefusedError):
        return SourceError(Cause.UNREACHABLE, detail)
    if elapsed >= timeout * 0.9 or isinstance(error, TimeoutError | av.error.ExitError):
        return SourceError(Cause.TIMEOUT, f"no answer within {timeout:g} s")
    if isinstance(error, OSError) and error.errno in {101, 110, 113, -2, -3}:
        return SourceError(Cause.UNREACHABLE, detail)
    if isinstance(error, av.error.InvalidDataError | av.error.HTTPError):
        return SourceError(Cause.PROTOCOL_ERROR, detail)
    return SourceError(Cause.PROTOCOL_ERROR, f"{type(error).__name__}: {detail}")


@dataclass
class RtspSource:
    """An open RTSP connection: the container and its chosen video/audio streams."""

    container: Any
    video: Any
    audio: Any | None

    @classmethod
    def open(cls, url: str, *, connect_timeout: float, read_timeout: float) -> RtspSource:
        """Connect (TCP interleaved) and pick the first video and audio streams."""
        started = time.monotonic()
        options = {
            "rtsp_transport": "tcp",
            "rtsp_flags": "prefer_tcp",
            "timeout": str(int(read_timeout * 1_000_000)),
            "analyzeduration": "1000000",
            "probesize": "1000000",
            "fflags": "+genpts",
        }
        try:
            # Reads are bounded twice: libav's socket ``timeout`` (a silent connection) and
            # PyAV's read timeout (each av_read_frame). The second is needed: a camera whose
            # encoder hangs while its RTSP session lives on keeps sending RTCP, which resets
            # the socket timeout forever, and only a bound on the read itself finds it
            # stalled. It costs a GIL hand-off per libav I/O poll (bench/record.py).
            container = av.open(url, options=options, timeout=(connect_timeout, read_timeout))
        except Exception as error:
            raise classify(
                error, elapsed=time.monotonic() - started, timeout=connect_timeout
            ) from None
        try:
            if not container.streams.video:
                raise SourceError(Cause.NO_VIDEO, "the stream has no video track")
            video = container.streams.video[0]
            if video.codec_context.name not in RECORDABLE_VIDEO:
                raise SourceError(
                    Cause.UNSUPPORTED, f"video codec {video.codec_context.name} is not H.264/H.265"
                )
            audio = container.streams.audio[0] if container.streams.audio else None
            if audio is not None and audio.codec_context.name not in RECORDABLE_AUDIO:
                logger.warning(
                    "audio codec %s cannot be stored without loss; recording video only",
                    audio.codec_context.name,
                )
                audio = None
        except BaseException:
            container.close()
            raise
        return cls(container, video, audio)

    def packets(self) -> Iterator[Any]:
        """Demuxed packets of the chosen streams; ends when the camera ends the stream."""
        streams = [self.video] if self.audio is None else [self.video, self.audio]
        yield from self.container.demux(streams)

    def close(self) -> None:
        try:
            self.container.close()
        except Exception as error:  # closing a broken connection must not raise further
            logger.debug("close failed: %s", redact_text(str(error)))
