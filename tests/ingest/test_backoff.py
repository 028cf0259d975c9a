"""Reconnect backoff."""

from ingest.backoff import Backoff


def test_grows_caps_and_resets_after_healthy_uptime() -> None:
    backoff = Backoff(initial=0.5, factor=2.0, maximum=3.0, reset_after=30.0)
    assert [backoff.next_delay() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    backoff.connected_for(5.0)  # a short connection does not reset
    assert backoff.next_delay() == 3.0
    backoff.connected_for(31.0)
    assert backoff.next_delay() == 0.5
