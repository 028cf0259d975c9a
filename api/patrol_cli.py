"""``casewatch patrol check``: the automatic checks once, for installers and scripts.

Against a running server (the default) it asks the server, which checks what its Hubs already
hold: no second connection to any camera. It signs in with a bearer token from the environment
(``CASEWATCH_TOKEN``, made with ``casewatch token create``). With ``--direct`` it opens the
cameras itself, for a few seconds each (all at once), and reads recording and coverage from the
catalog: for an installer before any server runs.

Output: one line per camera and check, or JSON lines ``{camera, check, ok, value, threshold,
unit, detail}`` with ``--json``. Exit 0 when nothing failed, 1 when a check failed, 2 on bad
input (unknown camera, bad config, no server, no token).
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from configs.loader import ConfigError, load_settings
from configs.schema import CameraSettings, Settings

TOKEN_ENV = "CASEWATCH_TOKEN"  # noqa: S105 - the name of the variable, not a token
DIRECT_SECONDS = 7.0
"""How long ``--direct`` reads each camera at most: a keyframe and enough of its GOP."""
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def cmd_patrol_check(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    known = {camera.id: camera for _, camera in settings.cameras()}
    for camera_id in args.camera:
        if camera_id not in known:
            raise ConfigError(f"--camera: unknown camera {camera_id!r} (not in {args.config})")
    chosen = list(dict.fromkeys(args.camera)) or [c for c in known if known[c].enabled]
    if args.direct:
        results = _direct(settings, [known[c] for c in chosen], args.seconds)
    else:
        results = _ask_server(settings, chosen if args.camera else None, args.cacert)
    _print(results, as_json=args.json, out=sys.stdout.write)
    return EXIT_FAILED if any(r.get("ok") is False for r in results) else EXIT_OK


def _print(results: list[dict[str, Any]], *, as_json: bool, out: Callable[[str], Any]) -> None:
    for result in results:
        if as_json:
            out(json.dumps(result, ensure_ascii=False) + "\n")
            continue
        verdict = {True: "ok", False: "FAIL", None: "-"}[result["ok"]]
        value = "" if result["value"] is None else f"{result['value']}{result['unit']}"
        threshold = "" if result["threshold"] is None else f"(threshold {result['threshold']})"
        line = f"{result['camera']:<20} {result['check']:<14} {verdict:<4} {value} {threshold}"
        out(f"{line.rstrip()}  {result['detail']}".rstrip() + "\n")


def _server_url(settings: Settings) -> str:
    host = settings.server.host
    if host in ("0.0.0.0", "::", ""):  # a listen address, turned into a peer one
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    scheme = "https" if settings.server.tls is not None else "http"
    return f"{scheme}://{host}:{settings.server.port}"


def _ask_server(
    settings: Settings, cameras: list[str] | None, cacert: Path | None
) -> list[dict[str, Any]]:
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise ConfigError(
            f"{TOKEN_ENV}: asking the server needs an API token of a patrol user "
            "(casewatch token create NAME), or use --direct to open the cameras yourself"
        )
    url = _server_url(settings) + "/api/v1/patrol/checks"
    body = json.dumps({"cameras": cameras} if cameras else {}).encode()
    request = urllib.request.Request(  # noqa: S310 - the node's own URL, http(s) only
        url,
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    context = ssl.create_default_context(cafile=str(cacert) if cacert else None)
    try:
        with urllib.request.urlopen(request, timeout=120, context=context) as response:  # noqa: S310
            data: list[dict[str, Any]] = json.loads(response.read())["data"]
            return data
    except urllib.error.HTTPError as error:
        try:
            message = json.loads(error.read()).get("error", "")
        except ValueError:
            message = ""
        raise ConfigError(f"the server at {url} answered {error.code}: {message}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise ConfigError(
            f"no server at {_server_url(settings)} ({reason}); start it, or use --direct"
        ) from None


def _direct(
    settings: Settings, cameras: list[CameraSettings], seconds: float
) -> list[dict[str, Any]]:
    from api.preflight import open_catalog
    from ingest.clock import SystemClock
    from ingest.hub import Hub
    from ingest.supervisor import CameraWorker
    from patrol.frames import frozen_wait_seconds
    from patrol.references import ReferenceStore
    from patrol.runner import gather, judge
    from recorder import catalog
    from recorder.db import session_factory

    clock = SystemClock()
    running = []
    for camera in cameras:
        hub = Hub(camera.id, gop_cache_max_packets=settings.ingest.gop_cache_max_packets)
        worker = CameraWorker(camera, hub, settings.ingest, clock, lambda change: None)
        worker.start()
        running.append((camera, hub, worker))
    deadline = time.monotonic() + seconds
    references = ReferenceStore(settings.patrol.path / "references")
    engine = open_catalog(settings, upgrade=False)
    judged: dict[str, list[dict[str, Any]]] = {}
    try:
        with session_factory(engine)() as session:
            # judge each camera once its GOP spans enough (or when time is up)
            while len(judged) < len(running):
                late = time.monotonic() >= deadline
                for camera, hub, worker in running:
                    thresholds = settings.patrol.thresholds.overridden_by(camera.patrol)
                    recent = hub.recent_media()
                    ready = recent is not None and not frozen_wait_seconds(
                        recent, thresholds.frozen_min_span_seconds
                    )
                    if camera.id in judged or not (ready or late):
                        continue
                    last = catalog.last_segment(session, camera_id=camera.id)
                    facts = gather(
                        camera, hub, worker, session, now_us=clock.wall_us(),
                        records=camera.record, live_span=None,
                        newest_footage_us=last.end_us if last is not None else None,
                        thresholds=thresholds,
                        # the catalog's newest footage: a segment being written is not in it
                        coverage_until_us=last.end_us if last is not None else None,
                    )  # fmt: skip
                    checked = judge(facts, thresholds, reference=references.load(camera.id))
                    judged[camera.id] = [result.as_json() for result in checked]
                time.sleep(0.05)
    finally:
        engine.dispose()
        for _, _, worker in running:
            worker.stop()
        for _, _, worker in running:
            worker.join(timeout=10)
    results = [r for camera, _, _ in running for r in judged[camera.id]]
    return results


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 1.0 <= value <= 60.0:
        raise argparse.ArgumentTypeError("must be between 1 and 60 seconds")
    return value


def add_commands(commands: Any, with_config: Callable[[argparse.ArgumentParser], None]) -> None:
    """``patrol check``."""
    patrol = commands.add_parser("patrol", help="spot-check patrols")
    actions = patrol.add_subparsers(dest="patrol_command", required=True)
    check = actions.add_parser(
        "check", help="run the automatic checks once (exit 1 when one fails)"
    )
    with_config(check)
    check.add_argument(
        "--camera", action="append", default=[], metavar="ID", help="only this camera (repeat)"
    )
    check.add_argument("--json", action="store_true", help="JSON lines instead of text")
    check.add_argument(
        "--direct",
        action="store_true",
        help="open the cameras yourself instead of asking the running server",
    )
    check.add_argument(
        "--seconds",
        type=_positive_seconds,
        default=DIRECT_SECONDS,
        help=f"with --direct: read each camera this long at most ({DIRECT_SECONDS:g})",
    )
    check.add_argument(
        "--cacert", type=Path, default=None, help="CA certificate to trust the server's TLS with"
    )
    check.set_defaults(func=cmd_patrol_check)
