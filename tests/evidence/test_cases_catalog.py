"""Cases in the catalog on SQLite and PostgreSQL: tags, sessions, search, and which holds stand."""

from __future__ import annotations

import pytest

from configs.schema import CaseNumberPatterns
from evidence import cases
from evidence.case_numbers import parse_case_number
from recorder.catalog import active_holds
from recorder.db import make_engine, migrate, session_factory
from recorder.models import CaseStatus, TagKind

NUMBER = "A6103020000002026110007"
OTHER = "B6103020000002026110001"


def spec(cameras: list[str], start: int, end: int | None, persons: list[str]) -> cases.TagSpec:
    return cases.TagSpec(
        kind=TagKind.INTERROGATION,
        camera_ids=cameras,
        site_id="qingjiang",
        room="讯问室1",
        start_us=start,
        end_us=end,
        persons=persons,
        officers=["李警官"],
        note="",
        by="inspector",
    )


def test_cases_tags_sessions_and_holds(catalog_url: str) -> None:
    engine = make_engine(catalog_url)
    migrate(engine)
    sessions = session_factory(engine)
    patterns = CaseNumberPatterns()
    with sessions.begin() as session:
        case = cases.create_case(
            session, number=parse_case_number(NUMBER, patterns), title="张某盗窃案", now_us=1
        )
        other = cases.create_case(
            session, number=parse_case_number(OTHER, patterns), title="行政", now_us=2
        )
        cases.add_tag(
            session, case=case, spec=spec(["a"], 100, 200, ["张三"]), live_session=False, now_us=3
        )
        live = cases.add_tag(
            session,
            case=other,
            spec=spec(["a", "b"], 300, None, ["王五"]),
            live_session=True,
            now_us=4,
        )
        live_id = live.id
    with sessions() as session:
        with pytest.raises(cases.ConflictError):
            cases.create_case(
                session, number=parse_case_number(NUMBER, patterns), title="x", now_us=5
            )
        assert [c.number for c in cases.search_cases(session, person="张三")] == [NUMBER]
        assert [c.number for c in cases.search_cases(session, person="王五")] == [OTHER]
        assert [c.number for c in cases.search_cases(session, text="盗窃")] == [NUMBER]
        assert {c.number for c in cases.search_cases(session, day=(150, 160))} == {NUMBER}
        assert {c.number for c in cases.search_cases(session, day=(1000, 2000))} == {OTHER}
        assert cases.overlapping_open_session(session, ["b"]).id == live_id  # type: ignore[union-attr]
        assert cases.overlapping_open_session(session, ["c"]) is None
        assert len(active_holds(session)) == 3  # one per camera of each tag
    with sessions.begin() as session:
        tag = cases.get_tag(session, live_id, live_session=True)
        cases.close_session(session, tag, end_us=400, now_us=400)
        with pytest.raises(cases.ConflictError):
            cases.close_session(session, tag, end_us=500, now_us=500)
    with sessions.begin() as session:
        holds = cases.case_holds(session, OTHER)
        assert [h.end_us for h in holds] == [400, 400]
        for hold in holds:
            cases.release_hold(session, hold.id, reason="移交", by="inspector", now_us=600)
    with sessions.begin() as session:
        assert len(active_holds(session)) == 3  # released, but the case is still open
        cases.close_case(session, cases.get_case(session, OTHER), now_us=700)
    with sessions() as session:
        standing = active_holds(session)
        assert [h.case_number for h in standing] == [NUMBER]
        assert cases.get_case(session, OTHER).status == CaseStatus.CLOSED.value
    engine.dispose()
