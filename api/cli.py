"""The ``casewatch`` command: serve, demo, sim, check, migrate, user, token, audit, patrol,
verify.

Bad input is a message on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from configs.loader import PACKAGE_DIR, ConfigError, load_settings
from configs.schema import Settings

logger = logging.getLogger("casewatch")

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def _settings(path: Path) -> Settings:
    return load_settings(path)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app
    from api.preflight import preflight, tls_options
    from api.process import limit_malloc_arenas
    from ingest.logsetup import configure

    settings = _settings(args.config)
    configure(settings.logging.level)
    preflight(settings)
    limit_malloc_arenas()
    host = args.host or settings.server.host
    port = args.port or settings.server.port
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_config=None,
        timeout_graceful_shutdown=10,
        **tls_options(settings),
    )
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from api.demo import run_demo

    return run_demo(args.config, host=args.host, port=args.port)


def cmd_sim(args: argparse.Namespace) -> int:
    from camsim import cli as sim_cli

    return sim_cli.run(args)


def cmd_check(args: argparse.Namespace) -> int:
    from access.audit import catalog_problems
    from api.preflight import error_line, hold_storage, open_catalog
    from ingest.logsetup import configure
    from recorder.db import session_factory
    from recorder.recovery import check, recover

    settings = _settings(args.config)
    configure("warning")
    engine = open_catalog(settings, upgrade=False)
    sessions = session_factory(engine)
    root = settings.storage.path
    try:
        if args.repair:
            from ingest.clock import SystemClock

            # repair truncates and moves files: never while a server records into them
            with hold_storage(settings, "casewatch check --repair"), sessions.begin() as session:
                repaired = recover(session, root, now_us=SystemClock().wall_us(), full=True)
            for line in repaired.actions:
                print(f"repaired: {line}")
        with sessions() as session:
            report = check(session, root, verify_hashes=not args.no_hash)
            report.problems.extend(catalog_problems(session))
    except SQLAlchemyError as error:
        raise ConfigError(f"database.url: the catalog failed: {error_line(error)}") from None
    finally:
        engine.dispose()
    for line in report.problems:
        print(f"problem: {line}")
    print(
        f"checked {report.segments_checked} segments: "
        f"{'clean' if report.clean else f'{len(report.problems)} problems'}"
    )
    return EXIT_OK if report.clean else EXIT_PROBLEMS


def cmd_migrate(args: argparse.Namespace) -> int:
    from api.preflight import open_catalog

    settings = _settings(args.config)
    open_catalog(settings, upgrade=True).dispose()
    print("catalog schema is up to date")
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from evidence.verify import run

    return run(args.file, args.key)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="casewatch", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    def with_config(sub: argparse.ArgumentParser, default: Path | None = None) -> None:
        sub.add_argument(
            "--config",
            type=Path,
            required=default is None,
            default=default,
            help="settings YAML file",
        )

    serve = commands.add_parser("serve", help="run the recorder and API")
    with_config(serve)
    serve.add_argument("--host", help="override server.host")
    serve.add_argument("--port", type=int, help="override server.port")
    serve.set_defaults(func=cmd_serve)

    demo = commands.add_parser("demo", help="simulated demo branch + server")
    with_config(demo, PACKAGE_DIR / "demo.yaml")
    demo.add_argument("--host", default=None)
    demo.add_argument("--port", type=int, default=None)
    demo.set_defaults(func=cmd_demo)

    sim = commands.add_parser("sim", help="run the RTSP camera simulator")
    from camsim import cli as sim_cli

    sim_cli.add_arguments(sim)
    sim.set_defaults(func=cmd_sim)

    check = commands.add_parser("check", help="verify recordings against the catalog")
    with_config(check)
    check.add_argument(
        "--repair",
        action="store_true",
        help="first run startup recovery (adopt, quarantine, mark lost)",
    )
    check.add_argument("--no-hash", action="store_true", help="skip SHA-256 verification")
    check.set_defaults(func=cmd_check)

    migrate = commands.add_parser("migrate", help="create or upgrade the catalog schema")
    with_config(migrate)
    migrate.set_defaults(func=cmd_migrate)

    from api import access_cli, patrol_cli

    access_cli.add_commands(commands, with_config)
    patrol_cli.add_commands(commands, with_config)

    verify = commands.add_parser("verify", help="check an export package offline")
    verify.add_argument("file", type=Path, help="the export package (.zip)")
    verify.add_argument(
        "--key", type=Path, required=True, help="the server's public key (PEM) you trust"
    )
    verify.set_defaults(func=cmd_verify)
    return parser


PRIVATE_UMASK = 0o027
"""Files casewatch creates (catalog, exports, recordings, logs) are not for other users:
0640 files and 0750 directories."""


def main(argv: Sequence[str] | None = None) -> int:
    os.umask(PRIVATE_UMASK)
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except ConfigError as error:
        print(f"casewatch: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_OK
    return code


if __name__ == "__main__":
    sys.exit(main())
