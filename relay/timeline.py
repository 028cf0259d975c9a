"""The RTP timeline of one live viewer: media time in, monotonic 90 kHz timestamps out.

Pure logic, no I/O. Rules:

* Packets replayed from the cached GOP are squeezed 1 ms apart, so the browser decodes the GOP
  at once and shows the current picture instead of replaying the last seconds at real pace.
* From the first live packet on, output follows the camera's media time exactly.
* A new connection or a timestamp discontinuity re-anchors the timeline one frame after the last
  output, so a viewer's timestamps never go backwards across a camera flap (the browser keeps
  playing on the same peer connection).
"""

from __future__ import annotations

SQUEEZE_US = 1_000
DEFAULT_FRAME_US = 40_000
RTP_VIDEO_CLOCK = 90_000


class Timeline:
    """Maps (media time µs, epoch) to an output time in µs that only moves forward."""

    def __init__(self) -> None:
        self._anchor: tuple[int, int] | None = None  # (media µs, output µs)
        self._epoch: tuple[int, int] | None = None  # (connection, epoch)
        self._last_out = -SQUEEZE_US
        self._replaying = True
        self._gap_us = DEFAULT_FRAME_US

    def new_connection(self) -> None:
        """The camera reconnected: the next packet re-anchors one frame after the last one."""
        self._anchor = None
        self._gap_us = DEFAULT_FRAME_US

    def live(self) -> None:
        """The replayed GOP is over: the next packet anchors live time."""
        self._replaying = False
        self._anchor = None
        self._gap_us = SQUEEZE_US

    def map(self, media_us: int, connection: int, epoch: int) -> int:
        """Output time in µs for a packet presented at ``media_us``."""
        if (connection, epoch) != self._epoch:
            self._epoch = (connection, epoch)
            self._anchor = None
        if self._replaying:
            out = self._last_out + SQUEEZE_US
        else:
            if self._anchor is None:
                self._anchor = (media_us, self._last_out + self._gap_us)
                self._gap_us = DEFAULT_FRAME_US
            out = self._anchor[1] + (media_us - self._anchor[0])
            if out <= self._last_out:
                out = self._last_out + SQUEEZE_US
        self._last_out = out
        return out


def to_rtp_ticks(out_us: int) -> int:
    """Output µs → 90 kHz RTP ticks."""
    return out_us * RTP_VIDEO_CLOCK // 1_000_000
