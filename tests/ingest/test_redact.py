"""Credentials never reach logs."""

import logging

import pytest

from ingest.redact import RedactingFilter, redact_text, redact_url


def test_redacts_userinfo() -> None:
    assert redact_url("rtsp://admin:pw@10.0.0.1:554/x") == "rtsp://***@10.0.0.1:554/x"
    assert redact_url("rtsp://10.0.0.1/x") == "rtsp://10.0.0.1/x"
    assert (
        redact_text("failed 'rtsp://a:b@h/x' and rtsps://c@h2/y")
        == "failed 'rtsp://***@h/x' and rtsps://***@h2/y"
    )


def test_log_records_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.redact")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO):
        logger.info("opening %s", "rtsp://admin:hunter2@127.0.0.1/x")
    assert "hunter2" not in caplog.text and "rtsp://***@127.0.0.1/x" in caplog.text
