"""Command line of the camera simulator (`casewatch sim`, `python -m camsim`).

Pre-encodes the loops, serves the mounts over RTSP, serves the control API and prints one line
`casewatch-sim ready rtsp://HOST:PORT/ control http://HOST:CPORT/` when both are up. Exit codes:
0 after SIGTERM/SIGINT, 1 on a run-time failure (encoding, ports), 2 on a bad configuration.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

from .config import build_mount, check_unique, load_config
from .encode import default_cache_dir, ensure_loops
from .errors import ConfigError, SimulatorError
from .spec import AudioCodec, AuthMethod, EncodeParams, MountSpec, VideoCodec, parse_size

logger = logging.getLogger(__name__)

READY_PREFIX = "casewatch-sim ready"


def _size(text: str) -> tuple[int, int]:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from exc
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a port: {text!r}") from exc
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the simulator's options to `parser`."""
    net = parser.add_argument_group("network")
    net.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    net.add_argument(
        "--port", type=_port, default=8554, help="RTSP port, 0 = any (default: %(default)s)"
    )
    net.add_argument(
        "--control-port",
        type=_port,
        default=8555,
        help="HTTP control API port, 0 = any (default: %(default)s)",
    )
    mounts = parser.add_argument_group("mounts")
    mounts.add_argument(
        "--mount",
        action="append",
        default=[],
        metavar="NAME",
        help="serve a mount with the default parameters (repeatable), e.g. qingjiang/int-1",
    )
    mounts.add_argument(
        "--mounts", type=int, default=0, metavar="N", help="serve N mounts cam1..camN"
    )
    mounts.add_argument(
        "--config", type=Path, metavar="FILE", help="YAML list of mounts with per-mount fields"
    )
    stream = parser.add_argument_group("stream defaults")
    stream.add_argument("--size", type=_size, default=(1280, 720), help="WIDTHxHEIGHT (1280x720)")
    stream.add_argument("--fps", type=int, default=25, help="frames per second (%(default)s)")
    stream.add_argument(
        "--gop", type=_positive_float, default=2.0, help="keyframe interval, s (%(default)s)"
    )
    stream.add_argument(
        "--bitrate", type=int, default=2000, help="video bitrate, kbit/s (%(default)s)"
    )
    stream.add_argument(
        "--video-codec",
        choices=[c.value for c in VideoCodec],
        default=VideoCodec.H264.value,
        help="video codec (%(default)s)",
    )
    stream.add_argument(
        "--bframes",
        type=int,
        default=0,
        metavar="N",
        help="B-frames between reference frames, 0..4 (%(default)s)",
    )
    stream.add_argument(
        "--audio-codec",
        choices=[c.value for c in AudioCodec],
        default=AudioCodec.AAC.value,
        help="audio codec over RTP; pcma / pcmu are G.711 at 8 kHz (%(default)s)",
    )
    stream.add_argument(
        "--auth",
        choices=[m.value for m in AuthMethod],
        default=AuthMethod.NONE.value,
        help="RTSP authentication of the mounts (%(default)s)",
    )
    stream.add_argument("--user", default=None, help="RTSP user name of the mounts with auth")
    stream.add_argument("--password", default=None, help="RTSP password of the mounts with auth")
    stream.add_argument(
        "--picture-faults",
        action="store_true",
        help="also encode the patrol's picture faults (blurred, covered, dark, …) so they can "
        "be switched on with the control API",
    )
    stream.add_argument(
        "--loop-seconds",
        type=_positive_float,
        default=10.0,
        help="loop length, rounded up to whole GOPs (%(default)s)",
    )
    stream.add_argument(
        "--ident",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="draw each mount's label and a clock on the picture; --no-ident lets mounts "
        "with equal parameters share one encoded file",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help=f"where encoded loops are cached (default: {default_cache_dir()})",
    )
    parser.add_argument(
        "--encode-jobs", type=int, default=None, help="parallel encodes (default: CPU count)"
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log level on stderr (%(default)s)",
    )


def mounts_from_args(args: argparse.Namespace) -> list[MountSpec]:
    """The mounts selected by `--config`, `--mount` and `--mounts`; raises ConfigError."""
    width, height = args.size
    defaults = {
        "width": width,
        "height": height,
        "fps": args.fps,
        "gop": args.gop,
        "bitrate": args.bitrate,
        "video_codec": args.video_codec,
        "bframes": args.bframes,
        "audio_codec": args.audio_codec,
        "auth": args.auth,
        "picture_faults": args.picture_faults,
    }
    for key in ("user", "password"):
        if getattr(args, key) is not None:
            defaults[key] = getattr(args, key)
    mounts: list[MountSpec] = []
    if args.config is not None:
        mounts.extend(load_config(args.config, defaults))
    names = list(args.mount)
    if args.mounts < 0:
        raise ConfigError("--mounts must be >= 0")
    names.extend(f"cam{i}" for i in range(1, args.mounts + 1))
    if not mounts and not names:
        names = ["cam1"]
    mounts.extend(build_mount({"name": n}, defaults, f"--mount {n}") for n in names)
    return check_unique(mounts)


def _setup_logging(level: str) -> None:
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(
            stream=sys.stderr,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
    root.setLevel(level)


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def run(args: argparse.Namespace) -> int:
    """Run the simulator until SIGTERM/SIGINT; returns the process exit code."""
    _setup_logging(args.log_level)
    try:
        return _run(args)
    except KeyboardInterrupt:
        return 128 + signal.SIGINT


def _run(args: argparse.Namespace) -> int:
    # Until the GLib loop takes over signal handling, SIGTERM unwinds like SIGINT does.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        mounts = mounts_from_args(args)
    except ConfigError as exc:
        print(f"casewatch sim: config error: {exc}", file=sys.stderr)
        return 2

    cache_dir = args.cache_dir or default_cache_dir()
    params = {
        m.name: EncodeParams.for_mount(m, loop_seconds=args.loop_seconds, ident=args.ident)
        for m in mounts
    }
    try:
        files = ensure_loops(params.values(), cache_dir, jobs=args.encode_jobs)
    except (SimulatorError, OSError) as exc:
        print(f"casewatch sim: encoding failed: {exc}", file=sys.stderr)
        return 1
    logger.info("%d mounts, %d distinct loop files in %s", len(mounts), len(files), cache_dir)

    # Imported here: only the server needs GStreamer (gi).
    from .control import ControlServer
    from .server import LoopBackend, MountSetup, SimulatorServer

    setups = [
        MountSetup(spec=m, file=files[params[m.name]], loop_ns=params[m.name].loop_ns)
        for m in mounts
    ]
    server = SimulatorServer(args.host, args.port, setups)
    try:
        server.start()
    except SimulatorError as exc:
        print(f"casewatch sim: {exc}", file=sys.stderr)
        return 1
    try:
        control = ControlServer(args.host, args.control_port, LoopBackend(server))
    except OSError as exc:
        print(
            f"casewatch sim: cannot listen for the control API on "
            f"{args.host}:{args.control_port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        server.close()
        return 1
    control.start()
    server.quit_on_signals((signal.SIGINT, signal.SIGTERM))
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(
        f"{READY_PREFIX} rtsp://{host}:{server.port}/ control http://{host}:{control.port}/",
        flush=True,
    )
    try:
        server.run()
    finally:
        logger.info("shutting down")
        control.close()
        server.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse `argv` and run."""
    parser = argparse.ArgumentParser(
        prog="casewatch-sim", description="RTSP camera simulator for casewatch tests and demos"
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))
