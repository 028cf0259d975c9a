"""Timestamp validation at the edge, and the wall-clock anchoring policy.

Policy (also in recorder/DESIGN.md, "Time"):

* Media time comes from the camera's DTS/PTS; a packet without DTS/PTS is dropped
  (PyAV's first RTSP packet can have ``pts=None``).
* Per stream, DTS must increase. A packet whose DTS does not increase is dropped, unless it went
  back by more than ``max_jump_us``: then the camera restarted its clock, which is a
  discontinuity. A forward jump larger than ``max_jump_us`` is a discontinuity too.
* Wall time of a packet = ``anchor_wall + (dts - origin_dts)``. The first epoch of a connection is
  anchored at the moment the connection was *opened* (a lower bound of when its first packet was
  captured: RTSP only starts sending after PLAY); later epochs at the arrival of their first
  packet. Anchoring on the first *demuxed* packet would be late by however much media the
  opener buffered while probing.
* ``lag = arrival - wall`` is how late a packet arrived. If it exceeds ``max_drift_us`` (the
  camera's clock runs slow, or it delivers old media) or falls below ``-max_drift_us`` (media time
  runs ahead of real time: a fast clock or a flood), the epoch ends with a ``clock_drift``
  discontinuity and a new one is anchored on arrival.

A discontinuity starts a new ``epoch``: consumers (the recorder) close what they had and start
afresh, so a timestamp fault never produces a file with broken timing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from fractions import Fraction

from ingest.packets import StreamKind


class Discontinuity(enum.StrEnum):
    """Why an epoch ended while the connection stayed up."""

    TIMESTAMP_JUMP = "timestamp_jump"
    CLOCK_DRIFT = "clock_drift"


class DropReason(enum.StrEnum):
    """Why a packet was not passed on."""

    NO_TIMESTAMP = "no_timestamp"
    NOT_INCREASING = "not_increasing"


@dataclass(frozen=True, slots=True)
class Timing:
    """Times of an accepted packet."""

    dts_us: int
    pts_us: int
    wall_us: int
    epoch: int
    discontinuity: Discontinuity | None


def to_us(value: int, time_base: Fraction) -> int:
    """A timestamp in ``time_base`` units → microseconds (floor, exact integer math)."""
    return value * time_base.numerator * 1_000_000 // time_base.denominator


class TimestampValidator:
    """Validates one connection's packets and maps them to wall time. Camera thread only."""

    def __init__(self, *, opened_wall_us: int, max_jump_us: int, max_drift_us: int) -> None:
        self._max_jump_us = max_jump_us
        self._max_drift_us = max_drift_us
        self._anchor_wall_us = opened_wall_us
        self._origin_dts_us: int | None = None
        self._last_dts_us: dict[StreamKind, int] = {}
        self.epoch = 0
        self.dropped: dict[DropReason, int] = dict.fromkeys(DropReason, 0)

    def check(
        self,
        kind: StreamKind,
        dts: int | None,
        pts: int | None,
        time_base: Fraction,
        arrival_wall_us: int,
    ) -> Timing | DropReason:
        """Validate one packet; returns its timing or why it was dropped."""
        if dts is None or pts is None:
            self.dropped[DropReason.NO_TIMESTAMP] += 1
            return DropReason.NO_TIMESTAMP
        dts_us = to_us(dts, time_base)
        pts_us = to_us(pts, time_base)
        discontinuity: Discontinuity | None = None
        last = self._last_dts_us.get(kind)
        if last is not None:
            step = dts_us - last
            if step > self._max_jump_us or step < -self._max_jump_us:
                discontinuity = Discontinuity.TIMESTAMP_JUMP
            elif step <= 0:
                self.dropped[DropReason.NOT_INCREASING] += 1
                return DropReason.NOT_INCREASING
        if self._origin_dts_us is None:
            self._origin_dts_us = dts_us
        if discontinuity is None:
            lag = arrival_wall_us - self._wall(dts_us)
            if lag > self._max_drift_us or lag < -self._max_drift_us:
                discontinuity = Discontinuity.CLOCK_DRIFT
        if discontinuity is not None:
            self._start_epoch(dts_us, arrival_wall_us)
        self._last_dts_us[kind] = dts_us
        return Timing(dts_us, pts_us, self._wall(pts_us), self.epoch, discontinuity)

    def _wall(self, media_us: int) -> int:
        assert self._origin_dts_us is not None
        return self._anchor_wall_us + (media_us - self._origin_dts_us)

    def _start_epoch(self, dts_us: int, arrival_wall_us: int) -> None:
        self.epoch += 1
        self._anchor_wall_us = arrival_wall_us
        self._origin_dts_us = dts_us
        self._last_dts_us.clear()
