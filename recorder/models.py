"""All catalog tables: one declarative Base, one migration history (recorder/migrations).

Times are integers of microseconds since the Unix epoch, UTC (``*_us`` columns): exact, equal on
SQLite and PostgreSQL, and cheap to index and compare. The API turns them into ISO 8601.
"""

from __future__ import annotations

import enum

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from recorder.runs import RunEndReason as RunEndReason  # where the catalog's readers find it

BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """The declarative base of every catalog table."""


class SegmentStatus(enum.StrEnum):
    """A segment's file: present, gone without our doing, or deleted by retention."""

    OK = "ok"
    LOST = "lost"
    DELETED = "deleted"


class Camera(Base):
    """Every camera ever recorded; rows outlive removal from the config."""

    __tablename__ = "cameras"

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(100))
    area: Mapped[str] = mapped_column(String(32))
    room: Mapped[str] = mapped_column(String(100))
    first_seen_us: Mapped[int] = mapped_column(BigInteger)
    recording_paused: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Set through the API (never while an interrogation session holds the camera)."""
    operator_disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Not read at all, set through the API (never while a session holds the camera)."""


class RecordingRun(Base):
    """A stretch of continuous recording of one camera: one connection epoch."""

    __tablename__ = "recording_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"))
    started_us: Mapped[int] = mapped_column(BigInteger)
    ended_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    end_detail: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_runs_camera_start", "camera_id", "started_us"),)


StreamFormat = tuple[str, int, int, str | None]
"""(video codec, width, height, audio codec or ``None``) of a segment."""


class Segment(Base):
    """One fragmented-MP4 file; a row exists only for a fully written, fsynced file (inv. 1)."""

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"))
    run_id: Mapped[str] = mapped_column(ForeignKey("recording_runs.id"))
    path: Mapped[str] = mapped_column(String(255), unique=True)
    start_us: Mapped[int] = mapped_column(BigInteger)
    end_us: Mapped[int] = mapped_column(BigInteger)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    prev_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    video_codec: Mapped[str] = mapped_column(String(16))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    audio_codec: Mapped[str | None] = mapped_column(String(16), nullable=True)
    has_audio: Mapped[bool] = mapped_column(Boolean)
    video_packets: Mapped[int] = mapped_column(Integer)
    audio_packets: Mapped[int] = mapped_column(Integer)
    adopted: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default=SegmentStatus.OK.value)
    status_changed_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    prev_row_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    row_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """SHA-256 of (camera, start, end, size, file SHA-256, ``prev_row_hash`` = the camera's
    previous row_hash): the catalog's own chain (``catalog.row_hash``); null for rows made
    before it existed."""

    __table_args__ = (
        UniqueConstraint("camera_id", "start_us", name="uq_segments_camera_start"),
        Index("ix_segments_camera_end", "camera_id", "end_us"),
        Index("ix_segments_status_start", "status", "start_us"),
    )

    @property
    def stream_format(self) -> StreamFormat:
        """What two segments must share to play as one stream: video codec and size, and the
        audio codec (``None`` when the segment has no audio)."""
        return (
            self.video_codec,
            self.width,
            self.height,
            self.audio_codec if self.has_audio else None,
        )


class CameraEvent(Base):
    """A camera's supervisor state change (outages and their causes)."""

    __tablename__ = "camera_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(String(63))
    at_us: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16))
    cause: Mapped[str | None] = mapped_column(String(32), nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_events_camera_at", "camera_id", "at_us"),)


class EvidenceHold(Base):
    """Footage of a camera over a time range that retention must not delete (invariant 3).

    A hold made for a case tag or session stands while its case is open, and after that until an
    inspector releases it with a reason; an explicit hold (no tag) stands until released.
    """

    __tablename__ = "evidence_holds"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(String(63))
    tag_id: Mapped[int | None] = mapped_column(ForeignKey("case_tags.id"), nullable=True)
    case_number: Mapped[str | None] = mapped_column(ForeignKey("cases.number"), nullable=True)
    released_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    start_us: Mapped[int] = mapped_column(BigInteger)
    end_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # null: still open
    reason: Mapped[str] = mapped_column(Text)
    created_us: Mapped[int] = mapped_column(BigInteger)
    released_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    release_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    release_requested_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    """Four-eyes: who asked for the release a second user must approve (access.four_eyes)."""
    release_requested_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    release_request_reason: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (Index("ix_holds_camera", "camera_id", "start_us"),)


class RecorderStart(Base):
    """Each start of the recorder process: splits gaps into 'recorder down' and the rest."""

    __tablename__ = "recorder_starts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at_us: Mapped[int] = mapped_column(BigInteger, index=True)


# -- cases, tags, interrogation sessions, exports --------------------------------------------------


class CaseType(enum.StrEnum):
    """The kinds of case number (DOMAIN.md): A…, B…, J…."""

    CRIMINAL = "criminal"
    ADMINISTRATIVE = "administrative"
    INCIDENT = "incident"


class CaseStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class TagKind(enum.StrEnum):
    """What happened in the tagged footage."""

    INTERROGATION = "interrogation"
    INQUIRY = "inquiry"
    IDENTIFICATION = "identification"
    PROPERTY_HANDLING = "property_handling"
    OTHER = "other"


class TagStatus(enum.StrEnum):
    """A plain tag is closed from the start; a session is open until it is closed."""

    OPEN = "open"
    CLOSED = "closed"


class Case(Base):
    """A case with a validated number (DOMAIN.md: A/B/J + unit code + YYYYMM + serial)."""

    __tablename__ = "cases"

    number: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=CaseStatus.OPEN.value)
    unit_code: Mapped[str | None] = mapped_column(String(12), nullable=True)
    site_id: Mapped[str | None] = mapped_column(String(63), nullable=True)
    """The station handling the case (users of other stations see it only through its tags)."""
    created_us: Mapped[int] = mapped_column(BigInteger)
    updated_us: Mapped[int] = mapped_column(BigInteger)
    closed_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (Index("ix_cases_created", "created_us"),)


class CaseTag(Base):
    """Footage of some cameras over a time range bound to a case; ``session`` tags are opened
    and closed live (interrogation sessions) and get a completeness report when closed."""

    __tablename__ = "case_tags"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_number: Mapped[str] = mapped_column(ForeignKey("cases.number"))
    kind: Mapped[str] = mapped_column(String(32))
    session: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default=TagStatus.CLOSED.value)
    site_id: Mapped[str | None] = mapped_column(String(63), nullable=True)
    room: Mapped[str | None] = mapped_column(String(100), nullable=True)
    start_us: Mapped[int] = mapped_column(BigInteger)
    end_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # null: session open
    persons: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of names
    officers: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of names
    note: Mapped[str] = mapped_column(Text, default="")
    created_us: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    closed_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    report: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON, sessions only

    __table_args__ = (
        Index("ix_tags_case", "case_number", "start_us"),
        Index("ix_tags_status", "session", "status"),
    )


class TagCamera(Base):
    """The cameras of a tag."""

    __tablename__ = "tag_cameras"

    tag_id: Mapped[int] = mapped_column(ForeignKey("case_tags.id"), primary_key=True)
    camera_id: Mapped[str] = mapped_column(String(63), primary_key=True)

    __table_args__ = (Index("ix_tag_cameras_camera", "camera_id"),)


class ExportStatus(enum.StrEnum):
    PENDING_APPROVAL = "pending_approval"  # four-eyes: waits for a second user
    REFUSED = "refused"
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Export(Base):
    """A verifiable export package of a case's footage, built in the background."""

    __tablename__ = "exports"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_number: Mapped[str] = mapped_column(ForeignKey("cases.number"))
    request: Mapped[str] = mapped_column(Text)  # JSON: the ranges to export
    status: Mapped[str] = mapped_column(String(16), default=ExportStatus.QUEUED.value)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    path: Mapped[str | None] = mapped_column(Text, nullable=True)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_us: Mapped[int] = mapped_column(BigInteger)
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    """Four-eyes: who approved or refused it."""
    decided_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    started_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    finished_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (Index("ix_exports_case", "case_number", "created_us"),)


# -- command center: alarms and the video wall's saved views ---------------------------------------


class Alarm(Base):
    """Something an operator must notice (camera offline, recording stopped, session overdue).

    Raised once per (kind, camera) while the condition lasts; ``cleared_us`` is set when it ends
    and ``acked_us``/``acked_by`` when an operator acknowledges it. Rows are kept as the log.
    """

    __tablename__ = "alarms"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    camera_id: Mapped[str | None] = mapped_column(String(63), nullable=True)
    site_id: Mapped[str | None] = mapped_column(String(63), nullable=True)
    raised_us: Mapped[int] = mapped_column(BigInteger)
    cleared_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    acked_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    acked_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        Index("ix_alarms_open", "cleared_us", "kind", "camera_id"),
        Index("ix_alarms_raised", "raised_us"),
    )


class WallLayout(Base):
    """A named arrangement of cameras in a grid, saved by an operator."""

    __tablename__ = "wall_layouts"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    grid: Mapped[str] = mapped_column(String(8))
    cells: Mapped[str] = mapped_column(Text)  # JSON list of camera ids or null
    updated_us: Mapped[int] = mapped_column(BigInteger)


class WallTour(Base):
    """A named tour (轮巡): steps of cameras or layouts shown in turn."""

    __tablename__ = "wall_tours"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    interval_seconds: Mapped[int] = mapped_column(Integer)
    steps: Mapped[str] = mapped_column(Text)  # JSON list of steps
    updated_us: Mapped[int] = mapped_column(BigInteger)


# -- access: users, their sign-in sessions and API tokens (the access package owns the logic) -----


class User(Base):
    """Someone who may sign in. ``roles`` and ``sites`` are comma-separated (sorted) identifiers;
    empty ``sites`` means every station. Never deleted: disabling keeps their name in the audit
    trail meaningful."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[str] = mapped_column(String(100))
    sites: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(8), default="zh")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_us: Mapped[int] = mapped_column(BigInteger)
    updated_us: Mapped[int] = mapped_column(BigInteger)


class LoginSession(Base):
    """A browser's signed-in session. ``id`` is the SHA-256 of the cookie's secret (the secret
    itself is never stored); ``csrf`` is the token state-changing requests must echo."""

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    csrf: Mapped[str] = mapped_column(String(64))
    created_us: Mapped[int] = mapped_column(BigInteger)
    last_seen_us: Mapped[int] = mapped_column(BigInteger)
    expires_us: Mapped[int] = mapped_column(BigInteger)
    """The absolute limit; the idle limit counts from ``last_seen_us``."""
    ended_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    via_token_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    """Set when a kiosk URL's token opened this session."""

    __table_args__ = (Index("ix_login_sessions_user", "user_id", "ended_us"),)


class ApiToken(Base):
    """A bearer token for scripts and third-party players, acting as its user with the user's
    roles and stations. ``secret_hash`` is the SHA-256 of the token; ``prefix`` identifies it in
    lists."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(100))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_us: Mapped[int] = mapped_column(BigInteger)
    expires_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    revoked_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_used_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (Index("ix_api_tokens_user", "user_id"),)


# -- access: the append-only, hash-chained audit trail (access/audit.py writes and verifies it) ---


class AuditEntry(Base):
    """One audited action. ``hash`` is the SHA-256 of the row's content and ``prev_hash`` (the
    previous row's ``hash``); rows are only ever appended (access/DESIGN.md)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at_us: Mapped[int] = mapped_column(BigInteger)
    user: Mapped[str | None] = mapped_column(String(64), nullable=True)
    address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    action: Mapped[str] = mapped_column(String(48))
    object_type: Mapped[str] = mapped_column(String(32), default="")
    object_id: Mapped[str] = mapped_column(String(128), default="")
    site_id: Mapped[str | None] = mapped_column(String(63), nullable=True)
    outcome: Mapped[str] = mapped_column(String(16))
    details: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_log_at", "at_us"),
        Index("ix_audit_log_user", "user", "at_us"),
        Index("ix_audit_log_action", "action", "at_us"),
    )


class AuditHead(Base):
    """The one row naming the chain's last entry; appends move it with a compare-and-set, so two
    writers (the server and a command) can never fork the chain."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_id: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))
    rows_since_checkpoint: Mapped[int] = mapped_column(Integer, default=0)
    checkpoint_us: Mapped[int] = mapped_column(BigInteger, default=0)


class AuditCheckpoint(Base):
    """A signed statement that the chain's entry ``last_id`` has hash ``head_hash``: rows up to
    it cannot be edited, removed, inserted or reordered without the signature failing."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at_us: Mapped[int] = mapped_column(BigInteger)
    last_id: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(32))
    signature: Mapped[str] = mapped_column(String(128))
    """Hex Ed25519 signature of ``access.audit.checkpoint_statement``."""


# -- spot-check patrols (巡查) ---------------------------------------------------------------------


class PatrolPlan(Base):
    """What to patrol, when and how: a schedule (cron, in the branch's time zone), a scope, a
    way to sample it, the checklist and how long a station has to rectify what is found."""

    __tablename__ = "patrol_plans"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    schedule: Mapped[str | None] = mapped_column(String(100), nullable=True)
    """A cron expression; none: the plan runs only on demand."""
    scope: Mapped[str] = mapped_column(Text)  # JSON {sites, areas, cameras}
    sampling: Mapped[str] = mapped_column(Text)  # JSON {mode, per_site}
    checks: Mapped[str] = mapped_column(Text)  # JSON list of automatic check names
    conduct_items: Mapped[str] = mapped_column(Text)  # JSON list of {key, label}
    due_hours: Mapped[float] = mapped_column(Float)
    thresholds: Mapped[str] = mapped_column(Text, default="{}")  # JSON: the plan's own keys
    created_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_us: Mapped[int] = mapped_column(BigInteger)
    updated_us: Mapped[int] = mapped_column(BigInteger)
    last_fire_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    """The scheduled time of the newest run the scheduler made (missed ones are made late)."""


class PatrolRun(Base):
    """One patrol of a plan's sample: automatic checks at once, the manual part by a user."""

    __tablename__ = "patrol_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("patrol_plans.id"))
    trigger: Mapped[str] = mapped_column(String(16))  # scheduled | on_demand
    scheduled_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    """A scheduled run made after its time (the server was down): run late and marked so."""
    state: Mapped[str] = mapped_column(String(16))  # checking | open | done
    started_us: Mapped[int] = mapped_column(BigInteger)
    checked_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    finished_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    started_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    finished_by: Mapped[str | None] = mapped_column(String(100), nullable=True)

    __table_args__ = (Index("ix_patrol_runs_started", "started_us"),)


class PatrolItem(Base):
    """One room (camera) of a run's sample: its automatic results and its manual visit."""

    __tablename__ = "patrol_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("patrol_runs.id"))
    position: Mapped[int] = mapped_column(Integer)
    camera_id: Mapped[str] = mapped_column(String(63))
    site_id: Mapped[str] = mapped_column(String(63))
    results: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of check results
    snapshot: Mapped[str | None] = mapped_column(String(200), nullable=True)
    conduct: Mapped[str] = mapped_column(Text, default="{}")  # JSON {item key: ok | problem}
    note: Mapped[str] = mapped_column(Text, default="")
    visited_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    visited_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (
        Index("ix_patrol_items_run", "run_id", "position"),
        Index("ix_patrol_items_camera", "camera_id"),
    )


class Finding(Base):
    """A problem a patrol found, which the station must rectify (整改) by ``due_us``:
    open → assigned → rectified → verified, or back to reopened (patrol/DESIGN.md)."""

    __tablename__ = "patrol_findings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("patrol_runs.id"), nullable=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("patrol_items.id"), nullable=True)
    camera_id: Mapped[str] = mapped_column(String(63))
    site_id: Mapped[str] = mapped_column(String(63))
    source: Mapped[str] = mapped_column(String(16))  # automatic | manual
    kind: Mapped[str] = mapped_column(String(16))  # equipment | conduct
    item: Mapped[str] = mapped_column(String(64))  # a check name or a conduct item key
    severity: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    due_us: Mapped[int] = mapped_column(BigInteger)
    created_us: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    updated_us: Mapped[int] = mapped_column(BigInteger)
    evidence: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of evidence entries
    rectification: Mapped[str | None] = mapped_column(Text, nullable=True)
    rectified_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    rectified_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    verified_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    verified_by: Mapped[str | None] = mapped_column(String(100), nullable=True)

    __table_args__ = (
        Index("ix_findings_state", "state", "due_us"),
        Index("ix_findings_site", "site_id", "created_us"),
        Index("ix_findings_camera_item", "camera_id", "item", "state"),
    )


class FindingEvent(Base):
    """Each transition of a finding, with who made it and why (the finding's history; the audit
    trail has the same step as an entry)."""

    __tablename__ = "patrol_finding_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("patrol_findings.id"))
    at_us: Mapped[int] = mapped_column(BigInteger)
    by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    from_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_state: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_finding_events_finding", "finding_id", "at_us"),)
