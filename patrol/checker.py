"""The automatic checks of running cameras, as the server runs them (API, scheduled patrols).

Per camera: its thresholds (the node's, with the camera's own keys over them), its reference
picture, the facts gathered from its Hub, recorder and the catalog, and the judgement. Cameras
are checked on a small pool of threads: decoding and the picture measures run in C and release
the GIL, so two threads use two cores, and the camera threads are never waited on (the Hub hands
out references under its lock and nothing else).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.orm import Session, sessionmaker

from configs.schema import CheckThresholds, Settings
from ingest.clock import Clock
from ingest.events import CameraState
from patrol.frames import frozen_wait_seconds
from patrol.references import ReferenceStore
from patrol.results import Check, CheckResult
from patrol.runner import CameraFacts, gather, judge, picture_checks_pass, recent_media
from recorder.service import RecordingService

logger = logging.getLogger(__name__)

CHECK_THREADS = 16
"""Cameras checked at once. Most of a camera's check is waiting for its GOP to grow late enough
for frozen (up to 1.8 s, 0.8 s on average for a 2 s GOP); decoding and measuring, the rest,
take milliseconds on however many cores there are."""
GOP_MARGIN_SECONDS = 0.05
"""Waiting for a young GOP to grow, this much more (the next frames may still be on the way)."""


class NoPicture(Exception):
    """The camera has no picture to take (offline, or nothing decodes)."""


class CameraChecker:
    """Runs the checks of the cameras of one node."""

    def __init__(
        self,
        settings: Settings,
        service: RecordingService,
        sessions: sessionmaker[Session],
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._service = service
        self._sessions = sessions
        self._clock = clock
        self.references = ReferenceStore(settings.patrol.path / "references")

    def cameras(self) -> list[str]:
        """The ids of the cameras this node runs."""
        return list(self._service.cameras)

    def settled(self) -> bool:
        """True once every camera is down, or live with a picture in its Hub: a patrol started
        earlier (just after a restart) would find every camera offline."""
        for runtime in self._service.cameras.values():
            worker = runtime.worker
            if worker is None:
                continue
            if worker.state is CameraState.CONNECTING:
                return False
            if worker.state is CameraState.LIVE and not runtime.hub.has_picture():
                return False
        return True

    def thresholds(
        self, camera_id: str, overrides: CheckThresholds | None = None
    ) -> CheckThresholds:
        """The node's thresholds, a plan's keys (``overrides``) over them, the camera's own keys
        over those."""
        runtime = self._service.cameras[camera_id]
        node = self._settings.patrol.thresholds
        return node.overridden_by(overrides).overridden_by(runtime.camera.patrol)

    def check(
        self,
        camera_id: str,
        checks: Collection[Check] = tuple(Check),
        *,
        overrides: CheckThresholds | None = None,
        keep_reference: bool = True,
    ) -> list[CheckResult]:
        """Check one camera now (blocking). With ``keep_reference``, a camera without a
        reference picture whose picture passes every check keeps it as its reference."""
        thresholds = self.thresholds(camera_id, overrides)
        if Check.FROZEN in checks:
            self._wait_for_a_late_gop(camera_id, thresholds.frozen_min_span_seconds)
        facts = self._gather(camera_id, thresholds)
        reference = self.references.load(camera_id)
        results = judge(facts, thresholds, reference=reference, checks=checks)
        if keep_reference and reference is None and facts.media is not None:
            everything = judge(facts, thresholds) if set(checks) != set(Check) else results
            if picture_checks_pass(everything):
                self.references.save(camera_id, facts.media.latest)
                logger.info("[%s] reference picture kept", camera_id)
        return results

    def _wait_for_a_late_gop(self, camera_id: str, span_seconds: float) -> None:
        """Wait until the camera's GOP is late enough to tell frozen from still (an encoder
        refines a repeated picture early in each GOP); look again once, should a keyframe
        have come early and started a new GOP."""
        hub = self._service.cameras[camera_id].hub
        for _ in range(2):
            recent = hub.recent_media()
            wait = frozen_wait_seconds(recent, span_seconds) if recent is not None else 0.0
            if wait <= 0:
                return
            time.sleep(wait + GOP_MARGIN_SECONDS)

    def _gather(self, camera_id: str, thresholds: CheckThresholds) -> CameraFacts:
        runtime = self._service.cameras[camera_id]
        recorder = runtime.recorder
        with self._sessions() as session:
            return gather(
                runtime.camera,
                runtime.hub,
                runtime.worker,
                session,
                now_us=self._clock.wall_us(),
                records=recorder is not None and not recorder.paused,
                live_span=recorder.live_span if recorder is not None else None,
                newest_footage_us=self._service.last_recorded.get(camera_id),
                thresholds=thresholds,
            )

    def check_many(
        self,
        camera_ids: Sequence[str],
        checks: Collection[Check] = tuple(Check),
        *,
        overrides: CheckThresholds | None = None,
    ) -> list[CheckResult]:
        """Check several cameras (blocking), results in the order of ``camera_ids``."""
        with ThreadPoolExecutor(CHECK_THREADS, thread_name_prefix="patrol-check") as pool:
            per_camera = list(
                pool.map(lambda camera: self.check(camera, checks, overrides=overrides), camera_ids)
            )
        return [result for results in per_camera for result in results]

    def take_reference(self, camera_id: str) -> None:
        """Keep the camera's current picture as its reference (blocking); raises NoPicture."""
        hub = self._service.cameras[camera_id].hub
        media, problem = recent_media(hub, self.thresholds(camera_id))
        if media is None:
            raise NoPicture(f"camera {camera_id!r}: {problem}")
        self.references.save(camera_id, media.latest)
