"""What an export request means: a case's tags, sessions, cameras and ranges → camera ranges.

Rules (the API documents them):
- ``tags`` / ``sessions``: those tags of the case (a session is a tag opened and closed live),
  each of its cameras over the tag's range; an open session's range ends now.
- nothing but ``ranges`` given: only those ranges. Nothing at all: every tag of the case.
- ``cameras``: only these cameras of the tags selected (every tag of the case when no tags or
  sessions are named).
- ``ranges``: a camera over an explicit range each; each must hold some footage.
Ranges end at the latest now; identical camera ranges are exported once, naming every source.
Resolution happens when the export is created, so a re-run after a restart builds the same.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from configs.schema import CaseNumberPatterns
from evidence.case_numbers import CaseNumberError, parse_case_number
from ingest.clock import isoformat_us
from recorder.catalog import MAX_SEGMENT_US
from recorder.models import Camera, Case, CaseTag, Segment, SegmentStatus, TagCamera

MAX_RANGE_US = 31 * 86_400 * 1_000_000
MAX_ITEMS = 500

LiveCheck = Callable[[str, int, int], bool]
"""(camera, start_us, end_us) → whether the segment being recorded overlaps the range."""


class ExportRequestError(Exception):
    """The request cannot be served; ``kind`` says why and ``field`` names the input."""

    def __init__(
        self,
        message: str,
        *,
        field: str,
        kind: Literal[
            "invalid", "not_found", "no_footage", "conflict", "forbidden", "busy"
        ] = "invalid",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.kind = kind


@dataclass(frozen=True)
class RangeSpec:
    """An explicit camera range of the request."""

    camera: str
    start_us: int
    end_us: int


@dataclass(frozen=True)
class Selection:
    """The request as given (``None``: not given)."""

    tags: Sequence[int] | None = None
    sessions: Sequence[int] | None = None
    cameras: Sequence[str] | None = None
    ranges: Sequence[RangeSpec] | None = None


@dataclass
class Item:
    """One camera over one range: one MP4 file in the package (more if it has gaps)."""

    camera_id: str
    start_us: int
    end_us: int
    sources: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "camera": self.camera_id,
            "start_us": self.start_us,
            "end_us": self.end_us,
            "sources": self.sources,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Item:
        return cls(
            str(data["camera"]), int(data["start_us"]), int(data["end_us"]), list(data["sources"])
        )


def find_case(session: Session, number: str, patterns: CaseNumberPatterns) -> Case:
    """The case with this number; malformed → invalid, unknown → not_found (field ``number``)."""
    try:
        parsed = parse_case_number(number, patterns)
    except CaseNumberError as error:
        raise ExportRequestError(str(error), field="number") from None
    case = session.get(Case, parsed.number)
    if case is None:
        raise ExportRequestError(f"no case {parsed.number}", field="number", kind="not_found")
    return case


def resolve(
    session: Session,
    *,
    case: Case,
    selection: Selection,
    now_us: int,
    live: LiveCheck | None = None,
) -> list[Item]:
    """The camera ranges to export, validated against the catalog."""
    known = set(session.scalars(select(Camera.id)))
    items: dict[tuple[str, int, int], Item] = {}

    def add(camera_id: str, start_us: int, end_us: int, source: dict[str, Any]) -> None:
        item = items.setdefault((camera_id, start_us, end_us), Item(camera_id, start_us, end_us))
        item.sources.append(source)

    wants_tags = (
        selection.tags is not None
        or selection.sessions is not None
        or selection.cameras is not None
        or selection.ranges is None
    )
    if wants_tags:
        for tag, camera_ids in _tags(session, case, selection, known):
            end_us = now_us if tag.end_us is None else min(tag.end_us, now_us)
            if end_us <= tag.start_us:
                continue
            for camera_id in camera_ids:
                source = {"tag": tag.id, "kind": tag.kind, "session": bool(tag.session)}
                add(camera_id, tag.start_us, end_us, source)
    for index, spec in enumerate(selection.ranges or ()):
        start_us, end_us = _check_range(index, spec, known, now_us)
        if not has_footage(session, spec.camera, start_us, end_us, live):
            raise ExportRequestError(
                f"no footage in ranges[{index}]: camera {spec.camera} from "
                f"{isoformat_us(start_us)} to {isoformat_us(end_us)}",
                field=f"ranges[{index}]",
                kind="no_footage",
            )
        add(spec.camera, start_us, end_us, {"range": index})
    result = sorted(items.values(), key=lambda i: (i.start_us, i.camera_id, i.end_us))
    if len(result) > MAX_ITEMS:
        raise ExportRequestError(
            f"{len(result)} camera ranges; one export may hold at most {MAX_ITEMS}",
            field="ranges" if selection.ranges else "tags",
        )
    if not any(has_footage(session, i.camera_id, i.start_us, i.end_us, live) for i in result):
        raise ExportRequestError(
            f"no footage in case {case.number}: {_describe(result)}",
            field=_selection_field(selection),
            kind="no_footage",
        )
    return result


def _describe(items: Sequence[Item]) -> str:
    if not items:
        return "the selection names no camera over any time range"
    shown = ", ".join(
        f"{i.camera_id} {isoformat_us(i.start_us)}–{isoformat_us(i.end_us)}" for i in items[:3]
    )
    more = f" and {len(items) - 3} more" if len(items) > 3 else ""
    return f"nothing is recorded in {shown}{more}"


def _selection_field(selection: Selection) -> str:
    for name in ("tags", "sessions", "cameras", "ranges"):
        if getattr(selection, name) is not None:
            return name
    return "number"


def _tags(
    session: Session, case: Case, selection: Selection, known: set[str]
) -> list[tuple[CaseTag, list[str]]]:
    """The selected tags of the case with their (filtered) cameras."""
    rows = {
        tag.id: tag
        for tag in session.scalars(select(CaseTag).where(CaseTag.case_number == case.number))
    }
    chosen: dict[int, CaseTag] = {}
    if selection.tags is None and selection.sessions is None:
        chosen = dict(rows)
    for tag_id in selection.tags or ():
        tag = rows.get(tag_id)
        if tag is None:
            raise ExportRequestError(
                f"no tag {tag_id} in case {case.number}", field="tags", kind="not_found"
            )
        chosen[tag_id] = tag
    for tag_id in selection.sessions or ():
        tag = rows.get(tag_id)
        if tag is None or not tag.session:
            what = "no session" if tag is None else "not an interrogation session: tag"
            raise ExportRequestError(
                f"{what} {tag_id} in case {case.number}", field="sessions", kind="not_found"
            )
        chosen[tag_id] = tag
    cameras: dict[int, list[str]] = {tag_id: [] for tag_id in chosen}
    if chosen:
        for tag_id, camera_id in session.execute(
            select(TagCamera.tag_id, TagCamera.camera_id)
            .where(TagCamera.tag_id.in_(list(chosen)))
            .order_by(TagCamera.camera_id)
        ):
            cameras[tag_id].append(camera_id)
    if selection.cameras is not None:
        wanted = list(dict.fromkeys(selection.cameras))
        for camera_id in wanted:
            if camera_id not in known:
                raise ExportRequestError(
                    f"unknown camera {camera_id!r}", field="cameras", kind="not_found"
                )
            if not any(camera_id in ids for ids in cameras.values()):
                raise ExportRequestError(
                    f"camera {camera_id} is in none of the selected tags of case {case.number}",
                    field="cameras",
                    kind="not_found",
                )
        cameras = {tag_id: [c for c in ids if c in wanted] for tag_id, ids in cameras.items()}
    return [(chosen[tag_id], cameras[tag_id]) for tag_id in sorted(chosen)]


def _check_range(index: int, spec: RangeSpec, known: set[str], now_us: int) -> tuple[int, int]:
    where = f"ranges[{index}]"
    if spec.camera not in known:
        raise ExportRequestError(
            f"unknown camera {spec.camera!r}", field=f"{where}.camera", kind="not_found"
        )
    if spec.end_us <= spec.start_us:
        raise ExportRequestError(f"{where}.end: must be after start", field=f"{where}.end")
    if spec.end_us - spec.start_us > MAX_RANGE_US:
        raise ExportRequestError(
            f"{where}.end: a range may span at most 31 days", field=f"{where}.end"
        )
    if spec.start_us >= now_us:
        raise ExportRequestError(
            f"no footage in {where}: it starts in the future", field=where, kind="no_footage"
        )
    return spec.start_us, min(spec.end_us, now_us)


def has_footage(
    session: Session, camera_id: str, start_us: int, end_us: int, live: LiveCheck | None
) -> bool:
    """Whether a present segment (or the one being recorded) overlaps [start, end)."""
    found = session.scalar(
        select(Segment.id)
        .where(
            Segment.camera_id == camera_id,
            Segment.status == SegmentStatus.OK.value,
            Segment.start_us > start_us - MAX_SEGMENT_US,  # lets the index bound the scan
            Segment.end_us > start_us,
            Segment.start_us < end_us,
        )
        .limit(1)
    )
    return found is not None or (live is not None and live(camera_id, start_us, end_us))
