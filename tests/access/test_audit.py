"""The audit trail names every kind of tampering: an edited, removed, inserted or reordered
entry, a deleted tail, a forged checkpoint — on a real catalog, edited with plain SQL."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from access.audit import AuditTrail, Outcome, Record, entry_hash, verify
from recorder.db import make_engine, migrate, session_factory
from recorder.models import AuditEntry


class StepClock:
    def __init__(self) -> None:
        self.ticks = itertools.count(1_780_000_000_000_000, 1_000_000)

    def wall_us(self) -> int:
        return next(self.ticks)

    def monotonic(self) -> float:
        return 0.0


@pytest.fixture
def catalog(catalog_url: str) -> Iterator[sessionmaker[Session]]:
    """SQLite, and PostgreSQL when configured (``catalog_url``)."""
    engine = make_engine(catalog_url)
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()


KEY = Ed25519PrivateKey.generate()


def check(signature: bytes, statement: bytes) -> bool:
    try:
        KEY.public_key().verify(signature, statement)
    except InvalidSignature:
        return False
    return True


def fill(catalog: sessionmaker[Session], count: int = 30) -> AuditTrail:
    trail = AuditTrail(catalog, StepClock(), signer=KEY.sign, key_id="k1", every_rows=10)
    for n in range(count):
        trail.append(
            Record(
                "live_view_start" if n % 2 else "playback",
                user=f"user{n % 3}",
                address="127.0.0.1",
                object_type="camera",
                object_id=f"cam-{n}",
                site_id="qingjiang",
                outcome=Outcome.OK,
                details={"n": n, "名字": "讯问室"},
            )
        )
    return trail


def problems(catalog: sessionmaker[Session]) -> list[str]:
    with catalog() as session:
        report = verify(session, check)
    return report.problems


def sql(catalog: sessionmaker[Session], statement: str, **params: object) -> None:
    with catalog.begin() as session:
        session.execute(text(statement), params)


def test_an_untouched_trail_verifies_with_its_signed_checkpoints(
    catalog: sessionmaker[Session],
) -> None:
    fill(catalog)
    with catalog() as session:
        report = verify(session, check)
    assert report.intact, report.problems
    assert (report.entries, report.checkpoints, report.last_checkpoint_id) == (30, 3, 30)


def rehash(catalog: sessionmaker[Session], entry_id: int) -> None:
    """What a careful forger does: make the edited row's own hash match its new content."""
    with catalog.begin() as session:
        entry = session.get(AuditEntry, entry_id)
        assert entry is not None
        entry.hash = entry_hash(entry)


TAMPER: dict[str, tuple[Callable[[sessionmaker[Session]], None], str]] = {
    "edited": (
        lambda c: sql(c, "UPDATE audit_log SET \"user\" = 'nobody' WHERE id = 5"),
        "entry 5 (",
    ),
    "edited and rehashed": (
        lambda c: (sql(c, "UPDATE audit_log SET object_id = 'cam-x' WHERE id = 5"), rehash(c, 5)),
        "entry 6: does not follow entry 5",
    ),
    "removed": (
        lambda c: sql(c, "DELETE FROM audit_log WHERE id = 7"),
        "entries 7–7 are missing",
    ),
    "inserted": (
        lambda c: (
            sql(c, "UPDATE audit_log SET id = id + 100 WHERE id > 11"),
            sql(c, "UPDATE audit_log SET id = id - 99 WHERE id > 100"),
            sql(
                c,
                'INSERT INTO audit_log (id, at_us, "user", address, user_agent, action, '
                "object_type, object_id, site_id, outcome, details, prev_hash, hash) "
                "SELECT 12, at_us + 1, 'ghost', address, user_agent, 'export_download', "
                "object_type, object_id, site_id, outcome, '{}', hash, '' FROM audit_log "
                "WHERE id = 11",
            ),
            rehash(c, 12),
        ),
        "entry 13: does not follow entry 12",
    ),
    "reordered": (
        lambda c: (
            sql(c, "UPDATE audit_log SET id = 1000 WHERE id = 3"),
            sql(c, "UPDATE audit_log SET id = 3 WHERE id = 4"),
            sql(c, "UPDATE audit_log SET id = 4 WHERE id = 1000"),
        ),
        "entry 3: does not follow entry 2",
    ),
    "tail deleted": (
        lambda c: (
            sql(c, "DELETE FROM audit_log WHERE id > 24"),
            sql(
                c,
                "UPDATE audit_head SET last_id = 24, last_hash = "
                "(SELECT hash FROM audit_log WHERE id = 24)",
            ),
        ),
        "entries after 24 were deleted: signed checkpoint 3",
    ),
    "checkpoint forged": (
        lambda c: sql(c, "UPDATE audit_checkpoints SET last_id = 9 WHERE id = 1"),
        "checkpoint 1 (",
    ),
}


@pytest.mark.parametrize("kind", list(TAMPER))
def test_each_kind_of_tampering_is_named(catalog: sessionmaker[Session], kind: str) -> None:
    fill(catalog)
    tamper, expected = TAMPER[kind]
    tamper(catalog)
    found = problems(catalog)
    assert any(expected in problem for problem in found), found


def test_two_writers_never_fork_the_chain(catalog: sessionmaker[Session]) -> None:
    import threading

    first = AuditTrail(catalog, StepClock(), signer=KEY.sign, key_id="k1", every_rows=7)
    second = AuditTrail(catalog, StepClock(), signer=KEY.sign, key_id="k1", every_rows=7)

    def write(trail: AuditTrail, who: str) -> None:
        for n in range(25):
            trail.append(Record("sign_in", user=f"{who}{n}"))

    threads = [
        threading.Thread(target=write, args=(t, w)) for t, w in ((first, "a"), (second, "b"))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with catalog() as session:
        report = verify(session, check)
    assert report.intact, report.problems
    assert report.entries == 50
