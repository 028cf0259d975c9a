"""Pre-flight for ``serve`` and ``demo``: storage writable and the catalog reachable, or one
clear line naming the setting (exit 2), before anything starts."""

from __future__ import annotations

import tempfile

from sqlalchemy.exc import SQLAlchemyError

from configs.loader import ConfigError
from configs.schema import Settings
from ingest.redact import redact_text
from recorder.db import make_engine, migrate


def preflight(settings: Settings) -> None:
    """Fail fast with a clear message when storage or the catalog cannot be used."""
    root = settings.storage.path
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root, prefix=".write-test-"):
            pass
    except OSError as error:
        raise ConfigError(f"storage.path: {root} is not writable ({error.strerror})") from None
    try:
        url = settings.database.resolved_url()
    except ValueError as error:
        raise ConfigError(str(error)) from None
    try:
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
    except (SQLAlchemyError, OSError) as error:
        reason = redact_text(str(error).splitlines()[0])
        raise ConfigError(f"database.url: cannot open the catalog ({reason})") from None
