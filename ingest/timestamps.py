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
* ``lag = arrival - wall`` is how late a packet arrived. A camera's clock is never exact: one
  50 ppm off drifts 4 s a day. Within an epoch the media→wall mapping is therefore **slewed**
  (Moonfire's model): every ``SLEW_WINDOW_US`` of media the floor of the lag (its minimum over
  the window: the network delay without jitter) is compared with the floor of the first window,
  and the mapping's rate is set to absorb the difference over ``SLEW_HORIZON_US``, within
  ±``SLEW_MAX`` (500 ppm). Wall time stays continuous and monotonic, segment durations stay
  within 500 ppm of media durations, and a clock error up to 500 ppm never cuts a run.
* If the lag exceeds ``max_drift_us`` either way anyway (a clock step, a clock off by more than
  500 ppm, a flood or old media), the epoch ends with a ``clock_drift`` discontinuity and a new
  one is anchored on arrival.

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
    PACKETS_DROPPED = "packets_dropped"  # a consumer fell too far behind (ingest/sink_thread.py)


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


SLEW_MAX = 500e-6
"""The largest rate correction of the media→wall mapping (±500 ppm)."""
SLEW_WINDOW_US = 5_000_000
"""Media time over which the floor of the lag is measured."""
SLEW_HORIZON_US = 30_000_000
"""Media time over which a measured offset is absorbed."""


class _Mapping:
    """wall(media) = w0 + (media - d0) · (1 + rate): continuous, re-anchored when the rate
    changes, with the lag floor that steers the rate."""

    def __init__(self, anchor_wall_us: int, origin_us: int) -> None:
        self.w0 = anchor_wall_us
        self.d0 = origin_us
        self.rate = 0.0
        self.baseline: int | None = None
        self._window_start: int | None = None
        self._window_floor: int | None = None

    def wall(self, media_us: int) -> int:
        return self.w0 + round((media_us - self.d0) * (1.0 + self.rate))

    def observe(self, dts_us: int, lag_us: int) -> None:
        """A video packet's lag: at the end of each window, steer the rate."""
        if self._window_start is None:
            self._window_start = dts_us
        if self._window_floor is None or lag_us < self._window_floor:
            self._window_floor = lag_us
        if dts_us - self._window_start < SLEW_WINDOW_US:
            return
        floor = self._window_floor
        self._window_start, self._window_floor = dts_us, None
        if self.baseline is None:
            self.baseline = floor
            return
        rate = max(-SLEW_MAX, min(SLEW_MAX, (floor - self.baseline) / SLEW_HORIZON_US))
        self.w0, self.d0, self.rate = self.wall(dts_us), dts_us, rate


class TimestampValidator:
    """Validates one connection's packets and maps them to wall time. Camera thread only."""

    def __init__(self, *, opened_wall_us: int, max_jump_us: int, max_drift_us: int) -> None:
        self._max_jump_us = max_jump_us
        self._max_drift_us = max_drift_us
        self._anchor_wall_us = opened_wall_us
        self._mapping: _Mapping | None = None
        self._last_dts_us: dict[StreamKind, int] = {}
        self.epoch = 0
        self.dropped: dict[DropReason, int] = dict.fromkeys(DropReason, 0)

    @property
    def rate_ppm(self) -> float:
        """The correction now applied to the camera's media clock, in parts per million."""
        return self._mapping.rate * 1e6 if self._mapping is not None else 0.0

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
        if self._mapping is None:
            self._mapping = _Mapping(self._anchor_wall_us, dts_us)
        if discontinuity is None:
            lag = arrival_wall_us - self._mapping.wall(dts_us)
            if abs(lag) > self._max_drift_us:
                discontinuity = Discontinuity.CLOCK_DRIFT
            elif kind is StreamKind.VIDEO:
                self._mapping.observe(dts_us, lag)
        if discontinuity is not None:
            self._start_epoch(dts_us, arrival_wall_us)
        self._last_dts_us[kind] = dts_us
        assert self._mapping is not None
        return Timing(dts_us, pts_us, self._mapping.wall(pts_us), self.epoch, discontinuity)

    def _start_epoch(self, dts_us: int, arrival_wall_us: int) -> None:
        self.epoch += 1
        self._mapping = _Mapping(arrival_wall_us, dts_us)
        self._last_dts_us.clear()
