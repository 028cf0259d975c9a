"""What a simulated camera is: the mount model, fault modes and the encoded stream layout.

`MountSpec` is shared by the YAML config, the CLI and the test harness. `EncodeParams` is the
subset of a mount that determines the pre-encoded loop file, so mounts with equal parameters
share one file. The PID constants fix the MPEG-TS layout that `encode` writes and the GStreamer
pipeline reads.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NAME_RE = re.compile(r"^[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*$")
LABEL_UNSAFE_RE = re.compile(r"[%{}\\\x00-\x1f]")

AUDIO_SAMPLE_RATE = 48_000
ENCODER_VERSION = 7  # bumped: a half-size variant (a camera whose resolution was changed)
"""Bump when the encoding recipe changes, so cached loops are re-encoded."""


class VideoMode(StrEnum):
    """Which video variant a mount sends: the test pattern, a black picture, a still frame, or
    the test pattern at half the size (a camera whose resolution was changed mid-stream: new
    SPS/PPS in band, as when an installer changes its settings)."""

    NORMAL = "normal"
    BLACK = "black"
    FROZEN = "frozen"
    RESIZED = "resized"


class AudioMode(StrEnum):
    """Which audio variant a mount sends: a 1 kHz tone or digital silence."""

    TONE = "tone"
    SILENT = "silent"


VIDEO_PIDS: dict[VideoMode, int] = {
    VideoMode.NORMAL: 0x100,
    VideoMode.BLACK: 0x101,
    VideoMode.FROZEN: 0x102,
    VideoMode.RESIZED: 0x103,
}
AUDIO_PIDS: dict[AudioMode, int] = {
    AudioMode.TONE: 0x110,
    AudioMode.SILENT: 0x111,
}


class MountSpec(BaseModel):
    """One simulated camera: an RTSP mount path plus the parameters of its stream."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[
        str,
        Field(
            min_length=1,
            max_length=200,
            description="Mount path without the leading '/', e.g. 'cam1' or 'qingjiang/int-1'.",
        ),
    ]
    width: Annotated[int, Field(ge=16, le=3840, description="Width in pixels (even).")] = 1280
    height: Annotated[int, Field(ge=16, le=2160, description="Height in pixels (even).")] = 720
    fps: Annotated[int, Field(ge=1, le=60, description="Frames per second.")] = 25
    gop: Annotated[
        float, Field(gt=0, le=10, description="Keyframe interval in seconds (fixed GOP).")
    ] = 2.0
    bitrate: Annotated[
        int, Field(ge=50, le=50_000, description="Video bitrate in kbit/s (CBR-ish).")
    ] = 2000
    audio: Annotated[
        bool, Field(description="Serve an AAC audio track; false = camera without microphone.")
    ] = True
    label: Annotated[
        str | None,
        Field(max_length=80, description="On-screen ident text; defaults to the mount name."),
    ] = None

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not NAME_RE.match(value) or any(part in (".", "..") for part in value.split("/")):
            raise ValueError(
                "must be path segments of letters, digits, '.', '_', '~', '-' separated by '/'"
            )
        return value

    @field_validator("width", "height")
    @classmethod
    def _check_even(cls, value: int) -> int:
        if value % 2:
            raise ValueError("must be even (4:2:0 video)")
        return value

    @model_validator(mode="after")
    def _check_gop_frames(self) -> MountSpec:
        if round(self.fps * self.gop) < 1:
            raise ValueError("gop * fps must be at least one frame")
        return self

    @property
    def path(self) -> str:
        """The RTSP mount path, with a leading '/'."""
        return "/" + self.name

    @property
    def gop_frames(self) -> int:
        """Frames per GOP."""
        return max(1, round(self.fps * self.gop))

    @property
    def ident_text(self) -> str:
        """The ident drawn on the picture, made safe for ffmpeg's drawtext expansion."""
        text = self.label if self.label is not None else self.name
        return LABEL_UNSAFE_RE.sub("_", text)


@dataclass(frozen=True)
class EncodeParams:
    """Everything that determines the bytes of a pre-encoded loop file."""

    width: int
    height: int
    fps: int
    gop_frames: int
    bitrate_kbps: int
    loop_frames: int
    ident: str | None

    @classmethod
    def for_mount(cls, spec: MountSpec, *, loop_seconds: float, ident: bool) -> EncodeParams:
        """The loop parameters of `spec`: an integer number of GOPs of at least one GOP."""
        gops = max(1, math.ceil(loop_seconds * spec.fps / spec.gop_frames - 1e-9))
        return cls(
            width=spec.width,
            height=spec.height,
            fps=spec.fps,
            gop_frames=spec.gop_frames,
            bitrate_kbps=spec.bitrate,
            loop_frames=gops * spec.gop_frames,
            ident=spec.ident_text if ident else None,
        )

    @property
    def loop_ns(self) -> int:
        """Loop duration in nanoseconds (exact for integer frame counts)."""
        return self.loop_frames * 1_000_000_000 // self.fps

    @property
    def loop_seconds(self) -> float:
        """Loop duration in seconds."""
        return self.loop_frames / self.fps

    def cache_key(self) -> str:
        """A short stable hash of all parameters and the recipe version."""
        payload = json.dumps({"v": ENCODER_VERSION, **asdict(self)}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:20]


def parse_size(text: str) -> tuple[int, int]:
    """Parse 'WIDTHxHEIGHT' (e.g. '1280x720') into a tuple; raises ValueError."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match:
        raise ValueError(f"size must look like 1280x720, got {text!r}")
    return int(match.group(1)), int(match.group(2))
