"""The audit trail: append-only, hash-chained, checkpointed with the node's signature.

Procedures (access/DESIGN.md):

* **Append** (any thread or process; one short transaction): read the head row (locked for
  update on PostgreSQL, so writers queue) → the entry's id is the head's ``last_id + 1`` and its
  ``prev_hash`` the head's ``last_hash`` → hash the entry → insert it → move the head with a
  compare-and-set on ``last_id``. A writer that lost a race
  (another process appended meanwhile) gets a duplicate id or a stale head, rolls back and tries
  again, so the chain never forks. The caller's action waits for its row: no action without an
  audit row.
* **Checkpoint**: every ``every_rows`` entries or ``every_seconds``, in the same transaction as
  the entry that makes it due, a row stating (last id, head hash, time) signed with the node's
  Ed25519 key.
* **Verify** (offline, on the database): stream every entry in id order, recompute each hash and
  check each link; check every checkpoint's signature and that its entry still has its hash;
  name what does not match: an edited entry (its hash), a removed one (a missing id), an inserted
  or reordered one (a broken link), a deleted tail (a checkpoint past the last entry).

Rows after the newest checkpoint are protected by the chain alone: anyone who can write the
database could rewrite them consistently, which is why checkpoints are frequent.
"""

from __future__ import annotations

import enum
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ingest.clock import Clock, isoformat_us
from recorder.catalog import chain_heads
from recorder.models import AuditCheckpoint, AuditEntry, AuditHead, Segment

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
"""The ``prev_hash`` of the first entry."""
APPEND_ATTEMPTS = 8


class Outcome(enum.StrEnum):
    OK = "ok"
    DENIED = "denied"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Record:
    """What happened: who, from where, which action on which object, and how it ended."""

    action: str
    user: str | None
    address: str = ""
    user_agent: str = ""
    object_type: str = ""
    object_id: str = ""
    site_id: str | None = None
    outcome: Outcome = Outcome.OK
    details: dict[str, Any] = field(default_factory=dict)


def entry_hash(entry: AuditEntry) -> str:
    """SHA-256 of an entry's id, content and ``prev_hash`` (canonical JSON)."""
    payload = [
        entry.id,
        entry.at_us,
        entry.user,
        entry.address,
        entry.user_agent,
        entry.action,
        entry.object_type,
        entry.object_id,
        entry.site_id,
        entry.outcome,
        entry.details,
        entry.prev_hash,
    ]
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def checkpoint_statement(last_id: int, head_hash: str, at_us: int) -> bytes:
    """The exact bytes a checkpoint's signature covers."""
    return f"casewatch audit checkpoint\n{last_id}\n{head_hash}\n{at_us}\n".encode("ascii")


class _StaleHead(Exception):
    """Another writer moved the head between our read and our write."""


class AuditTrail:
    """Appends entries; thread-safe and safe across processes sharing the catalog."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        *,
        signer: Callable[[bytes], bytes] | None,
        key_id: str = "",
        every_rows: int = 500,
        every_seconds: float = 300.0,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._signer = signer
        self._key_id = key_id
        self._every_rows = every_rows
        self._every_us = int(every_seconds * 1_000_000)

    def append(self, record: Record) -> AuditEntry:
        """Write ``record`` as the next entry and return it. Raises when the catalog fails (the
        action it records must then fail too)."""
        for attempt in range(APPEND_ATTEMPTS):
            try:
                with self._sessions.begin() as session:
                    return self._append(session, record)
            except (_StaleHead, IntegrityError):
                # another writer appended first: read the new head and try again
                time.sleep(0.005 * (attempt + 1))
                continue
            except OperationalError:
                # SQLite: another process's append made our snapshot stale (or the database
                # is down: then the last attempt raises)
                if attempt == APPEND_ATTEMPTS - 1:
                    raise
                time.sleep(0.02 * (attempt + 1))
        raise RuntimeError("the audit trail is too busy: could not append after many attempts")

    def checkpoint(self) -> None:
        """Sign the chain's head now (at shutdown, and when asked)."""
        with self._sessions.begin() as session:
            head = session.get(AuditHead, 1)
            if head is not None and head.last_id > 0 and head.rows_since_checkpoint > 0:
                self._sign(session, head, self._clock.wall_us())

    def _append(self, session: Session, record: Record) -> AuditEntry:
        now = self._clock.wall_us()
        # PostgreSQL: writers queue on the head row's lock (SQLite serialises writers anyway)
        head = session.get(AuditHead, 1, with_for_update=True)
        if head is None:
            head = AuditHead(
                id=1, last_id=0, last_hash=GENESIS, rows_since_checkpoint=0, checkpoint_us=now
            )
            session.add(head)
            session.flush()
        entry = AuditEntry(
            id=head.last_id + 1,
            at_us=now,
            user=record.user,
            address=record.address[:64],
            user_agent=record.user_agent[:300],
            action=record.action,
            object_type=record.object_type[:32],
            object_id=record.object_id[:128],
            site_id=record.site_id,
            outcome=record.outcome.value,
            details=json.dumps(record.details, ensure_ascii=False, sort_keys=True, default=str),
            prev_hash=head.last_hash,
        )
        entry.hash = entry_hash(entry)
        session.add(entry)
        session.flush()
        moved = session.execute(
            update(AuditHead)
            .where(AuditHead.id == 1, AuditHead.last_id == head.last_id)
            .values(
                last_id=entry.id,
                last_hash=entry.hash,
                rows_since_checkpoint=AuditHead.rows_since_checkpoint + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            raise _StaleHead
        session.refresh(head)
        due = (
            head.rows_since_checkpoint >= self._every_rows
            or now - head.checkpoint_us >= self._every_us
        )
        if due:
            self._sign(session, head, now)
        return entry

    def _sign(self, session: Session, head: AuditHead, now: int) -> None:
        if self._signer is None:
            return
        signature = self._signer(checkpoint_statement(head.last_id, head.last_hash, now))
        session.add(
            AuditCheckpoint(
                at_us=now,
                last_id=head.last_id,
                head_hash=head.last_hash,
                key_id=self._key_id,
                signature=signature.hex(),
            )
        )
        head.rows_since_checkpoint = 0
        head.checkpoint_us = now


# -- verification ----------------------------------------------------------------------------------


@dataclass
class VerifyReport:
    """What ``verify`` found: entries and checkpoints checked, and every problem, named."""

    entries: int = 0
    checkpoints: int = 0
    last_id: int = 0
    last_checkpoint_id: int | None = None
    """The newest entry a valid signed checkpoint covers."""
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems

    def json(self) -> dict[str, Any]:
        return {
            "intact": self.intact,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "last_entry": self.last_id,
            "covered_by_checkpoint": self.last_checkpoint_id,
            "problems": self.problems,
        }


def _entries(session: Session, batch: int = 5000) -> Iterator[AuditEntry]:
    after = 0
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.id > after).order_by(AuditEntry.id).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].id
        session.expunge_all()


def verify(
    session: Session, check_signature: Callable[[bytes, bytes], bool] | None
) -> VerifyReport:
    """Check the whole trail (see the module doc). ``check_signature(signature, statement)``
    verifies a checkpoint with the node's public key; ``None`` skips signatures (reported)."""
    report = VerifyReport()
    checkpoints = session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)).all()
    expected: dict[int, list[AuditCheckpoint]] = {}
    for cp in checkpoints:
        report.checkpoints += 1
        when = isoformat_us(cp.at_us)
        statement = checkpoint_statement(cp.last_id, cp.head_hash, cp.at_us)
        if check_signature is None:
            report.problems.append("checkpoint signatures not checked: no public key")
            check_signature = _accept_all
        try:
            signed = check_signature(bytes.fromhex(cp.signature), statement)
        except ValueError:
            signed = False
        if not signed:
            report.problems.append(
                f"checkpoint {cp.id} ({when}): the signature does not match (checkpoint edited "
                "or signed by another key)"
            )
            continue
        expected.setdefault(cp.last_id, []).append(cp)
    next_id, prev_hash, prev_id = 1, GENESIS, 0
    for entry in _entries(session):
        report.entries += 1
        if entry.id != next_id:
            report.problems.append(
                f"entries {next_id}–{entry.id - 1} are missing (removed)"
                if entry.id > next_id
                else f"entry {entry.id}: out of order"
            )
        if entry.prev_hash != prev_hash:
            report.problems.append(
                f"entry {entry.id}: does not follow entry {prev_id} (an entry was inserted, "
                "removed or reordered here)"
            )
        if entry_hash(entry) != entry.hash:
            report.problems.append(
                f"entry {entry.id} ({isoformat_us(entry.at_us)}, {entry.action}): its content "
                "was edited (hash mismatch)"
            )
        for cp in expected.pop(entry.id, []):
            if cp.head_hash != entry.hash:
                report.problems.append(
                    f"entry {entry.id}: differs from signed checkpoint {cp.id} "
                    f"({isoformat_us(cp.at_us)})"
                )
            else:
                report.last_checkpoint_id = entry.id
        next_id, prev_hash, prev_id = entry.id + 1, entry.hash, entry.id
    report.last_id = prev_id
    for last_id, cps in sorted(expected.items()):
        for cp in cps:
            report.problems.append(
                f"entries after {prev_id} were deleted: signed checkpoint {cp.id} "
                f"({isoformat_us(cp.at_us)}) covers entries up to {last_id}"
            )
    head = session.get(AuditHead, 1)
    if head is not None and head.last_id != prev_id:
        report.problems.append(
            f"the trail ends at entry {prev_id} but its head names entry {head.last_id}"
        )
    return report


def _accept_all(_signature: bytes, _statement: bytes) -> bool:
    return True


# -- the segment catalog's chain heads, signed through the trail -----------------------------------

CATALOG_CHECKPOINT = "catalog_checkpoint"


def catalog_checkpoint(trail: AuditTrail, session: Session) -> dict[str, Any] | None:
    """Write each camera's catalog chain head (segment id, row hash) into the trail and sign
    the trail's head at once: from then on no catalog row up to those heads can be rewritten
    or removed unnoticed (``catalog_problems``). Returns what an export's manifest carries:
    the audit entry, its time and the heads (None: no chained rows yet)."""
    heads = chain_heads(session)
    if not heads:
        return None
    details = {"heads": {camera: [seg, digest] for camera, (seg, digest) in heads.items()}}
    entry = trail.append(
        Record(CATALOG_CHECKPOINT, user=None, object_type="catalog", details=details)
    )
    trail.checkpoint()
    return {"audit_entry": entry.id, "at": isoformat_us(entry.at_us), "hash": entry.hash, **details}


def catalog_problems(session: Session) -> list[str]:
    """The segment rows that differ from the newest signed catalog checkpoint (``check`` runs
    this; the trail's own integrity is ``verify``'s)."""
    entry = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == CATALOG_CHECKPOINT)
        .order_by(AuditEntry.id.desc())
        .limit(1)
    ).first()
    if entry is None:
        return []
    when = isoformat_us(entry.at_us)
    problems = []
    for camera, (segment_id, digest) in json.loads(entry.details).get("heads", {}).items():
        row = session.get(Segment, segment_id)
        if row is None or row.camera_id != camera:
            problems.append(
                f"segment {segment_id} of {camera} is gone: the catalog checkpoint of {when} "
                f"(audit entry {entry.id}) names it as the camera's newest row"
            )
        elif row.row_hash != digest:
            problems.append(
                f"segment {segment_id} of {camera} differs from the catalog checkpoint of {when} "
                f"(audit entry {entry.id}): rows up to it were rewritten"
            )
    return problems
