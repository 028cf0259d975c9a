"""Patrols as the server runs them: plans, the scheduler, runs, findings (patrol/DESIGN.md).

Catalog work is short transactions on worker threads; checks run on the checker's pool. The
scheduler is one asyncio task. Automatic steps (a scheduled run, a finding opened or verified by
a check) are written to the audit trail here, as the ``scheduler``; steps users take are audited
by their routes, with their name and address.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from configs.schema import Settings
from ingest.clock import Clock, isoformat_us
from patrol import plans
from patrol.checker import CameraChecker
from patrol.findings import (
    CHECK_SEVERITY,
    UNRESOLVED,
    UNVERIFIED,
    Action,
    FindingState,
    Severity,
    TransitionError,
    next_state,
)
from patrol.plans import Plan, PlanSpec
from patrol.results import CheckResult
from recorder.files import write_durably
from recorder.models import (
    EvidenceHold,
    Finding,
    FindingEvent,
    PatrolItem,
    PatrolPlan,
    PatrolRun,
)

logger = logging.getLogger(__name__)

SCHEDULER_SECONDS = 20.0
"""How often the scheduler looks for plans due."""
SETTLE_SECONDS = 45.0
"""After a start the scheduler waits at most this long for the cameras to connect and their
Hubs to hold a picture before it runs what is due."""
LATE_AFTER_SECONDS = 120.0
"""A scheduled run started more than this after its time is marked late."""
SYSTEM = "scheduler"
"""Who takes the automatic steps, in findings' history and the audit trail."""
AUTOMATIC_CHECK = "automatic check"
HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US


AuditRecorder = Callable[[str, str, str, str | None, dict[str, Any]], object]
"""Writes an automatic step to the audit trail as the scheduler: (action, object type, object
id, station, details). The composition root binds it to the node's trail."""


class PatrolError(ValueError):
    """A request the patrol service refuses (unknown plan, run or finding; a bad transition)."""

    def __init__(self, message: str, field: str | None = None, *, missing: bool = False) -> None:
        super().__init__(message)
        self.field = field
        self.missing = missing


class PatrolConflict(PatrolError):
    """A request that conflicts with what exists (a plan name taken, a plan with runs)."""


@dataclass(frozen=True)
class Transition:
    """A finding's step, as the route audits it."""

    finding: dict[str, Any]
    action: str
    from_state: FindingState


class PatrolService:
    """Plans, runs and findings of one node."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        clock: Clock,
        checker: CameraChecker,
        audit: AuditRecorder,
        *,
        publish: Callable[[str, dict[str, Any]], object] = lambda kind, data: None,
        session_cameras: Callable[[], set[str]] = set,
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._clock = clock
        self._checker = checker
        self._audit = audit
        self._publish = publish
        self._session_cameras = session_cameras
        self.zone = settings.zone()
        self.snapshots = settings.patrol.path / "snapshots"
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._overdue: dict[str, str] = {}

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        await asyncio.to_thread(self.refresh_overdue)
        self._task = asyncio.get_running_loop().create_task(self._schedule_forever())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    # -- plans ------------------------------------------------------------------------------------

    def plans(self) -> list[dict[str, Any]]:
        now = self._clock.wall_us()
        with self._sessions() as session:
            rows = session.scalars(select(PatrolPlan).order_by(PatrolPlan.id)).all()
            return [plans.plan_json(Plan.from_row(r), zone=self.zone, now_us=now) for r in rows]

    def plan(self, plan_id: int) -> dict[str, Any]:
        with self._sessions() as session:
            row = self._plan_row(session, plan_id)
            return plans.plan_json(Plan.from_row(row), zone=self.zone, now_us=self._clock.wall_us())

    def save_plan(self, spec: PlanSpec, by: str, plan_id: int | None = None) -> dict[str, Any]:
        """Create (``plan_id`` None) or replace a plan; raises PatrolError naming the field."""
        try:
            plans.cameras_in_scope(spec.scope, self._settings)
        except plans.ScopeError as error:
            raise PatrolError(str(error), error.field) from None
        now = self._clock.wall_us()
        with self._sessions.begin() as session:
            taken = session.scalar(
                select(PatrolPlan.id).where(
                    PatrolPlan.name == spec.name, PatrolPlan.id != (plan_id or 0)
                )
            )
            if taken is not None:
                raise PatrolConflict(f"a plan named {spec.name!r} exists", "name")
            if plan_id is None:
                row = PatrolPlan(created_by=by, created_us=now, last_fire_us=now)
                session.add(row)
            else:
                row = self._plan_row(session, plan_id)
                if spec.schedule != row.schedule:
                    row.last_fire_us = now  # a new schedule starts from now, not from the past
            plans.write_row(row, spec, now_us=now)
            session.flush()
            saved = row.id
        self._wake.set()
        return self.plan(saved)

    def delete_plan(self, plan_id: int) -> None:
        with self._sessions.begin() as session:
            row = self._plan_row(session, plan_id)
            runs = session.scalar(select(func.count()).where(PatrolRun.plan_id == plan_id))
            if runs:
                raise PatrolConflict(
                    f"plan {plan_id} has {runs} runs in the record: disable it instead", "plan_id"
                )
            session.delete(row)

    @staticmethod
    def _plan_row(session: Session, plan_id: int) -> PatrolPlan:
        row = session.get(PatrolPlan, plan_id)
        if row is None:
            raise PatrolError(f"no plan {plan_id}", "plan_id", missing=True)
        return row

    # -- runs -------------------------------------------------------------------------------------

    def run_now(self, plan_id: int, by: str) -> int:
        """Run a plan on demand (blocking: sample, check, open findings); returns the run id."""
        with self._sessions() as session:
            plan = Plan.from_row(self._plan_row(session, plan_id))
        run_id = self._start_run(plan, trigger="on_demand", by=by)
        self._check_run(run_id, plan)
        return run_id

    def _start_run(
        self,
        plan: Plan,
        *,
        trigger: str,
        by: str,
        scheduled_us: int | None = None,
        late: bool = False,
    ) -> int:
        try:
            candidates = plans.cameras_in_scope(plan.spec.scope, self._settings)
        except plans.ScopeError as error:
            raise PatrolError(f"plan {plan.spec.name!r}: {error}", error.field) from None
        now = self._clock.wall_us()
        with self._sessions.begin() as session:
            run = PatrolRun(
                plan_id=plan.id, trigger=trigger, scheduled_us=scheduled_us, late=late,
                state="checking", started_us=now, started_by=by,
            )  # fmt: skip
            session.add(run)
            if scheduled_us is not None:
                session.get_one(PatrolPlan, plan.id).last_fire_us = scheduled_us
            session.flush()
            weights = self._weights(session, now) if plan.spec.sampling.mode == "weighted" else {}
            # unpredictable, so no station can tell which rooms the next patrol looks into
            sample = plans.draw_sample(
                plan.spec.sampling, candidates, weights, random.SystemRandom()
            )
            for position, (camera_id, site_id) in enumerate(sample):
                session.add(
                    PatrolItem(
                        run_id=run.id, position=position, camera_id=camera_id, site_id=site_id
                    )
                )
            run_id = run.id
        logger.info(
            "patrol run %d of plan %r: %d cameras (%s)",
            run_id,
            plan.spec.name,
            len(sample),
            trigger,
        )
        return run_id

    def runs(
        self, plan_id: int | None, limit: int, visible: Callable[[str], bool]
    ) -> list[dict[str, Any]]:
        """Newest first; a run shows only the rooms ``visible`` (and is left out without any)."""
        with self._sessions() as session:
            query = select(PatrolRun).order_by(PatrolRun.started_us.desc()).limit(limit * 4)
            if plan_id is not None:
                query = query.where(PatrolRun.plan_id == plan_id)
            shown = []
            for run in session.scalars(query):
                data = self._run_json(session, run, visible, items=False)
                if data is not None:
                    shown.append(data)
                if len(shown) == limit:
                    break
            return shown

    def run(self, run_id: int, visible: Callable[[str], bool]) -> dict[str, Any]:
        """A run's report: its rooms, their results, visits and findings."""
        with self._sessions() as session:
            run = session.get(PatrolRun, run_id)
            data = self._run_json(session, run, visible, items=True) if run else None
            if data is None:
                raise PatrolError(f"no run {run_id}", "run_id", missing=True)
            return data

    def _run_json(
        self, session: Session, run: PatrolRun, visible: Callable[[str], bool], *, items: bool
    ) -> dict[str, Any] | None:
        rows = [
            item
            for item in session.scalars(
                select(PatrolItem).where(PatrolItem.run_id == run.id).order_by(PatrolItem.position)
            )
            if visible(item.site_id)
        ]
        if not rows:
            return None
        plan = session.get_one(PatrolPlan, run.plan_id)
        findings = session.scalars(
            select(Finding).where(Finding.run_id == run.id).order_by(Finding.id)
        ).all()
        findings = [f for f in findings if visible(f.site_id)]
        failed = 0
        for item in rows:
            failed += sum(1 for r in json.loads(item.results) if r.get("ok") is False)
        data: dict[str, Any] = {
            "id": run.id, "plan_id": run.plan_id, "plan": plan.name, "trigger": run.trigger,
            "scheduled": isoformat_us(run.scheduled_us) if run.scheduled_us else None,
            "late": run.late, "state": run.state, "started": isoformat_us(run.started_us),
            "checked": isoformat_us(run.checked_us) if run.checked_us else None,
            "finished": isoformat_us(run.finished_us) if run.finished_us else None,
            "started_by": run.started_by, "finished_by": run.finished_by,
            "cameras": len(rows), "failed_checks": failed, "findings": len(findings),
            "visited": sum(1 for item in rows if item.visited_us is not None),
        }  # fmt: skip
        if items:
            data["conduct_items"] = json.loads(plan.conduct_items)
            data["items"] = [item_json(item) for item in rows]
            data["finding_list"] = [finding_json(f) for f in findings]
        return data

    def item_snapshot(self, run_id: int, item_id: int, visible: Callable[[str], bool]) -> Path:
        with self._sessions() as session:
            item = session.get(PatrolItem, item_id)
            if item is None or item.run_id != run_id or not visible(item.site_id):
                raise PatrolError(f"no room {item_id} in run {run_id}", "item_id", missing=True)
            if item.snapshot is None:
                raise PatrolError(f"room {item_id} has no picture", "item_id", missing=True)
            return self.snapshot_path(item.snapshot)

    def item_camera(self, run_id: int, item_id: int, visible: Callable[[str], bool]) -> str:
        """The camera of a run's room; raises PatrolError."""
        with self._sessions() as session:
            item = session.get(PatrolItem, item_id)
            if item is None or item.run_id != run_id or not visible(item.site_id):
                raise PatrolError(f"no room {item_id} in run {run_id}", "item_id", missing=True)
            return item.camera_id

    def visit(
        self,
        run_id: int,
        item_id: int,
        by: str,
        *,
        conduct: dict[str, str],
        note: str,
        severity: Severity,
        picture: bytes | None,
        clip_seconds: float,
        visible: Callable[[str], bool],
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """A patrol user's visit of a room: each conduct item ``ok`` or ``problem``, a note, and
        the room's picture now (and a clip of the last ``clip_seconds`` of its footage, held)
        as evidence. Every problem opens a manual finding. Returns the room and the findings
        opened; raises PatrolError."""
        now = self._clock.wall_us()
        opened: list[dict[str, Any]] = []
        with self._sessions.begin() as session:
            item = session.get(PatrolItem, item_id)
            if item is None or item.run_id != run_id or not visible(item.site_id):
                raise PatrolError(f"no room {item_id} in run {run_id}", "item_id", missing=True)
            run = session.get_one(PatrolRun, run_id)
            if run.state != "open":
                raise PatrolConflict(
                    f"run {run_id} is {run.state}: rooms are visited while it is open", "run_id"
                )
            plan = Plan.from_row(session.get_one(PatrolPlan, run.plan_id))
            labels = {i.key: i.label for i in plan.spec.conduct_items}
            for key in conduct:
                if key not in labels:
                    raise PatrolError(f"the plan has no conduct item {key!r}", f"conduct.{key}")
            problems = [key for key, verdict in conduct.items() if verdict == "problem"]
            if problems and not note.strip():
                raise PatrolError("a problem needs a note saying what was seen", "note")
            evidence: list[dict[str, Any]] = []
            if picture is not None:
                path = self._keep_snapshot(picture, f"visit-{run_id}-{item.camera_id}", now)
                evidence.append(
                    {"type": "snapshot", "at": isoformat_us(now), "by": by, "snapshot": path}
                )
            if clip_seconds > 0 and problems:
                hold = EvidenceHold(
                    camera_id=item.camera_id, start_us=now - int(clip_seconds * 1_000_000),
                    end_us=now, created_us=now,
                    reason=f"巡查发现 patrol run {run_id}: {', '.join(problems)}",
                )  # fmt: skip
                session.add(hold)
                session.flush()
                evidence.append({
                    "type": "clip", "at": isoformat_us(now), "by": by, "hold_id": hold.id,
                    "start": isoformat_us(hold.start_us), "end": isoformat_us(now),
                    "camera": item.camera_id,
                })  # fmt: skip
            item.conduct = json.dumps(conduct, ensure_ascii=False)
            item.note = note
            item.visited_by, item.visited_us = by, now
            for key in problems:
                finding = Finding(
                    run_id=run_id, item_id=item.id, camera_id=item.camera_id,
                    site_id=item.site_id, source="manual", kind="conduct", item=key,
                    severity=severity.value, description=f"{labels[key]}：{note}".strip("："),
                    state=FindingState.OPEN.value,
                    due_us=now + int(plan.spec.due_hours * HOUR_US), created_us=now,
                    created_by=by, updated_us=now,
                    evidence=json.dumps(evidence, ensure_ascii=False),
                )  # fmt: skip
                session.add(finding)
                session.flush()
                self._event(session, finding, None, FindingState.OPEN, by, note, now)
                opened.append(finding_json(finding))
            room = item_json(item)
        self.refresh_overdue()
        return room, opened

    def finish(self, run_id: int, by: str, visible: Callable[[str], bool]) -> dict[str, Any]:
        """End a run's manual part (rooms not visited stay so, and the report says it)."""
        now = self._clock.wall_us()
        with self._sessions.begin() as session:
            run = session.get(PatrolRun, run_id)
            if run is None:
                raise PatrolError(f"no run {run_id}", "run_id", missing=True)
            if run.state != "open":
                raise PatrolConflict(f"run {run_id} is {run.state}, not open", "run_id")
            run.state, run.finished_us, run.finished_by = "done", now, by
        self._publish("patrol", {"run_id": run_id, "state": "done"})
        return self.run(run_id, visible)

    def _weights(self, session: Session, now_us: int) -> dict[str, float]:
        weights: dict[str, float] = {}
        recent = now_us - plans.RECENT_FINDING_DAYS * DAY_US
        for camera_id in session.scalars(
            select(Finding.camera_id).where(Finding.created_us >= recent).distinct()
        ):
            weights[camera_id] = plans.FINDING_WEIGHT
        for camera_id in self._session_cameras():
            weights[camera_id] = weights.get(camera_id, 1.0) * plans.SESSION_WEIGHT
        return weights

    def _check_run(self, run_id: int, plan: Plan) -> None:
        with self._sessions() as session:
            items = session.scalars(
                select(PatrolItem).where(PatrolItem.run_id == run_id).order_by(PatrolItem.position)
            ).all()
            cameras = [item.camera_id for item in items]
        running = set(self._checker.cameras())
        checked = [c for c in cameras if c in running]
        results = self._checker.check_many(
            checked, plan.spec.checks, overrides=plan.spec.thresholds
        )
        by_camera: dict[str, list[CheckResult]] = {}
        for result in results:
            by_camera.setdefault(result.camera, []).append(result)
        now = self._clock.wall_us()
        opened: list[dict[str, Any]] = []
        verified: list[dict[str, Any]] = []
        with self._sessions.begin() as session:
            for item in session.scalars(select(PatrolItem).where(PatrolItem.run_id == run_id)):
                found = by_camera.get(item.camera_id, [])
                item.results = json.dumps([r.as_json() for r in found], ensure_ascii=False)
                snapshot = next((r.snapshot for r in found if r.snapshot), None)
                if snapshot is not None:
                    item.snapshot = self._keep_snapshot(
                        snapshot, f"run-{run_id}-{item.camera_id}", now
                    )
                o, v = self._apply_results(session, item, found, plan, now)
                opened += o
                verified += v
            run = session.get_one(PatrolRun, run_id)
            run.checked_us = now
            run.state = "open" if plan.spec.conduct_items else "done"
            if run.state == "done":
                run.finished_us, run.finished_by = now, SYSTEM
        for finding in opened:
            self._audit_system("finding_open", finding)
        for finding in verified:
            self._audit_system("finding_auto_verify", finding)
        self.refresh_overdue()
        self._publish("patrol", {"run_id": run_id, "plan": plan.spec.name, "state": "checked",
                                 "findings_opened": len(opened)})  # fmt: skip

    def _apply_results(
        self,
        session: Session,
        item: PatrolItem,
        results: list[CheckResult],
        plan: Plan,
        now: int,
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Findings opened for failing checks, and automatic findings verified by passing ones."""
        opened, verified = [], []
        for result in results:
            existing = session.scalars(
                select(Finding).where(
                    Finding.camera_id == item.camera_id,
                    Finding.item == result.check.value,
                    Finding.source == "automatic",
                    Finding.state.in_([s.value for s in UNVERIFIED]),
                )
            ).first()
            if result.ok is False:
                evidence = self._evidence_of(item, result, now)
                if existing is not None:
                    existing.evidence = json.dumps(
                        [*json.loads(existing.evidence), evidence], ensure_ascii=False
                    )
                    existing.updated_us = now
                    continue
                finding = Finding(
                    run_id=item.run_id, item_id=item.id, camera_id=item.camera_id,
                    site_id=item.site_id, source="automatic", kind="equipment",
                    item=result.check.value, severity=CHECK_SEVERITY[result.check].value,
                    description=_describe(result), state=FindingState.OPEN.value,
                    due_us=now + int(plan.spec.due_hours * HOUR_US), created_us=now,
                    created_by=SYSTEM, updated_us=now,
                    evidence=json.dumps([evidence], ensure_ascii=False),
                )  # fmt: skip
                session.add(finding)
                session.flush()
                self._event(
                    session, finding, None, FindingState.OPEN, SYSTEM, finding.description, now
                )
                opened.append(finding_json(finding))
            elif result.ok is True and existing is not None:
                before = FindingState(existing.state)
                existing.state = next_state(before, Action.AUTO_VERIFY, "").value
                existing.verified_us, existing.verified_by = now, AUTOMATIC_CHECK
                existing.updated_us = now
                note = f"run {item.run_id}: {result.check.value} passed ({_value_text(result)})"
                self._event(
                    session, existing, before, FindingState.VERIFIED, AUTOMATIC_CHECK, note, now
                )
                verified.append(finding_json(existing))
        return opened, verified

    def _evidence_of(self, item: PatrolItem, result: CheckResult, now: int) -> dict[str, Any]:
        return {
            "type": "check", "at": isoformat_us(now), "run_id": item.run_id,
            "check": result.check.value, "value": result.as_json()["value"],
            "threshold": result.as_json()["threshold"], "snapshot": item.snapshot,
        }  # fmt: skip

    def _keep_snapshot(self, jpeg: bytes, name: str, now: int) -> str:
        """Store a JPEG under the snapshots directory; returns its path relative to it."""
        day = isoformat_us(now)[:10].replace("-", "/")
        relative = f"{day}/{name}-{now}.jpg"
        write_durably(self.snapshots / relative, jpeg)
        return relative

    def snapshot_path(self, relative: str) -> Path:
        """The file of a stored snapshot (a relative path from a row; never from a client)."""
        path = (self.snapshots / relative).resolve()
        if not path.is_relative_to(self.snapshots.resolve()):
            raise PatrolError("no such snapshot", missing=True)
        return path

    # -- the scheduler ----------------------------------------------------------------------------

    def due(self, now_us: int) -> list[tuple[Plan, int, int]]:
        """(plan, newest fire time due, how many fire times it stands for) of each plan due."""
        due = []
        with self._sessions() as session:
            rows = session.scalars(
                select(PatrolPlan).where(
                    PatrolPlan.enabled.is_(True), PatrolPlan.schedule.is_not(None)
                )
            ).all()
            for row in rows:
                plan = Plan.from_row(row)
                assert plan.spec.schedule is not None
                after = plan.last_fire_us if plan.last_fire_us is not None else plan.created_us
                times = plans.fire_times(plan.spec.schedule, self.zone, after, now_us)
                if times:
                    due.append((plan, times[-1], len(times)))
        return due

    def run_due(self) -> list[int]:
        """Make and check the runs due now (blocking); returns their ids."""
        now = self._clock.wall_us()
        made = []
        for plan, fire_us, count in self.due(now):
            late = now - fire_us > LATE_AFTER_SECONDS * 1_000_000
            try:
                run_id = self._start_run(
                    plan, trigger="scheduled", by=SYSTEM, scheduled_us=fire_us, late=late
                )
            except PatrolError as error:
                logger.warning("scheduled patrol %r not run: %s", plan.spec.name, error)
                with self._sessions.begin() as session:
                    session.get_one(PatrolPlan, plan.id).last_fire_us = fire_us
                continue
            self._audit(
                "patrol_run", "patrol_run", str(run_id), None,
                {"plan": plan.spec.name, "scheduled": isoformat_us(fire_us), "late": late,
                 "fire_times": count},
            )  # fmt: skip
            self._check_run(run_id, plan)
            made.append(run_id)
        return made

    async def _schedule_forever(self) -> None:
        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline:
            if self._checker.settled():
                break
            await asyncio.sleep(0.5)
        while True:
            try:
                await asyncio.to_thread(self.run_due)
                await asyncio.to_thread(self.refresh_overdue)
            except Exception:
                logger.exception("patrol scheduler failed; trying again")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), SCHEDULER_SECONDS)

    # -- findings ---------------------------------------------------------------------------------

    def refresh_overdue(self) -> None:
        """Recompute the cameras with overdue findings (for the alarm monitor)."""
        now = self._clock.wall_us()
        overdue: dict[str, list[int]] = {}
        with self._sessions() as session:
            for finding in session.scalars(
                select(Finding).where(
                    Finding.state.in_([s.value for s in UNRESOLVED]), Finding.due_us < now
                )
            ):
                overdue.setdefault(finding.camera_id, []).append(finding.id)
        self._overdue = {
            camera: f"{len(ids)} finding(s) past their rectification deadline: "
            + ", ".join(f"#{i}" for i in ids[:5])
            for camera, ids in overdue.items()
        }

    def overdue(self, now_us: int) -> dict[str, str]:
        """Cameras with overdue findings, with a detail (event loop: no I/O)."""
        del now_us
        return self._overdue

    def findings(
        self,
        *,
        states: list[FindingState] | None,
        site: str | None,
        camera: str | None,
        overdue: bool,
        limit: int,
        visible: Callable[[str], bool],
    ) -> list[dict[str, Any]]:
        """Findings, newest first, filtered (only the stations ``visible``)."""
        query = select(Finding).order_by(Finding.created_us.desc(), Finding.id.desc())
        if states:
            query = query.where(Finding.state.in_([s.value for s in states]))
        if site is not None:
            query = query.where(Finding.site_id == site)
        if camera is not None:
            query = query.where(Finding.camera_id == camera)
        if overdue:
            query = query.where(
                Finding.state.in_([s.value for s in UNRESOLVED]),
                Finding.due_us < self._clock.wall_us(),
            )
        with self._sessions() as session:
            found = [f for f in session.scalars(query.limit(limit * 4)) if visible(f.site_id)]
            return [self._with_overdue(finding_json(f)) for f in found[:limit]]

    def finding(self, finding_id: int, visible: Callable[[str], bool]) -> dict[str, Any]:
        with self._sessions() as session:
            finding = session.get(Finding, finding_id)
            if finding is None or not visible(finding.site_id):
                raise PatrolError(f"no finding {finding_id}", "finding_id", missing=True)
            events = session.scalars(
                select(FindingEvent)
                .where(FindingEvent.finding_id == finding_id)
                .order_by(FindingEvent.at_us, FindingEvent.id)
            ).all()
            return self._with_overdue(finding_json(finding, events))

    def _with_overdue(self, data: dict[str, Any]) -> dict[str, Any]:
        due = data["due"]
        data["overdue"] = FindingState(data["state"]) in UNRESOLVED and due < isoformat_us(
            self._clock.wall_us()
        )
        return data

    def evidence_path(self, finding_id: int, index: int, visible: Callable[[str], bool]) -> Path:
        evidence = self.finding(finding_id, visible)["evidence"]
        if index >= len(evidence) or not evidence[index].get("snapshot"):
            raise PatrolError(f"finding {finding_id} has no picture {index}", "index", missing=True)
        return self.snapshot_path(str(evidence[index]["snapshot"]))

    def transition(
        self,
        finding_id: int,
        action: Action,
        by: str,
        *,
        note: str = "",
        owner: str | None = None,
        visible: Callable[[str], bool] = lambda site: True,
        evidence: Callable[[str], bytes | None] = lambda camera: None,
    ) -> Transition:
        """A user's step on a finding (assign, rectify, verify, reopen); raises PatrolError."""
        now = self._clock.wall_us()
        with self._sessions.begin() as session:
            finding = session.get(Finding, finding_id)
            if finding is None or not visible(finding.site_id):
                raise PatrolError(f"no finding {finding_id}", "finding_id", missing=True)
            before = FindingState(finding.state)
            try:
                after = next_state(before, action, note)
            except TransitionError as error:
                raise PatrolConflict(str(error), error.field) from None
            finding.state = after.value
            finding.updated_us = now
            if action is Action.ASSIGN:
                finding.owner = owner or by
            elif action is Action.RECTIFY:
                finding.rectification, finding.rectified_us, finding.rectified_by = note, now, by
                picture = evidence(finding.camera_id)
                if picture is not None:
                    path = self._keep_snapshot(picture, f"finding-{finding.id}-rectified", now)
                    entries = [*json.loads(finding.evidence),
                               {"type": "rectification", "at": isoformat_us(now), "by": by,
                                "snapshot": path}]  # fmt: skip
                    finding.evidence = json.dumps(entries, ensure_ascii=False)
            elif action is Action.VERIFY:
                finding.verified_us, finding.verified_by = now, by
            self._event(session, finding, before, after, by, note, now)
            result = finding_json(finding)
        self.refresh_overdue()
        self._publish("finding", {"id": finding_id, "state": after.value, "site": result["site"]})
        return Transition(result, action.value, before)

    def _event(
        self, session: Session, finding: Finding, before: FindingState | None,
        after: FindingState, by: str, note: str, now: int,
    ) -> None:  # fmt: skip
        session.add(
            FindingEvent(
                finding_id=finding.id, at_us=now, by=by,
                from_state=before.value if before else None, to_state=after.value, note=note,
            )
        )  # fmt: skip

    def _audit_system(self, action: str, finding: dict[str, Any]) -> None:
        self._audit(
            action, "finding", str(finding["id"]), finding["site"],
            {"camera": finding["camera"], "item": finding["item"], "state": finding["state"]},
        )  # fmt: skip


def finding_json(finding: Finding, events: Iterable[FindingEvent] = ()) -> dict[str, Any]:
    """A finding as the API shows it."""
    data: dict[str, Any] = {
        "id": finding.id,
        "run_id": finding.run_id,
        "camera": finding.camera_id,
        "site": finding.site_id,
        "source": finding.source,
        "kind": finding.kind,
        "item": finding.item,
        "severity": finding.severity,
        "description": finding.description,
        "state": finding.state,
        "owner": finding.owner,
        "due": isoformat_us(finding.due_us),
        "created": isoformat_us(finding.created_us),
        "created_by": finding.created_by,
        "updated": isoformat_us(finding.updated_us),
        "evidence": json.loads(finding.evidence),
        "rectification": finding.rectification,
        "rectified": isoformat_us(finding.rectified_us) if finding.rectified_us else None,
        "rectified_by": finding.rectified_by,
        "verified": isoformat_us(finding.verified_us) if finding.verified_us else None,
        "verified_by": finding.verified_by,
    }
    if events:
        data["history"] = [
            {"at": isoformat_us(e.at_us), "by": e.by, "from": e.from_state, "to": e.to_state,
             "note": e.note}
            for e in events
        ]  # fmt: skip
    return data


def item_json(item: PatrolItem) -> dict[str, Any]:
    """A room of a run as the API shows it."""
    return {
        "id": item.id,
        "position": item.position,
        "camera": item.camera_id,
        "site": item.site_id,
        "results": json.loads(item.results),
        "has_snapshot": item.snapshot is not None,
        "conduct": json.loads(item.conduct),
        "note": item.note,
        "visited_by": item.visited_by,
        "visited": isoformat_us(item.visited_us) if item.visited_us else None,
    }


def _value_text(result: CheckResult) -> str:
    value = result.as_json()["value"]
    return f"{value}{result.unit}" if value is not None else result.detail


def _describe(result: CheckResult) -> str:
    """The finding's description from a failing check (Chinese first, as the pages show it)."""
    threshold = result.as_json()["threshold"]
    text = f"{result.check.label_zh}：{_value_text(result)}（阈值 {threshold}{result.unit}）"
    return f"{text} {result.detail}".strip()
