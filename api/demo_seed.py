"""What ``casewatch demo`` shows every user group in its first minute.

Once the server answers and the cameras record, the demo acts through the API as its admin
would (with an API token made for it, valid a day): a case of the Qingjiang station with a closed
interrogation session and its completeness report; a second case whose session stays open on a
Jinling interrogation room (the wall shows it, recording cannot be paused there); two simulated
cameras made faulty — one out of focus, one frozen — and a patrol plan run on demand, which finds
them; the bulletin of the week is then there to print. A restart of the demo does not duplicate
what exists (cases and plans are looked up first); the faults and the run are made again.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from configs.schema import Settings

logger = logging.getLogger(__name__)

FAULTY_CAMERAS = {"qingjiang-case": "blurred", "jinling-xjd-int-2": "frozen"}
"""Demo cameras given a fault a patrol finds (their mounts are encoded with picture faults)."""
CLOSED_SESSION = ("qingjiang", "讯问室1", "0001", "张某某盗窃案")
OPEN_SESSION = ("jinling", "讯问室1", "0002", "李某某诈骗案")
SESSION_SECONDS = 15.0
"""How long the closed session records before the demo closes it."""
PLAN_NAME = "设备画面巡查"
PLAN_CHECKS = [
    "online", "recording", "audio", "clock", "black", "frozen", "blurred", "covered", "dark",
    "overexposed", "colour_cast", "noisy", "scene_changed",
]  # fmt: skip
"""The seeded plan's checks: the equipment and the picture. Coverage has a plan of its own
(daily), so a demo restarted after a pause does not open a finding per camera for its gap."""


@dataclass
class DemoApi:
    """The demo's own API client (its admin's token)."""

    base_url: str
    token: str

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - the demo's own loopback URL
            f"{self.base_url}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                return error.code, json.loads(raw)
            except ValueError:
                return error.code, raw.decode(errors="replace")


SetVideo = Callable[[str, str], object]
"""Switches a simulator mount's video variant (the demo's simulator)."""


def start_seeding(
    settings: Settings, api: DemoApi, set_video: SetVideo, mounts: dict[str, str]
) -> threading.Thread:
    """Seed the demo on a background thread (the server starts on this one)."""

    def run() -> None:
        try:
            seed(settings, api, set_video, mounts)
        except Exception:
            logger.exception("demo: seeding failed (the demo runs on without it)")

    thread = threading.Thread(target=run, name="demo-seed", daemon=True)
    thread.start()
    return thread


def seed(settings: Settings, api: DemoApi, set_video: SetVideo, mounts: dict[str, str]) -> None:
    """Seed the demo (blocking): see the module's description. ``mounts`` maps camera ids to
    their simulator mounts."""
    _wait_recording(api, timeout=180)
    month = datetime.now(settings.zone()).strftime("%Y%m")
    for camera_id, fault in FAULTY_CAMERAS.items():
        if camera_id in mounts:
            set_video(mounts[camera_id], fault)
    faulty_since = time.monotonic()
    closing = _session(settings, api, month, CLOSED_SESSION)
    _session(settings, api, month, OPEN_SESSION)
    if closing is not None:
        time.sleep(SESSION_SECONDS)
        status, report = api.call("POST", f"/api/v1/sessions/{closing}/close")
        logger.info("demo: session %s closed (%s): %s", closing, status, _summary(report))
    # the faults show from the cameras' next keyframes, and frozen after a GOP or two frozen
    # (a restarted demo, whose sessions exist already, does not wait above)
    time.sleep(max(0.0, faulty_since + SESSION_SECONDS - time.monotonic()))
    plan = _plan(api)
    if plan is not None:
        status, run = api.call("POST", f"/api/v1/patrol/plans/{plan}/runs", {})
        found = run.get("finding_list", []) if isinstance(run, dict) else []
        logger.info(
            "demo: patrol run (%s) found %s",
            status,
            ", ".join(f"{f['camera']} {f['item']}" for f in found) or "nothing",
        )
    print("casewatch demo: seeded a case with a closed and an open interrogation session, a "
          "patrol run with its findings, and this week's bulletin", flush=True)  # fmt: skip


def _wait_recording(api: DemoApi, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status, cameras = api.call("GET", "/api/v1/cameras")
        except OSError:
            status, cameras = 0, None
        if status == 200 and all(c["recording"] for c in cameras["data"]):
            time.sleep(3)  # a GOP cached, so frozen can be told from still
            return
        time.sleep(1)
    logger.warning("demo: not every camera records after %.0f s; seeding anyway", timeout)


def _session(settings: Settings, api: DemoApi, month: str, what: tuple[str, ...]) -> int | None:
    """Create the case (unless it exists) and open its session; returns the session id, or
    None when the case existed already (a restarted demo keeps its cases)."""
    site_id, room, serial, title = what
    site = next((s for s in settings.sites if s.id == site_id), None)
    if site is None or site.unit_code is None:
        return None
    number = f"A{site.unit_code}{month}{serial}"
    status, _ = api.call(
        "POST", "/api/v1/cases", {"number": number, "title": title, "site": site_id}
    )
    if status != 201:
        return None
    status, opened = api.call(
        "POST",
        f"/api/v1/cases/{number}/sessions",
        {"room": room, "site": site_id, "persons": [title[:3]], "officers": ["李明", "王强"]},
    )
    return int(opened["id"]) if status == 201 else None


def _plan(api: DemoApi) -> int | None:
    status, plans = api.call("GET", "/api/v1/patrol/plans")
    if status != 200:
        return None
    for plan in plans["data"]:
        if plan["name"] == PLAN_NAME:
            return int(plan["id"])
    api.call(
        "POST",
        "/api/v1/patrol/plans",
        {
            "name": "录像完整性巡查",
            "schedule": "0 9 * * *",
            "checks": ["recording", "coverage", "audio"],
        },
    )
    status, plan = api.call(
        "POST",
        "/api/v1/patrol/plans",
        {"name": PLAN_NAME, "schedule": "0 */4 * * *", "checks": PLAN_CHECKS, "due_hours": 48},
    )
    return int(plan["id"]) if status == 201 else None


def _summary(report: Any) -> str:
    if not isinstance(report, dict):
        return str(report)[:200]
    return f"complete={report.get('complete')}"
