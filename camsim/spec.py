"""What a simulated camera is: the mount model, fault modes and the encoded stream layout.

`MountSpec` is shared by the YAML config, the CLI and the test harness. `EncodeParams` is the
subset of a mount that determines the pre-encoded loop file, so mounts with equal parameters
share one file. The PID constants fix the MPEG-TS layout that `encode` writes and the GStreamer
pipeline reads.

A mount can look like the cameras police stations actually have (Hikvision / Dahua defaults):
H.265 instead of H.264, B-frames, G.711 audio instead of AAC, and RTSP Basic or Digest
authentication. The defaults are the original simulator's stream (H.264 without B-frames, AAC,
no authentication), and loops encoded with them keep their cache key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

NAME_RE = re.compile(r"^[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*$")
LABEL_UNSAFE_RE = re.compile(r"[%{}\\\x00-\x1f]")
CREDENTIAL_UNSAFE_RE = re.compile(r"[\x00-\x1f\x7f]")

AUDIO_SAMPLE_RATE = 48_000
"""Sample rate of the AAC tracks of the loop files (G.711 mounts resample to 8 kHz live)."""
G711_SAMPLE_RATE = 8_000
"""G.711 is 8 kHz mono; its RTP clock rate is 8000 too."""
G711_PTIME_MS = 20
"""Milliseconds of G.711 audio per RTP packet (160 bytes), the common camera default."""
ENCODER_VERSION = 7  # bumped: a half-size variant (a camera whose resolution was changed)
"""Bump when the encoding recipe changes, so cached loops are re-encoded."""


class VideoMode(StrEnum):
    """Which video variant a mount sends: the test pattern, a black picture, a still frame, or
    the test pattern at half the size (a camera whose resolution was changed mid-stream: new
    SPS/PPS in band, as when an installer changes its settings).

    A mount with ``picture_faults`` also has what a patrol must catch in a picture that still
    streams: out of focus, partly covered, too dark, over-exposed, a colour cast, snow (noise),
    and the camera turned away from its scene."""

    NORMAL = "normal"
    BLACK = "black"
    FROZEN = "frozen"
    RESIZED = "resized"
    BLURRED = "blurred"
    COVERED = "covered"
    DARK = "dark"
    OVEREXPOSED = "overexposed"
    COLOUR_CAST = "colour_cast"
    NOISY = "noisy"
    TURNED = "turned"

    @property
    def is_picture_fault(self) -> bool:
        """True for the variants only a mount with ``picture_faults`` has."""
        return self not in BASE_VIDEO_MODES


class AudioMode(StrEnum):
    """Which audio variant a mount sends: a 1 kHz tone or digital silence."""

    TONE = "tone"
    SILENT = "silent"


class VideoCodec(StrEnum):
    """The mount's video codec: H.264 (every camera) or H.265 (the default of current
    Hikvision / Dahua models)."""

    H264 = "h264"
    H265 = "h265"


class AudioCodec(StrEnum):
    """The mount's audio codec as sent over RTP: AAC, or G.711 A-law / μ-law (8 kHz mono, what
    most station cameras send). The loop file always holds AAC; G.711 is transcoded live."""

    AAC = "aac"
    PCMA = "pcma"
    PCMU = "pcmu"

    @property
    def is_g711(self) -> bool:
        """True for G.711 (A-law or μ-law)."""
        return self is not AudioCodec.AAC

    @property
    def payload_type(self) -> int:
        """The RTP payload type: the static ones of RFC 3551 for G.711, dynamic 97 for AAC."""
        return {AudioCodec.AAC: 97, AudioCodec.PCMA: 8, AudioCodec.PCMU: 0}[self]


class AuthMethod(StrEnum):
    """RTSP authentication a mount requires: none, Basic or Digest (cameras default to
    Digest; some older firmware or NVR channels still use Basic)."""

    NONE = "none"
    BASIC = "basic"
    DIGEST = "digest"


class ToneKind(StrEnum):
    """The audible content of a loop's "tone" track.

    SINE is the original plain 1 kHz sine. A 1 kHz sine sampled at 8 kHz repeats every 8
    samples, so G.711 bytes of it cannot prove where a stretch of recorded audio came from;
    G.711 mounts use VARYING instead: the tone with a slow vibrato plus faint noise, which
    never repeats within a loop.
    """

    SINE = "sine"
    VARYING = "varying"


BASE_VIDEO_MODES = (VideoMode.NORMAL, VideoMode.BLACK, VideoMode.FROZEN, VideoMode.RESIZED)
"""The variants every loop file has."""

VIDEO_PIDS: dict[VideoMode, int] = {mode: 0x100 + index for index, mode in enumerate(VideoMode)}
"""The MPEG-TS PID of each video variant (0x100 normal, 0x101 black, …, in declaration order)."""


def video_modes(*, picture_faults: bool) -> tuple[VideoMode, ...]:
    """The video variants in a loop file, in PID order."""
    return tuple(VideoMode) if picture_faults else BASE_VIDEO_MODES


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
        bool,
        Field(description="Serve an audio track (see audio_codec); false = camera without mic."),
    ] = True
    label: Annotated[
        str | None,
        Field(max_length=80, description="On-screen ident text; defaults to the mount name."),
    ] = None
    video_codec: Annotated[
        VideoCodec,
        Field(description="Video codec: 'h264' or 'h265' (parameter sets in band per keyframe)."),
    ] = VideoCodec.H264
    bframes: Annotated[
        int,
        Field(
            ge=0,
            le=4,
            description="B-frames between reference frames (0 = none, decode order = display "
            "order); cameras set 0 to 2.",
        ),
    ] = 0
    audio_codec: Annotated[
        AudioCodec,
        Field(
            description="Audio codec over RTP: 'aac' (48 kHz), 'pcma' or 'pcmu' (G.711, 8 kHz "
            "mono, payload types 8 / 0, 20 ms packets)."
        ),
    ] = AudioCodec.AAC
    auth: Annotated[
        AuthMethod,
        Field(
            description="RTSP authentication: 'none', 'basic' or 'digest' (needs user and "
            "password)."
        ),
    ] = AuthMethod.NONE
    user: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=64,
            validate_default=True,
            description="RTSP user name when auth is not 'none' (no ':').",
        ),
    ] = None
    password: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=64,
            repr=False,
            validate_default=True,
            description="RTSP password when auth is not 'none'.",
        ),
    ] = None
    picture_faults: Annotated[
        bool,
        Field(
            description="Also encode the picture faults a patrol must catch (blurred, covered, "
            "dark, overexposed, colour_cast, noisy, turned), switchable like black and frozen."
        ),
    ] = False

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

    @field_validator("user", "password")
    @classmethod
    def _check_credential(cls, value: str | None, info: ValidationInfo) -> str | None:
        # A field error rather than a model one, so the message names the field (auth is
        # declared before user and password, so it is validated first and in info.data).
        if value is not None:
            if CREDENTIAL_UNSAFE_RE.search(value):
                raise ValueError("must not contain control characters")
            # ':' ends the user name in Basic credentials and in a URL's userinfo; a quote or a
            # backslash would need escaping in Digest's quoted-string, which clients get wrong.
            if info.field_name == "user" and any(c in value for c in ':"\\'):
                raise ValueError("must not contain ':', '\"' or '\\'")
        auth = info.data.get("auth")
        if auth is None:  # auth itself was invalid: that error is enough
            return value
        if auth is AuthMethod.NONE and value is not None:
            raise ValueError("needs auth 'basic' or 'digest'")
        if auth is not AuthMethod.NONE and value is None:
            raise ValueError(f"is required with auth {auth.value!r}")
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
    """Everything that determines the bytes of a pre-encoded loop file.

    Fields with a default were added after the first loops were cached: at their default they
    are left out of `cache_key`, so the loops of mounts that do not use them keep their key
    (and their file) whatever this class grows.
    """

    width: int
    height: int
    fps: int
    gop_frames: int
    bitrate_kbps: int
    loop_frames: int
    ident: str | None
    video_codec: VideoCodec = VideoCodec.H264
    bframes: int = 0
    tone: ToneKind = ToneKind.SINE
    picture_faults: bool = False

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
            video_codec=spec.video_codec,
            bframes=spec.bframes,
            # Only what is heard decides: pcma and pcmu mounts share one loop file.
            tone=ToneKind.VARYING if spec.audio and spec.audio_codec.is_g711 else ToneKind.SINE,
            picture_faults=spec.picture_faults,
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
        values = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.default is dataclasses.MISSING or getattr(self, f.name) != f.default
        }
        payload = json.dumps({"v": ENCODER_VERSION, **values}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:20]


def parse_size(text: str) -> tuple[int, int]:
    """Parse 'WIDTHxHEIGHT' (e.g. '1280x720') into a tuple; raises ValueError."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match:
        raise ValueError(f"size must look like 1280x720, got {text!r}")
    return int(match.group(1)), int(match.group(2))
