"""Pre-encode the simulator's loop files once per parameter set, with the ffmpeg CLI.

Each file is an MPEG-TS holding, with fixed PIDs (see `spec.VIDEO_PIDS` / `spec.AUDIO_PIDS`):
four H.264 or H.265 variants with identical GOP structure and timestamps (test pattern with
ident and clock, black, a frozen still frame, the pattern at half size; seven more picture
faults for a mount with `picture_faults`, see `spec.VideoMode`) and two AAC variants
(1 kHz tone, silence). The server switches between them at run time without re-encoding. Files
are cached under a directory keyed by a hash of the parameters and published with an atomic
rename, so concurrent simulator processes never read half-written files.

Both codecs get what the server's variant switch and looping rely on: a fixed GOP of
`gop_frames` without scene-cut keyframes, closed GOPs (no frame refers across a keyframe, so
a loop point or a switch never leaves a frame without its reference) and parameter sets in
band before every keyframe.
"""

from __future__ import annotations

import fcntl
import functools
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import ffmpeg

from .errors import EncodeError
from .spec import (
    AUDIO_PIDS,
    AUDIO_SAMPLE_RATE,
    VIDEO_PIDS,
    AudioMode,
    EncodeParams,
    ToneKind,
    VideoCodec,
    VideoMode,
    video_modes,
)

logger = logging.getLogger(__name__)

FROZEN_QP = 23
"""Constant QP for the frozen variant, so every decoded frame of it is (nearly) identical."""
NOISY_BITRATE_FACTOR = 4
"""The noisy variant's bitrate, in multiples of the mount's (see `_video_options`)."""
AUDIO_BITRATE = "64k"
SINE_HZ = 1000
TONE_AMPLITUDE = 0.125
"""Peak of the tone (−18 dBFS; RMS −21 dBFS): loud and clear of clipping."""
VIBRATO_HZ = 0.3
"""How often the varying tone's pitch swings (it stays within about ±5 % of 1 kHz)."""
VIBRATO_DEPTH = 150.0
"""Peak phase deviation of the varying tone in radians (Δf = depth × rate ≈ ±45 Hz)."""
NOISE_AMPLITUDE = 0.004
"""Peak of the varying tone's white noise (about −50 dBFS RMS, 30 dB under the tone): enough
to change G.711 code words everywhere, too faint to matter to a level meter."""


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/casewatch/sim`, or `~/.cache/casewatch/sim`."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "casewatch" / "sim"


@functools.cache
def find_font() -> str | None:
    """A sans font with CJK glyphs if installed (camera names are Chinese), else any sans."""
    if shutil.which("fc-match") is None:
        return None
    try:
        result = subprocess.run(
            ["fc-match", "-f", "%{file}", "sans:lang=zh-cn"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    path = result.stdout.strip()
    return path if path and Path(path).is_file() else None


def loop_path(params: EncodeParams, cache_dir: Path) -> Path:
    """Where the loop file for `params` lives in `cache_dir`."""
    return cache_dir / f"loop-{params.width}x{params.height}-{params.cache_key()}.ts"


def build_ffmpeg_args(params: EncodeParams, output: Path, textfile: Path | None) -> list[str]:
    """The ffmpeg command-line arguments (without the program name) encoding `params`."""
    size = f"{params.width}x{params.height}"
    # Sources end by themselves: `-frames:v` would make ffmpeg 5 close the whole output as soon
    # as the video is done, cutting the (interleaved, later) audio tail short. Half a frame less
    # than the loop yields exactly loop_frames frames whatever the rounding.
    duration = f"{params.loop_ns / 1e9:.6f}"
    source_duration = f"{(params.loop_frames - 0.5) / params.fps:.6f}"
    fps = params.fps
    font = find_font() if textfile is not None else None

    pattern = ffmpeg.input(f"testsrc2=size={size}:rate={fps}:duration={source_duration}", f="lavfi")
    # One source split for all variants keeps their frames and timestamps identical.
    branches = pattern.video.split()
    normal, blank = branches[0], branches[1]
    if textfile is not None and font is not None:
        normal = normal.drawtext(
            textfile=str(textfile),
            fontfile=font,
            fontsize=max(12, params.height // 14),
            fontcolor="white",
            box=1,
            boxcolor="black@0.6",
            boxborderw=4,
            x=10,
            y=10,
        )
    shown = normal.split()
    normal, still, resized = shown[0], shown[1], shown[2]
    resized = resized.filter(
        "scale", max(16, params.width // 4 * 2), max(16, params.height // 4 * 2)
    )
    black = blank.drawbox(0, 0, "iw", "ih", color="black", thickness="fill")
    # The first frame (clock at 00:00:00) repeated: a camera whose picture froze.
    frozen = (
        still.trim(end_frame=1)
        .filter("loop", loop=params.loop_frames - 1, size=1)
        .setpts(f"N/{fps}/TB")
    )
    tone = ffmpeg.input(_tone_source(params, duration), f="lavfi")
    silent = ffmpeg.input(f"anullsrc=r={AUDIO_SAMPLE_RATE}:cl=mono:d={duration}", f="lavfi")

    options: dict[str, str | int] = {
        **_video_options(params),
        "c:a": "aac",
        "ar": AUDIO_SAMPLE_RATE,
        "ac": 1,
        "b:a": AUDIO_BITRATE,
        "f": "mpegts",
        # One PES per audio frame keeps audio interleaved with video within a frame or two, so
        # the server's queues (and with them the delay of a fault switch) can stay short.
        "pes_payload_size": 0,
    }

    videos = [normal, black, frozen, resized]
    if params.picture_faults:
        videos += _picture_faults(shown[3], params)
    out = ffmpeg.output(*videos, tone.audio, silent.audio, str(output), **options).global_args(
        "-hide_banner", "-nostdin", "-loglevel", "error"
    )
    args: list[str] = list(ffmpeg.get_args(out, overwrite_output=True))
    # ffmpeg-python cannot repeat an option, so insert the per-stream PIDs by hand.
    pids = [VIDEO_PIDS[mode] for mode in video_modes(picture_faults=params.picture_faults)]
    pids += [AUDIO_PIDS[AudioMode.TONE], AUDIO_PIDS[AudioMode.SILENT]]
    at = args.index(str(output))
    streamids = [item for i, pid in enumerate(pids) for item in ("-streamid", f"{i}:{pid}")]
    args[at:at] = streamids
    return args


def _picture_faults(shown: Any, params: EncodeParams) -> list[Any]:
    """The patrol's picture faults, in `VideoMode` order after the base variants, each made
    from the moving picture (a fault is not a freeze): out of focus, the left 65 % covered by
    something dark and close, too dark and over-exposed (light scaled in RGB, as an exposure
    is, so colours darken or wash out with it), a warm colour cast, heavy snow, and the camera
    turned (panned and zoomed onto another part of its view)."""
    branches = shown.split()
    width, height = params.width, params.height
    return [
        branches[0].filter("gblur", sigma=max(3.0, width / 100)),
        branches[1].drawbox(0, 0, "iw*0.65", "ih", color="0x2a2826", thickness="fill"),
        branches[2].filter("lutrgb", **dict.fromkeys("rgb", "val*0.15")),
        branches[3].filter("lutrgb", **dict.fromkeys("rgb", "clip(val*1.2+200,0,255)")),
        branches[4].filter("colorchannelmixer", rr=1.0, gg=0.5, bb=0.15),
        branches[5].filter("noise", c0s=60, c0f="t"),
        branches[6].crop("iw*0.55", "ih*0.55", "iw*0.45", "ih*0.45").filter("scale", width, height),
    ]


def _tone_source(params: EncodeParams, duration: str) -> str:
    """The lavfi source of the "tone" track."""
    if params.tone is ToneKind.SINE:
        return f"sine=frequency={SINE_HZ}:sample_rate={AUDIO_SAMPLE_RATE}:duration={duration}"
    # 1 kHz with a slow vibrato plus faint white noise: never periodic, so a stretch of the
    # G.711 audio made from it occurs once per loop. random(0) is aevalsrc's seeded generator,
    # so every encode of these parameters gives the same samples.
    expr = (
        f"{TONE_AMPLITUDE}*sin(2*PI*{SINE_HZ}*t+{VIBRATO_DEPTH}*sin(2*PI*{VIBRATO_HZ}*t))"
        f"+{NOISE_AMPLITUDE}*(2*random(0)-1)"
    )
    return f"aevalsrc=exprs='{expr}':s={AUDIO_SAMPLE_RATE}:c=mono:d={duration}"


def _video_options(params: EncodeParams) -> dict[str, str | int]:
    """Encoder options for the video outputs (see `spec.video_modes`)."""
    options: dict[str, str | int]
    if params.video_codec is VideoCodec.H264:
        x264_params = "sliced-threads=0"
        if params.bframes:
            # zerolatency sets bframes=0; ffmpeg's -bf and x264-params are applied after the
            # tune, so they win. A fixed B-frame pattern (b-adapt=0), as cameras use.
            x264_params += f":bframes={params.bframes}:b-adapt=0"
        options = {
            "c:v": "libx264",
            "preset": "veryfast",
            "tune": "zerolatency",
            # One slice per frame like most cameras; zerolatency's sliced threads would give
            # each IDR several slices, and rtph264pay then repeats SPS/PPS before each of them,
            # which makes ffmpeg's parser split the keyframe into two packets with the same pts.
            "x264-params": x264_params,
            "profile:v": "main",
            "pix_fmt": "yuv420p",
            "bf": params.bframes,
            "g": params.gop_frames,
            "keyint_min": params.gop_frames,
            "sc_threshold": 0,
        }
    else:
        x265_params = [
            f"keyint={params.gop_frames}",
            f"min-keyint={params.gop_frames}",
            "scenecut=0",
            # x265 defaults to open GOPs (CRA keyframes whose leading pictures refer to the
            # previous GOP), which would break at the loop point and at variant switches.
            "open-gop=0",
            # VPS/SPS/PPS before every keyframe, as cameras send them.
            "repeat-headers=1",
            f"bframes={params.bframes}",
            "b-adapt=0",
            "log-level=error",
        ]
        options = {
            "c:v": "libx265",
            "preset": "veryfast",
            "x265-params": ":".join(x265_params),
            "profile:v": "main",
            "pix_fmt": "yuv420p",
        }
    frozen = video_modes(picture_faults=params.picture_faults).index(VideoMode.FROZEN)
    for index, mode in enumerate(video_modes(picture_faults=params.picture_faults)):
        if index == frozen:
            continue  # every other variant: CBR-ish
        # Snow takes bits: a camera's VBR encoder spends NOISY_BITRATE_FACTOR × on it, where
        # CBR at the normal rate would smooth most of it away.
        kbps = params.bitrate_kbps * (NOISY_BITRATE_FACTOR if mode is VideoMode.NOISY else 1)
        for option in ("b", "maxrate", "bufsize"):
            options[f"{option}:v:{index}"] = f"{kbps}k"
    # frozen: constant QP, so repeated frames decode identically
    options[f"qp:v:{frozen}"] = FROZEN_QP
    return options


def ensure_loop(params: EncodeParams, cache_dir: Path) -> Path:
    """Return the cached loop file for `params`, encoding it first if it is missing.

    Concurrent callers (threads or processes) wait on a lock file, so each file is encoded
    once; readers only ever see complete files (atomic rename).
    """
    path = loop_path(params, cache_dir)
    if path.is_file():
        return path
    cache_dir.mkdir(parents=True, exist_ok=True)
    with path.with_suffix(".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.is_file():
            return path
        _encode(params, path)
    return path


def _encode(params: EncodeParams, path: Path) -> None:
    cache_dir = path.parent
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".ts.tmp", dir=cache_dir)
    os.close(fd)
    tmp = Path(tmp_name)
    textfile: Path | None = None
    try:
        if params.ident is not None:
            textfile = tmp.with_suffix(".txt")
            # The clock uses drawtext expansion; a text file avoids filtergraph escaping.
            textfile.write_text(params.ident + "  %{pts:hms}", encoding="utf-8")
        args = build_ffmpeg_args(params, tmp, textfile)
        logger.info(
            "encoding %dx%d@%d %ds loop -> %s",
            params.width,
            params.height,
            params.fps,
            round(params.loop_seconds),
            path.name,
        )
        result = subprocess.run(["ffmpeg", *args], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            tail = result.stderr.strip()[-2000:]
            raise EncodeError(f"ffmpeg exited with {result.returncode}: {tail}")
        tmp.chmod(0o644)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
        if textfile is not None:
            textfile.unlink(missing_ok=True)


def ensure_loops(
    params: Iterable[EncodeParams], cache_dir: Path, *, jobs: int | None = None
) -> dict[EncodeParams, Path]:
    """Encode every distinct parameter set once (in parallel) and map each to its file."""
    distinct = list(dict.fromkeys(params))
    workers = max(1, min(len(distinct), jobs or os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sim-encode") as pool:
        paths = list(pool.map(lambda p: ensure_loop(p, cache_dir), distinct))
    return dict(zip(distinct, paths, strict=True))
