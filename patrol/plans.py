"""Patrol plans: what is validated about one, when it fires, and how its sample is drawn."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from configs.schema import IDENTIFIER_PATTERN, Area, CheckThresholds, Settings
from ingest.clock import isoformat_us
from patrol.results import Check
from recorder.models import PatrolPlan

Identifier = Annotated[str, Field(pattern=IDENTIFIER_PATTERN)]

DEFAULT_CONDUCT_ITEMS = [
    {"key": "two_officers", "label": "讯问时两名民警在场"},
    {"key": "never_alone", "label": "候问室人员未单独留置"},
    {"key": "right_room", "label": "在讯问室内讯问"},
    {"key": "recording_on", "label": "同步录音录像、时间准确"},
]
"""The conduct items of a new plan (DOMAIN.md: conduct), what a patrol looks for by eye."""

SESSION_WEIGHT = 4.0
"""How much likelier a room with an open interrogation session is to be sampled (weighted)."""
FINDING_WEIGHT = 2.0
"""…and a room with a finding in the last `RECENT_FINDING_DAYS`."""
RECENT_FINDING_DAYS = 30
MAX_FIRE_TIMES = 10_000
"""Fire times looked at after an outage (only the count and the newest matter)."""


class Scope(BaseModel):
    """Which cameras a plan covers: those matching every list given."""

    model_config = ConfigDict(extra="forbid")

    sites: list[Identifier] = Field(default_factory=list, max_length=200)
    areas: list[Area] = Field(default_factory=list, max_length=20)
    cameras: list[Identifier] = Field(default_factory=list, max_length=2000)


class Sampling(BaseModel):
    """All cameras in scope, or k per station drawn at random (optionally weighted)."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["all", "random", "weighted"] = "all"
    per_site: int | None = Field(default=None, ge=1, le=500, description="k per station")

    @model_validator(mode="after")
    def _k_given(self) -> Self:
        if self.mode != "all" and self.per_site is None:
            raise ValueError(f"sampling {self.mode!r} needs per_site")
        return self


class ConductItem(BaseModel):
    """One thing a patrol user checks by eye (keys 1–9 in the manual patrol)."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=r"^[a-z0-9_]{1,32}$")
    label: str = Field(min_length=1, max_length=100)


class PlanSpec(BaseModel):
    """A plan as the API takes it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100)
    enabled: bool = True
    schedule: str | None = Field(
        default=None,
        max_length=100,
        description="cron (minute hour day month weekday) in the branch's time zone; "
        "null: on demand only",
    )
    scope: Scope = Field(default_factory=Scope)
    sampling: Sampling = Field(default_factory=Sampling)
    checks: list[Check] = Field(default_factory=lambda: list(Check), min_length=1)
    conduct_items: list[ConductItem] = Field(
        default_factory=lambda: [ConductItem(**item) for item in DEFAULT_CONDUCT_ITEMS],
        max_length=9,
    )
    due_hours: float = Field(default=72.0, ge=0.5, le=24 * 90, description="time to rectify")
    thresholds: CheckThresholds | None = Field(
        default=None, description="the plan's own thresholds (only the keys given)"
    )

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        fields = value.split()
        if len(fields) != 5 or not croniter.is_valid(value):
            raise ValueError(
                "not a cron expression of five fields (minute hour day month weekday), "
                "e.g. '0 9 * * 1-5'"
            )
        return " ".join(fields)

    @field_validator("conduct_items")
    @classmethod
    def _unique_keys(cls, items: list[ConductItem]) -> list[ConductItem]:
        keys = [item.key for item in items]
        if len(set(keys)) != len(keys):
            raise ValueError("conduct item keys must be unique")
        return items

    @field_validator("checks")
    @classmethod
    def _unique_checks(cls, checks: list[Check]) -> list[Check]:
        return list(dict.fromkeys(checks))


class ScopeError(ValueError):
    """A plan's scope names what this node does not have, or nothing at all."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def cameras_in_scope(scope: Scope, settings: Settings) -> list[tuple[str, str]]:
    """(camera id, site id) of the enabled cameras the scope covers, in config order; raises
    ScopeError naming the field for an unknown site or camera, or when nothing is covered."""
    sites = {site.id for site in settings.sites}
    cameras = {camera.id for _, camera in settings.cameras()}
    for index, site_id in enumerate(scope.sites):
        if site_id not in sites:
            raise ScopeError(f"unknown station {site_id!r}", f"scope.sites.{index}")
    for index, camera_id in enumerate(scope.cameras):
        if camera_id not in cameras:
            raise ScopeError(f"unknown camera {camera_id!r}", f"scope.cameras.{index}")
    covered = [
        (camera.id, site.id)
        for site, camera in settings.cameras()
        if camera.enabled
        and (not scope.sites or site.id in scope.sites)
        and (not scope.areas or camera.area in scope.areas)
        and (not scope.cameras or camera.id in scope.cameras)
    ]
    if not covered:
        raise ScopeError("the scope covers no enabled camera", "scope")
    return covered


def draw_sample(
    sampling: Sampling,
    candidates: Sequence[tuple[str, str]],
    weights: Mapping[str, float],
    rng: random.Random,
) -> list[tuple[str, str]]:
    """The cameras to patrol: all, or ``per_site`` per station drawn without replacement
    (weighted: by ``weights``, 1 for a camera not in it); config order is kept."""
    if sampling.mode == "all" or sampling.per_site is None:
        return list(candidates)
    by_site: dict[str, list[tuple[str, str]]] = {}
    for candidate in candidates:
        by_site.setdefault(candidate[1], []).append(candidate)
    chosen: set[str] = set()
    for members in by_site.values():
        pool = list(members)
        for _ in range(min(sampling.per_site, len(pool))):
            if sampling.mode == "weighted":
                picked = rng.choices(pool, [weights.get(c[0], 1.0) for c in pool])[0]
            else:
                picked = rng.choice(pool)
            pool.remove(picked)
            chosen.add(picked[0])
    return [candidate for candidate in candidates if candidate[0] in chosen]


def fire_times(schedule: str, zone: ZoneInfo, after_us: int, until_us: int) -> list[int]:
    """The fire times of ``schedule`` (cron in ``zone``) in (after_us, until_us], oldest first,
    at most `MAX_FIRE_TIMES` of the newest (a long outage is one late run, not thousands)."""
    start = datetime.fromtimestamp(after_us / 1_000_000, zone)
    found: list[int] = []
    times = croniter(schedule, start)
    while True:
        moment = times.get_next(datetime)
        at_us = int(moment.timestamp() * 1_000_000)
        if at_us > until_us:
            return found
        found.append(at_us)
        if len(found) > MAX_FIRE_TIMES:
            found.pop(0)


def next_fire(schedule: str, zone: ZoneInfo, after_us: int) -> int:
    """The first fire time of ``schedule`` after ``after_us``."""
    start = datetime.fromtimestamp(after_us / 1_000_000, zone)
    moment = croniter(schedule, start).get_next(datetime)
    return int(moment.timestamp() * 1_000_000)


@dataclass(frozen=True)
class Plan:
    """A stored plan, parsed."""

    id: int
    spec: PlanSpec
    last_fire_us: int | None
    created_us: int

    @classmethod
    def from_row(cls, row: PatrolPlan) -> Plan:
        spec = PlanSpec(
            name=row.name,
            enabled=row.enabled,
            schedule=row.schedule,
            scope=Scope.model_validate_json(row.scope),
            sampling=Sampling.model_validate_json(row.sampling),
            checks=json.loads(row.checks),
            conduct_items=json.loads(row.conduct_items),
            due_hours=row.due_hours,
            thresholds=(
                CheckThresholds.model_validate_json(row.thresholds)
                if row.thresholds not in ("", "{}", "null")
                else None
            ),
        )
        return cls(row.id, spec, row.last_fire_us, row.created_us)


def write_row(row: PatrolPlan, spec: PlanSpec, *, now_us: int) -> None:
    """Store ``spec`` in ``row``."""
    row.name = spec.name
    row.enabled = spec.enabled
    row.schedule = spec.schedule
    row.scope = spec.scope.model_dump_json()
    row.sampling = spec.sampling.model_dump_json()
    row.checks = json.dumps([check.value for check in spec.checks])
    row.conduct_items = json.dumps([item.model_dump() for item in spec.conduct_items])
    row.due_hours = spec.due_hours
    row.thresholds = (
        json.dumps({k: getattr(spec.thresholds, k) for k in spec.thresholds.model_fields_set})
        if spec.thresholds is not None
        else "{}"
    )
    row.updated_us = now_us


def plan_json(plan: Plan, *, zone: ZoneInfo, now_us: int) -> dict[str, Any]:
    """A plan as the API shows it, with its next scheduled run."""
    spec = plan.spec
    data: dict[str, Any] = {"id": plan.id, **spec.model_dump(mode="json")}
    if spec.thresholds is not None:
        data["thresholds"] = {
            key: getattr(spec.thresholds, key) for key in spec.thresholds.model_fields_set
        }
    data["next_run"] = None
    if spec.enabled and spec.schedule is not None:
        data["next_run"] = isoformat_us(
            next_fire(spec.schedule, zone, max(now_us, plan.created_us))
        )
    return data
