"""Pre-flight for the commands: storage writable and free, the catalog reachable and at the
schema this code needs — or one clear line naming the setting (exit 2), before anything starts,
never a traceback."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from configs.loader import ConfigError
from configs.schema import Settings
from ingest.redact import redact_text
from recorder.db import make_engine, migrate, schema_revisions
from recorder.lock import StorageBusy, storage_lock


def preflight(settings: Settings) -> None:
    """For ``serve`` and ``demo``: fail fast when storage or the catalog cannot be used."""
    root = settings.storage.path
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root, prefix=".write-test-"):
            pass
    except OSError as error:
        raise ConfigError(f"storage.path: {root} is not writable ({error.strerror})") from None
    with hold_storage(settings, "pre-flight check"):
        pass
    open_catalog(settings, upgrade=True).dispose()


@contextlib.contextmanager
def hold_storage(settings: Settings, purpose: str) -> Iterator[None]:
    """Hold the storage lock for the block, or raise a ConfigError naming its holder."""
    try:
        with storage_lock(settings.storage.path, purpose):
            yield
    except StorageBusy as error:
        raise ConfigError(str(error)) from None


def open_catalog(settings: Settings, *, upgrade: bool) -> Engine:
    """An engine on the catalog; ``upgrade`` brings the schema to the newest revision, otherwise
    a schema that is not current is refused (``check`` never changes the catalog)."""
    try:
        url = settings.database.resolved_url()
    except ValueError as error:
        raise ConfigError(str(error)) from None
    try:
        engine = make_engine(url)
        if upgrade:
            migrate(engine)
        else:
            current, head = schema_revisions(engine)
            if current != head:
                engine.dispose()
                raise ConfigError(
                    f"database.url: the catalog schema is at {current or 'nothing'}, this "
                    f"casewatch needs {head}: run `casewatch migrate --config FILE` first"
                )
        return engine
    except (SQLAlchemyError, OSError) as error:
        raise ConfigError(f"database.url: cannot open the catalog ({error_line(error)})") from None


def error_line(error: Exception) -> str:
    """The first line of an error, credentials redacted: what a one-line message may show."""
    text = str(error)
    return redact_text(text.splitlines()[0] if text else type(error).__name__)


def tls_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's HTTPS options for ``server.tls`` (none: plain HTTP); a file that cannot be read
    is a clear error before start."""
    tls = settings.server.tls
    if tls is None:
        return {}
    for name, path in (("cert", tls.cert), ("key", tls.key)):
        if not path.is_file():
            raise ConfigError(f"server.tls.{name}: no such file {path}")
    return {"ssl_certfile": str(tls.cert), "ssl_keyfile": str(tls.key)}
