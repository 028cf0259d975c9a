"""The audit trail, for auditors and admins: search, CSV export, verification.

A user scoped to stations sees the entries of those stations only. Reading the trail is itself
audited (an export of it names its filters).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from access.audit import verify
from access.principal import Principal
from access.roles import Permission
from api.audit import audit
from api.auth import needs
from api.deps import MAX_ID, DbSession, State
from api.state import AppState
from api.timerange import Instant, parse_instant
from evidence.signing import verify as verify_signature
from ingest.clock import isoformat_us
from recorder.models import AuditEntry

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])

Auditor = Annotated[Principal, needs(Permission.AUDIT_READ)]
Text = Annotated[str | None, Query(min_length=1, max_length=128)]
CSV_BATCH = 2000


def _entry_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": isoformat_us(entry.at_us),
        "user": entry.user,
        "address": entry.address,
        "user_agent": entry.user_agent,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "site": entry.site_id,
        "outcome": entry.outcome,
        "details": json.loads(entry.details),
    }


@dataclass
class AuditFilters:
    """The filters of the audit search and its CSV export (query parameters)."""

    user: Text = None
    action: Text = None
    object_type: Text = None
    object_id: Text = None
    site: Text = None
    start: Annotated[Instant | None, Query(description="ISO 8601 with time zone")] = None
    end: Annotated[Instant | None, Query(description="ISO 8601 with time zone")] = None

    def query(self, auditor: Principal) -> Select[Any]:
        """The entries they select that ``auditor`` may see (their stations', when scoped)."""
        query = select(AuditEntry)
        for column, value in (
            (AuditEntry.user, self.user),
            (AuditEntry.action, self.action),
            (AuditEntry.object_type, self.object_type),
            (AuditEntry.object_id, self.object_id),
            (AuditEntry.site_id, self.site),
        ):
            if value is not None:
                query = query.where(column == value)
        if self.start is not None:
            query = query.where(AuditEntry.at_us >= parse_instant(self.start, "start"))
        if self.end is not None:
            query = query.where(AuditEntry.at_us < parse_instant(self.end, "end"))
        if auditor.sites is not None:
            query = query.where(AuditEntry.site_id.in_(sorted(auditor.sites)))
        return query

    def given(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items() if v is not None}


Filters = Annotated[AuditFilters, Depends()]


@router.get("")
def search(
    auditor: Auditor,
    session: DbSession,
    filters: Filters,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID, description="page: ids below")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Entries newest first; page with ``before`` = the last id seen."""
    query = filters.query(auditor)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    rows: Sequence[AuditEntry] = session.scalars(
        query.order_by(AuditEntry.id.desc()).limit(limit)
    ).all()
    data = [_entry_json(row) for row in rows]
    return {"data": data, "count": len(data), "next_before": rows[-1].id if rows else None}


@router.get("/export.csv", response_class=StreamingResponse)
def export_csv(
    request: Request, auditor: Auditor, state: State, filters: Filters
) -> StreamingResponse:
    """The filtered entries as CSV (UTF-8 with BOM, oldest first), streamed."""
    audit(request, "audit_export", auditor, object_type="audit", details=filters.given())
    return StreamingResponse(
        _csv_rows(state, filters.query(auditor)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="casewatch-audit.csv"'},
    )


def _csv_rows(state: AppState, query: Select[Any]) -> Iterator[str]:
    columns = ["id", "at", "user", "address", "user_agent", "action", "object_type",
               "object_id", "site", "outcome", "details"]  # fmt: skip
    yield "\ufeff" + _csv_line(columns)
    after = 0
    while True:
        with state.sessions() as session:
            rows = _page(session, query, after)
        if not rows:
            return
        for row in rows:
            entry = _entry_json(row)
            entry["details"] = json.dumps(entry["details"], ensure_ascii=False)
            yield _csv_line([entry[c] for c in columns])
        after = rows[-1].id


def _page(session: Session, query: Select[Any], after: int) -> list[AuditEntry]:
    page = query.where(AuditEntry.id > after).order_by(AuditEntry.id).limit(CSV_BATCH)
    return list(session.scalars(page).all())


def _csv_line(values: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(["" if v is None else v for v in values])
    return out.getvalue()


@router.get("/verify")
async def verify_trail(request: Request, auditor: Auditor, state: State) -> dict[str, Any]:
    """Check the whole trail now: every hash and link, every signed checkpoint (see
    access/DESIGN.md); ``problems`` names each entry at fault."""
    public = state.exports.public_key.private.public_key()

    def run() -> dict[str, Any]:
        with state.sessions() as session:
            report = verify(
                session, lambda signature, data: verify_signature(public, signature, data)
            )
        return report.json()

    result = await asyncio.to_thread(run)
    await asyncio.to_thread(
        audit, request, "audit_verify", auditor, object_type="audit",
        details={"intact": result["intact"], "entries": result["entries"]},
    )  # fmt: skip
    return result
