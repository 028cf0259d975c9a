"""What the routes share: settings, catalog sessions, the recording service, the event bus."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from access.audit import AuditTrail
from access.service import AccessService
from api.revocation import RevocationWatch
from configs.schema import Settings
from evidence.export_service import ExportService
from evidence.sessions import SessionService
from ingest.clock import Clock
from monitor.alarms import AlarmMonitor
from monitor.events import EventBus
from monitor.screens import ScreenRegistry
from patrol.checker import CameraChecker
from patrol.service import PatrolService
from playback.renditions import RenditionCache
from recorder.retention import RetentionTask
from recorder.service import RecordingService
from relay.peers import PeerRegistry


@dataclass
class AppState:
    settings: Settings
    sessions: sessionmaker[Session]
    clock: Clock
    service: RecordingService
    retention: RetentionTask
    events: EventBus
    started_us: int
    live: PeerRegistry
    alarms: AlarmMonitor
    screens: ScreenRegistry
    case_sessions: SessionService
    exports: ExportService
    access: AccessService
    audit: AuditTrail
    revocations: RevocationWatch
    renditions: RenditionCache
    checker: CameraChecker
    patrol: PatrolService
