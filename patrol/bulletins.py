"""Bulletins (通报): what the branch reports per station and period, from its own records.

A period is whole days in the branch's time zone. Per station: patrol runs that looked into its
rooms, rooms and cameras checked, automatic checks failed, findings by kind and by item,
rectified on time, overdue, the rectification rate; the online rate and audio presence are the
shares of the period's automatic ``online`` and ``audio`` checks that passed; recording
completeness is the share of the period its recorded cameras have footage for in the catalog
(segments present or since deleted by retention; lost ones do not count), from the moment each
camera was first configured.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from configs.schema import Settings
from ingest.clock import day_bounds_us, isoformat_us
from patrol.findings import UNRESOLVED, FindingState
from recorder.models import Camera, Finding, PatrolItem, PatrolRun, Segment, SegmentStatus

MAX_DAYS = 366


@dataclass
class StationFigures:
    """One station's figures for the period."""

    site: str
    name: str
    runs: set[int] = field(default_factory=set)
    rooms: set[str] = field(default_factory=set)
    cameras: set[str] = field(default_factory=set)
    checks: int = 0
    checks_failed: int = 0
    online: Counter[bool] = field(default_factory=Counter)
    audio: Counter[bool] = field(default_factory=Counter)
    findings: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    by_item: Counter[str] = field(default_factory=Counter)
    rectified: int = 0
    rectified_on_time: int = 0
    overdue: int = 0
    recorded_us: int = 0
    expected_us: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "name": self.name,
            "patrol_runs": len(self.runs),
            "rooms_checked": len(self.rooms),
            "cameras_checked": len(self.cameras),
            "checks": self.checks,
            "checks_failed": self.checks_failed,
            "findings": self.findings,
            "findings_by_kind": dict(self.by_kind),
            "findings_by_item": dict(self.by_item),
            "rectified": self.rectified,
            "rectified_on_time": self.rectified_on_time,
            "overdue": self.overdue,
            "rectification_rate": _rate(self.rectified, self.findings),
            "on_time_rate": _rate(self.rectified_on_time, self.findings),
            "online_rate": _rate(self.online[True], self.online[True] + self.online[False]),
            "audio_presence": _rate(self.audio[True], self.audio[True] + self.audio[False]),
            "recording_completeness": _rate(self.recorded_us, self.expected_us),
        }


def _rate(part: int, whole: int) -> float | None:
    """A percentage with one decimal, or None when there is nothing to divide by."""
    return round(100.0 * part / whole, 1) if whole else None


def bulletin(
    session: Session,
    settings: Settings,
    *,
    first: date,
    last: date,
    now_us: int,
    visible: Callable[[str], bool],
) -> dict[str, Any]:
    """The bulletin of the days ``first`` to ``last`` (inclusive) for the stations ``visible``."""
    zone = settings.zone()
    start_us, end_us = day_bounds_us(first, last, zone)
    stations = {
        site.id: StationFigures(site.id, site.name) for site in settings.sites if visible(site.id)
    }
    rooms = {camera.id: camera.room_name() for _, camera in settings.cameras()}
    daily: dict[str, Counter[str]] = defaultdict(Counter)

    items = session.execute(
        select(PatrolItem, PatrolRun.started_us)
        .join(PatrolRun, PatrolRun.id == PatrolItem.run_id)
        .where(PatrolRun.started_us >= start_us, PatrolRun.started_us < end_us)
    ).all()
    for item, started_us in items:
        figures = stations.get(item.site_id)
        if figures is None:
            continue
        figures.runs.add(item.run_id)
        figures.cameras.add(item.camera_id)
        figures.rooms.add(f"{item.site_id}/{rooms.get(item.camera_id, item.camera_id)}")
        day = _day(started_us, zone)
        daily[day]["rooms_checked"] += 1
        for result in json.loads(item.results):
            if result.get("ok") is None:
                continue
            figures.checks += 1
            figures.checks_failed += result["ok"] is False
            daily[day]["checks_failed"] += result["ok"] is False
            if result["check"] == "online":
                figures.online[bool(result["ok"])] += 1
            elif result["check"] == "audio":
                figures.audio[bool(result["ok"])] += 1

    findings = session.scalars(
        select(Finding).where(Finding.created_us >= start_us, Finding.created_us < end_us)
    ).all()
    horizon = min(now_us, end_us)
    for finding in findings:
        figures = stations.get(finding.site_id)
        if figures is None:
            continue
        figures.findings += 1
        figures.by_kind[finding.kind] += 1
        figures.by_item[finding.item] += 1
        daily[_day(finding.created_us, zone)]["findings"] += 1
        done_us = finding.rectified_us or finding.verified_us
        state = FindingState(finding.state)
        if state not in UNRESOLVED and done_us is not None:
            figures.rectified += 1
            figures.rectified_on_time += done_us <= finding.due_us
            daily[_day(done_us, zone)]["rectified"] += 1
        elif finding.due_us < horizon:
            figures.overdue += 1

    _recording(session, settings, stations, start_us, min(end_us, now_us))
    rows = [figures.as_json() for figures in stations.values()]
    totals = StationFigures("", "合计")
    for figures in stations.values():
        totals.runs |= figures.runs
        for name in ("rooms", "cameras"):
            getattr(totals, name).update(getattr(figures, name))
        for name in ("checks", "checks_failed", "findings", "rectified", "rectified_on_time",
                     "overdue", "recorded_us", "expected_us"):  # fmt: skip
            setattr(totals, name, getattr(totals, name) + getattr(figures, name))
        for name in ("online", "audio", "by_kind", "by_item"):
            getattr(totals, name).update(getattr(figures, name))
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return {
        "start": isoformat_us(start_us),
        "end": isoformat_us(end_us),
        "first_day": first.isoformat(),
        "last_day": last.isoformat(),
        "timezone": settings.timezone,
        "stations": rows,
        "totals": totals.as_json(),
        "daily": [{"day": d.isoformat(), **daily.get(d.isoformat(), {})} for d in days],
    }


def _day(at_us: int, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(at_us / 1_000_000, zone).date().isoformat()


def _recording(
    session: Session,
    settings: Settings,
    stations: dict[str, StationFigures],
    start_us: int,
    end_us: int,
) -> None:
    """Recorded and expected time of each station's recorded cameras in [start_us, end_us)."""
    if end_us <= start_us:
        return
    first_seen = dict(session.execute(select(Camera.id, Camera.first_seen_us)).all())
    counted = [SegmentStatus.OK.value, SegmentStatus.DELETED.value]
    for site, camera in settings.cameras():
        figures = stations.get(site.id)
        if figures is None or not (camera.enabled and camera.record):
            continue
        since = max(start_us, first_seen.get(camera.id, end_us))
        if since >= end_us:
            continue
        figures.expected_us += end_us - since
        inside = session.scalar(
            select(func.coalesce(func.sum(Segment.end_us - Segment.start_us), 0)).where(
                Segment.camera_id == camera.id,
                Segment.status.in_(counted),
                Segment.start_us >= since,
                Segment.end_us <= end_us,
            )
        )
        edges = session.scalars(
            select(Segment).where(
                Segment.camera_id == camera.id,
                Segment.status.in_(counted),
                Segment.start_us < end_us,
                Segment.end_us > since,
                (Segment.start_us < since) | (Segment.end_us > end_us),
            )
        ).all()
        clipped = sum(min(s.end_us, end_us) - max(s.start_us, since) for s in edges)
        figures.recorded_us += int(inside or 0) + clipped


CSV_COLUMNS = [
    ("name", "单位"),
    ("patrol_runs", "巡查次数"),
    ("rooms_checked", "巡查房间数"),
    ("cameras_checked", "巡查点位数"),
    ("checks_failed", "自动检测异常"),
    ("findings", "发现问题"),
    ("rectified", "已整改"),
    ("rectified_on_time", "按期整改"),
    ("overdue", "逾期未整改"),
    ("rectification_rate", "整改率%"),
    ("online_rate", "在线率%"),
    ("recording_completeness", "录像完整率%"),
    ("audio_presence", "音频正常率%"),
]


def bulletin_csv(data: dict[str, Any]) -> str:
    """The bulletin as CSV (Chinese headings, one row per station and a total)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([heading for _, heading in CSV_COLUMNS])
    for row in [*data["stations"], data["totals"]]:
        writer.writerow(["" if row[key] is None else row[key] for key, _ in CSV_COLUMNS])
    return out.getvalue()
