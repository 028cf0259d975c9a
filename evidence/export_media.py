"""Cutting one contiguous stretch of recorded segments into one MP4: stream copy, no re-encode.

ffmpeg (command built with ffmpeg-python) reads the segment files through the concat demuxer,
each with its catalog duration (``end_us - start_us``) so concat time equals wall time exactly;
input seeking (``-ss`` before ``-i``) starts at the keyframe at or before the wanted start, and
with stream copy the frames before the start keep negative timestamps, for which the MP4 muxer
writes an edit list: players start at the wanted instant and the picture is complete from the
first frame. ``-t`` ends the file at the wanted end. ``+faststart`` puts the index first.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg

from evidence.export_errors import ExportCancelled, ExportFailed

US = 1_000_000


@dataclass(frozen=True)
class SourceSegment:
    """A present segment file used by an export, as the catalog describes it."""

    path: Path
    relative_path: str
    start_us: int
    end_us: int
    sha256: str
    row_hash: str | None = None
    """The catalog row's chain hash (recorder invariant 8), when the row has one."""


@dataclass(frozen=True)
class MediaInfo:
    """What ffprobe says of a finished export file."""

    duration_seconds: float
    video: str
    audio: str | None


def concat_list(sources: Sequence[SourceSegment]) -> str:
    """An ffconcat script of the sources, each with its exact catalog duration."""
    lines = ["ffconcat version 1.0"]
    for source in sources:
        quoted = str(source.path).replace("'", "'\\''")
        lines.append(f"file '{quoted}'")
        lines.append(f"duration {(source.end_us - source.start_us) / US:.6f}")
    return "\n".join(lines) + "\n"


def command(list_path: Path, output: Path, *, offset_us: int, duration_us: int) -> list[str]:
    """The ffmpeg command line for one cut (``offset_us`` into the concatenated sources)."""
    input_options: dict[str, Any] = {"f": "concat", "safe": 0}
    if offset_us > 0:
        input_options["ss"] = f"{offset_us / US:.6f}"
    stream = ffmpeg.input(str(list_path), **input_options).output(
        str(output),
        f="mp4",
        c="copy",
        map="0",
        t=f"{duration_us / US:.6f}",
        movflags="+faststart",
        strict="experimental",  # FLAC in MP4 (G.711 stored without loss), for ffmpeg 5
    )
    stream = stream.global_args("-nostdin", "-hide_banner", "-v", "error")
    stream = stream.global_args("-progress", "pipe:1", "-nostats")
    args: list[str] = stream.overwrite_output().compile()
    return args


def cut(
    sources: Sequence[SourceSegment],
    output: Path,
    *,
    start_us: int,
    end_us: int,
    progress: Callable[[int], None],
    cancelled: Callable[[], bool],
) -> None:
    """Write [start_us, end_us) of the contiguous ``sources`` to ``output`` (MP4, stream copy).

    ``progress`` gets the microseconds written so far; ``cancelled`` is polled and ends ffmpeg.
    """
    list_path = output.with_suffix(".ffconcat")
    list_path.write_text(concat_list(sources), encoding="utf-8")
    log_path = output.with_suffix(".log")
    args = command(
        list_path, output, offset_us=start_us - sources[0].start_us, duration_us=end_us - start_us
    )
    with log_path.open("wb") as log:
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log)
        assert process.stdout is not None
        try:
            for raw in process.stdout:
                if cancelled():
                    raise ExportCancelled("cancelled")
                key, _, value = raw.decode("ascii", "replace").strip().partition("=")
                if key == "out_time_us" and value.lstrip("-").isdigit():
                    progress(max(0, int(value)))
            code = process.wait()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stdout.close()
    if code != 0:
        detail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        raise ExportFailed(f"ffmpeg failed ({code}): {detail[-1] if detail else 'no output'}")
    with contextlib.suppress(OSError):
        list_path.unlink()
        log_path.unlink()


def probe(path: Path) -> MediaInfo:
    """Duration and streams of a finished file."""
    try:
        data = ffmpeg.probe(str(path))
    except ffmpeg.Error as error:
        stderr = error.stderr.decode("utf-8", "replace").strip() if error.stderr else ""
        raise ExportFailed(f"ffprobe cannot read {path.name}: {stderr}") from None
    video = audio = None
    for stream in data.get("streams", []):
        if stream.get("codec_type") == "video" and video is None:
            video = f"{stream.get('codec_name')} {stream.get('width')}x{stream.get('height')}"
        elif stream.get("codec_type") == "audio" and audio is None:
            audio = f"{stream.get('codec_name')} {stream.get('sample_rate')} Hz"
    if video is None:
        raise ExportFailed(f"{path.name} has no video stream")
    return MediaInfo(float(data.get("format", {}).get("duration", 0.0)), video, audio)
