"""Prometheus metrics, collected at scrape time from the live objects."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CollectorRegistry, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from access.roles import Permission
from api.auth import needs
from api.deps import State
from api.state import AppState

router = APIRouter(tags=["metrics"])


class CameraCollector(Collector):
    def __init__(self, state: AppState) -> None:
        self._state = state

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "casewatch_camera_up", "1 when the camera delivers media", labels=["camera", "site"]
        )
        recording = GaugeMetricFamily(
            "casewatch_camera_recording", "1 while recording", labels=["camera", "site"]
        )
        fps = GaugeMetricFamily(
            "casewatch_camera_fps", "video frames per second", labels=["camera", "site"]
        )
        bitrate = GaugeMetricFamily(
            "casewatch_camera_bitrate_bps", "received bits per second", labels=["camera", "site"]
        )
        packets = GaugeMetricFamily(
            "casewatch_camera_packets_total", "packets received", labels=["camera", "site", "kind"]
        )
        dropped = GaugeMetricFamily(
            "casewatch_camera_packets_dropped_total",
            "packets dropped by timestamp validation",
            labels=["camera", "site"],
        )
        for runtime in self._state.service.cameras.values():
            labels = [runtime.camera.id, runtime.site.id]
            worker = runtime.worker
            up.add_metric(labels, 1.0 if worker and worker.state.value == "live" else 0.0)
            recording.add_metric(
                labels, 1.0 if runtime.recorder and runtime.recorder.recording else 0.0
            )
            if worker is not None:
                fps.add_metric(labels, worker.stats.fps)
                bitrate.add_metric(labels, worker.stats.bitrate_bps)
                packets.add_metric([*labels, "video"], worker.stats.video_packets)
                packets.add_metric([*labels, "audio"], worker.stats.audio_packets)
                dropped.add_metric(labels, worker.stats.dropped)
        yield from (up, recording, fps, bitrate, packets, dropped)
        failures = GaugeMetricFamily(
            "casewatch_catalog_write_failures_total", "catalog writes that failed (retried)"
        )
        failures.add_metric([], self._state.service.writer.failures)
        yield failures
        deleted = GaugeMetricFamily(
            "casewatch_retention_deleted_segments_total",
            "segments deleted by retention since start",
        )
        deleted.add_metric([], self._state.retention.deleted_total)
        yield deleted
        yield from self._workers()
        yield from self._live()

    def _workers(self) -> Iterator[Metric]:
        pool = self._state.service.pool
        if pool is None:
            return
        up = GaugeMetricFamily(
            "casewatch_worker_up", "1 while the recorder worker process runs", labels=["worker"]
        )
        cameras = GaugeMetricFamily(
            "casewatch_worker_cameras", "cameras the worker owns", labels=["worker"]
        )
        restarts = GaugeMetricFamily(
            "casewatch_worker_restarts_total",
            "worker processes that ended without being asked (crash, silence, memory)",
            labels=["worker"],
        )
        memory = GaugeMetricFamily(
            "casewatch_worker_resident_bytes", "the worker's resident memory", labels=["worker"]
        )
        for worker in pool.status():
            labels = [str(worker.number)]
            up.add_metric(labels, 1.0 if worker.running else 0.0)
            cameras.add_metric(labels, worker.cameras)
            restarts.add_metric(labels, worker.restarts)
            memory.add_metric(labels, worker.resident_bytes)
        yield from (up, cameras, restarts, memory)

    def _live(self) -> Iterator[Metric]:
        live = self._state.live
        viewers = GaugeMetricFamily(
            "casewatch_live_viewers", "live viewer sessions (WHEP)", labels=["camera"]
        )
        per_camera: dict[str, int] = {}
        for session in live.sessions():
            per_camera[session.camera_id] = per_camera.get(session.camera_id, 0) + 1
        for camera_id, count in sorted(per_camera.items()):
            viewers.add_metric([camera_id], count)
        yield viewers
        created = GaugeMetricFamily(
            "casewatch_live_sessions_created_total", "live viewer sessions answered since start"
        )
        created.add_metric([], live.created_total)
        yield created
        reaped = GaugeMetricFamily(
            "casewatch_live_sessions_reaped_total",
            "live viewer sessions closed because they failed or never connected",
        )
        reaped.add_metric([], live.reaped_total)
        yield reaped
        transcodes = GaugeMetricFamily(
            "casewatch_live_transcode_viewers",
            "viewers of an H.265 camera's one H.264 rendition (one encoder per camera)",
            labels=["camera"],
        )
        for camera_id, (watching, _frames) in sorted(live.renditions().items()):
            transcodes.add_metric([camera_id], watching)
        yield transcodes
        clients = GaugeMetricFamily("casewatch_event_clients", "open event-stream connections")
        clients.add_metric([], self._state.events.clients)
        yield clients


@router.get("/metrics", response_class=Response, dependencies=[needs(Permission.METRICS_READ)])
def metrics(state: State) -> Response:
    registry = CollectorRegistry()
    registry.register(CameraCollector(state))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
