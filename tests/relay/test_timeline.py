"""A viewer's RTP timeline: squeezed GOP replay, exact live pacing, never backwards."""

from __future__ import annotations

from relay.timeline import DEFAULT_FRAME_US, SQUEEZE_US, Timeline, to_rtp_ticks


def test_replay_is_squeezed_then_live_follows_media_time() -> None:
    timeline = Timeline()
    replayed = [timeline.map(t, 1, 0) for t in (0, 40_000, 80_000, 120_000)]
    assert replayed == [0, 1_000, 2_000, 3_000]
    timeline.live()
    live = [timeline.map(t, 1, 0) for t in (160_000, 200_000, 240_000)]
    assert live == [4_000, 44_000, 84_000]


def test_reconnect_and_discontinuity_never_go_backwards() -> None:
    timeline = Timeline()
    timeline.live()
    a = timeline.map(5_000_000, 1, 0)
    b = timeline.map(5_040_000, 1, 0)
    timeline.new_connection()
    c = timeline.map(100, 2, 0)  # pts restart near zero after the camera came back
    d = timeline.map(40_100, 2, 0)
    e = timeline.map(9_000_000, 2, 1)  # timestamp jump: new epoch
    assert a < b < c < d < e
    assert c - b == DEFAULT_FRAME_US and d - c == 40_000 and e - d == DEFAULT_FRAME_US
    assert timeline.map(0, 2, 1) == e + SQUEEZE_US  # a late packet cannot go back in time


def test_rtp_ticks() -> None:
    assert to_rtp_ticks(1_000_000) == 90_000 and to_rtp_ticks(40_000) == 3_600
