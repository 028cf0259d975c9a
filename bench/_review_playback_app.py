"""Fallback server for bench/review.py part (b) while ``casewatch serve`` has no playback route.

    python bench/_review_playback_app.py --config FILE --port PORT

Serves ``api.routes.playback``'s router (the real route code and ``playback.stream``) on the
catalog and storage of the recording server described by FILE, in a FastAPI app of its own:
reading only, while that server keeps recording. Cameras have no live recorder here (only
finished segments are played).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    """Build the app and serve it on loopback until SIGTERM."""
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    parser = argparse.ArgumentParser(prog="bench/_review_playback_app.py")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    import uvicorn
    from fastapi import FastAPI

    from api import errors
    from api.routes import playback
    from configs.loader import load_settings
    from ingest.clock import SystemClock
    from recorder.db import make_engine, session_factory

    settings = load_settings(args.config, base=args.config.parent)
    sessions = session_factory(make_engine(settings.database.resolved_url()))
    cameras = {
        camera.id: SimpleNamespace(recorder=None, camera=camera, site=site, worker=None)
        for site, camera in settings.cameras()
    }
    app = FastAPI(title="casewatch playback (bench fallback)")
    errors.install(app)
    app.include_router(playback.router)

    @app.get("/api/v1/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    app.state.casewatch = SimpleNamespace(
        settings=settings,
        sessions=sessions,
        clock=SystemClock(),
        service=SimpleNamespace(cameras=cameras),
    )
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
