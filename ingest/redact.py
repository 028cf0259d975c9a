"""Keep credentials out of logs, errors and responses."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit, urlunsplit

_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@")
REDACTED = "***"


def redact_url(url: str) -> str:
    """``rtsp://user:secret@host/path`` → ``rtsp://***@host/path``; other URLs unchanged."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, f"{REDACTED}@{host}", parts.path, parts.query, parts.fragment))


def redact_text(text: str) -> str:
    """Redact the user information of every URL inside free text (error messages, log lines)."""
    return _USERINFO.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", text)


_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"]+")


def hide_addresses(text: str) -> str:
    """Free text as users see it (states, alarms, events): every URL — a camera's host, port
    and path — replaced by a placeholder. The logs keep them (with credentials redacted)."""
    return _URL.sub("<camera address>", text)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts URL credentials from every record's final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact_text(exc_text)
        return True
