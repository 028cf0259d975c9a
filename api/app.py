"""``create_app(settings)``: the FastAPI app and the lifespan that starts and stops everything."""

from __future__ import annotations

import asyncio
import gc
import ipaddress
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.routing import BaseRoute

from access.audit import AuditTrail, Record, catalog_checkpoint
from access.roles import Permission
from access.service import AccessService
from api import errors
from api.audit import live_view_auditor
from api.auth import needs
from api.http_guards import HttpGuards
from api.http_methods import MethodsAndOrigins, RouteMethods
from api.openapi import described
from api.pages import SignedInPages
from api.process import TRIM_INTERVAL_SECONDS, trim_malloc
from api.revocation import RevocationWatch
from api.routes import (
    alarms,
    approvals,
    audit,
    auth,
    cameras,
    cases,
    events,
    exports,
    health,
    live,
    metrics,
    patrol,
    playback,
    recordings,
    users,
    wall,
)
from api.state import AppState
from configs.schema import Settings
from evidence.export_service import ExportService
from evidence.sessions import SessionService
from evidence.signing import SigningKeyError, load_or_create
from ingest.clock import Clock, SystemClock
from ingest.events import StateChange
from monitor.alarms import AlarmMonitor
from monitor.events import Event, EventBus, camera_event
from monitor.screens import ScreenRegistry
from patrol.checker import CameraChecker
from patrol.service import SYSTEM as SCHEDULER
from patrol.service import PatrolService
from playback.renditions import RenditionCache
from playback.stream import POOL as PLAYBACK_POOL
from recorder.db import make_engine, migrate, session_factory
from recorder.lock import storage_lock
from recorder.models import RunEndReason
from recorder.retention import RetentionTask
from recorder.service import RecordingService
from relay.ice import restrict_host_addresses
from relay.peers import PeerRegistry
from relay.sources import LiveSources
from wall import STATIC_DIR

logger = logging.getLogger(__name__)

ROUTERS = tuple(
    module.router
    for module in (
        health,
        auth,
        users,
        audit,
        cameras,
        recordings,
        playback,
        cases,
        exports,
        approvals,
        live,
        events,
        alarms,
        wall,
        patrol,
        metrics,
    )
)
"""Every API router the app serves (the route-guard test walks exactly these)."""


CATALOG_CHECKPOINT_SECONDS = 600.0
STORAGE_LOCK_WAIT_SECONDS = 45.0
"""How long start-up waits for the storage lock: a crashed server's workers hold it while they
close their files (at most 30 s), then exit."""
"""How often each camera's catalog chain head is signed into the audit trail."""


def _checkpoint_catalog(
    audit: AuditTrail, sessions: sessionmaker[Session]
) -> dict[str, Any] | None:
    with sessions() as session:
        return catalog_checkpoint(audit, session)


async def _checkpoint_catalog_forever(audit: AuditTrail, sessions: sessionmaker[Session]) -> None:
    while True:
        await asyncio.sleep(CATALOG_CHECKPOINT_SECONDS)
        try:
            await asyncio.to_thread(_checkpoint_catalog, audit, sessions)
        except Exception:  # the catalog may be down for a while: try again next time
            logger.exception("catalog checkpoint failed")


async def _trim_malloc_forever() -> None:
    """Hand freed heap memory back to the system now and then (see api.process.trim_malloc)."""
    while True:
        await asyncio.sleep(TRIM_INTERVAL_SECONDS)
        await asyncio.to_thread(trim_malloc)


LOOPBACK_NAMES = ["localhost", "127.0.0.1", "::1", "[::1]"]


def allowed_hosts(settings: Settings) -> list[str]:
    """The Host header names the server answers to (a page of another site that rebinds its
    name to this address gets 400): ``server.allowed_hosts``, or the loopback names when the
    server listens on loopback only."""
    if settings.server.allowed_hosts:
        return list(settings.server.allowed_hosts)
    try:
        loopback = ipaddress.ip_address(settings.server.host).is_loopback
    except ValueError:
        loopback = settings.server.host == "localhost"
    return LOOPBACK_NAMES if loopback else ["*"]


def site_of_camera(service: RecordingService, camera_id: str) -> str | None:
    runtime = service.cameras.get(camera_id)
    return runtime.site.id if runtime is not None else None


def node_audit_trail(
    settings: Settings, sessions: sessionmaker[Session], clock: Clock
) -> AuditTrail:
    """The audit trail, its checkpoints signed with the node's key (``export.signing_key``)."""
    try:
        key = load_or_create(settings.export.signing_key)
    except SigningKeyError as error:
        logger.error("audit checkpoints are not signed: export.signing_key: %s", error)
        return AuditTrail(sessions, clock, signer=None)
    return AuditTrail(sessions, clock, signer=key.sign, key_id=key.key_id)


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """The whole node: catalog, recording service, retention and the HTTP API."""
    clock = clock or SystemClock()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        # one recording server per storage directory: check --repair cannot run beside it; the
        # workers of a server that just died may hold it while they close their files
        with storage_lock(
            settings.storage.path, "casewatch serve", wait_seconds=STORAGE_LOCK_WAIT_SECONDS
        ) as lock_fd:
            engine = make_engine(settings.database.resolved_url())
            await asyncio.to_thread(migrate, engine)
            sessions = session_factory(engine)
            bus = EventBus()

            def state_changed(change: StateChange) -> None:  # event loop
                bus.publish(camera_event(change))
                alarm_monitor.poke()

            def on_state(change: StateChange) -> None:  # camera threads
                loop.call_soon_threadsafe(state_changed, change)

            retention = RetentionTask(settings.retention, settings.storage.path, sessions, clock)

            def recording_failed(_camera: str, _reason: RunEndReason, _detail: str) -> None:
                # camera threads: space may be freed, and the alarm must not wait for the next tick
                retention.wake()
                loop.call_soon_threadsafe(alarm_monitor.poke)

            service = RecordingService(
                settings,
                sessions,
                clock,
                on_state=on_state,
                on_write_error=recording_failed,
                storage_lock_fd=lock_fd,
            )
            restrict_host_addresses(settings.relay.ice_host_addresses)
            sources = LiveSources(
                service.cameras,
                settings.ingest,
                clock,
                idle_seconds=settings.relay.substream_idle_seconds,
            )
            live_views = PeerRegistry(settings.relay, sources)
            case_sessions = SessionService(
                settings,
                service,
                sessions,
                lambda kind, data: bus.publish(Event(kind, data)),
                clock,
            )
            access = AccessService(settings.access, sessions, clock)
            audit = node_audit_trail(settings, sessions, clock)
            export_service = ExportService(
                settings,
                sessions,
                clock,
                service,
                catalog_checkpoint=lambda: _checkpoint_catalog(audit, sessions),
            )
            live_views.on_closed = live_view_auditor(
                audit, lambda camera: site_of_camera(service, camera)
            )
            revocations = RevocationWatch(access, live_views)
            alarm_monitor = AlarmMonitor(
                settings.alarms,
                service,
                sessions,
                bus,
                clock,
                overdue_sessions=case_sessions.overdue,
            )
            retention.on_shortfall = alarm_monitor.storage_shortfall
            checker = CameraChecker(settings, service, sessions, clock)
            patrol_service = PatrolService(
                settings,
                sessions,
                clock,
                checker,
                lambda action, kind, object_id, site, details: audit.append(
                    Record(
                        action=action,
                        user=SCHEDULER,
                        object_type=kind,
                        object_id=object_id,
                        site_id=site,
                        details=details,
                    )
                ),
                publish=lambda kind, data: loop.call_soon_threadsafe(
                    bus.publish, Event(kind, data)
                ),
                session_cameras=case_sessions.open_cameras,
            )
            alarm_monitor.overdue_findings = patrol_service.overdue
            app.state.casewatch = AppState(
                settings,
                sessions,
                clock,
                service,
                retention,
                bus,
                clock.wall_us(),
                live_views,
                alarm_monitor,
                ScreenRegistry(bus),
                case_sessions,
                export_service,
                access,
                audit,
                revocations,
                RenditionCache(
                    settings.playback.rendition_cache,
                    int(settings.playback.rendition_cache_gb * 1024**3),
                ),
                checker,
                patrol_service,
            )
            await asyncio.to_thread(service.start)
            await case_sessions.start()
            await asyncio.to_thread(export_service.start)
            retention.start()
            live_views.start()
            revocations.start()
            await alarm_monitor.start()
            await patrol_service.start()
            # what start-up loaded lives as long as the process: keep the collector off it, so
            # full collections stay short while requests build many catalog rows
            gc.freeze()
            trimmer = loop.create_task(_trim_malloc_forever())
            checkpoints = loop.create_task(_checkpoint_catalog_forever(audit, sessions))
            logger.info("casewatch ready: %d cameras", len(service.cameras))
            try:
                yield
            finally:
                trimmer.cancel()
                checkpoints.cancel()
                PLAYBACK_POOL.discard()
                await asyncio.to_thread(export_service.stop)
                await patrol_service.stop()
                await alarm_monitor.stop()
                await revocations.stop()
                await live_views.stop()
                await asyncio.to_thread(retention.stop)
                await asyncio.to_thread(service.stop)
                try:  # every row written is now in the catalog: sign each camera's chain head
                    await asyncio.to_thread(_checkpoint_catalog, audit, sessions)
                except Exception:
                    logger.exception("catalog checkpoint at shutdown failed")
                await asyncio.to_thread(audit.checkpoint)
                engine.dispose()

    app = FastAPI(
        title="casewatch",
        summary="Recording and monitoring of police case rooms and interrogation areas",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    errors.install(app)

    def served_routes() -> list[BaseRoute]:
        # the routers are included without a prefix: their routes' paths are the served ones
        return [*(r for router in ROUTERS for r in router.routes), *app.router.routes]

    app.add_middleware(
        MethodsAndOrigins,
        routes=RouteMethods(served_routes),
        origins=settings.server.cors_origins,
    )
    app.add_middleware(HttpGuards, allowed_hosts=allowed_hosts(settings))  # outermost
    for router in ROUTERS:
        app.include_router(router, responses=errors.ERROR_RESPONSES)
    app.mount("/wall", SignedInPages(directory=STATIC_DIR, html=True), name="wall")

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/wall/")

    # the API's description is for signed-in users too
    @app.get("/openapi.json", include_in_schema=False, dependencies=[needs(Permission.SIGNED_IN)])
    async def openapi() -> JSONResponse:
        return JSONResponse(described(app, settings.cases.number_patterns))

    @app.get("/docs", include_in_schema=False, dependencies=[needs(Permission.SIGNED_IN)])
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="casewatch API")

    return app
