"""What an automatic check says about one camera: the names of the checks and their results."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Any


class Check(enum.StrEnum):
    """The automatic checks, equipment first, then the picture (DOMAIN.md: the equipment)."""

    ONLINE = "online"
    RECORDING = "recording"
    COVERAGE = "coverage"
    AUDIO = "audio"
    CLOCK = "clock"
    BLACK = "black"
    FROZEN = "frozen"
    BLURRED = "blurred"
    COVERED = "covered"
    DARK = "dark"
    OVEREXPOSED = "overexposed"
    COLOUR_CAST = "colour_cast"
    NOISY = "noisy"
    SCENE_CHANGED = "scene_changed"

    @property
    def on_picture(self) -> bool:
        """True for the checks judged on decoded pictures."""
        return self in PICTURE_CHECKS

    @property
    def label_zh(self) -> str:
        """The check's name as the patrol pages and bulletins show it."""
        return LABELS_ZH[self]


PICTURE_CHECKS = frozenset(
    {
        Check.BLACK,
        Check.FROZEN,
        Check.BLURRED,
        Check.COVERED,
        Check.DARK,
        Check.OVEREXPOSED,
        Check.COLOUR_CAST,
        Check.NOISY,
        Check.SCENE_CHANGED,
    }
)

LABELS_ZH: dict[Check, str] = {
    Check.ONLINE: "设备在线",
    Check.RECORDING: "正在录像",
    Check.COVERAGE: "录像完整",
    Check.AUDIO: "声音正常",
    Check.CLOCK: "设备时钟",
    Check.BLACK: "黑屏/无信号",
    Check.FROZEN: "画面冻结",
    Check.BLURRED: "画面模糊",
    Check.COVERED: "画面遮挡",
    Check.DARK: "画面过暗",
    Check.OVEREXPOSED: "画面过亮",
    Check.COLOUR_CAST: "画面偏色",
    Check.NOISY: "雪花噪点",
    Check.SCENE_CHANGED: "场景变动",
}


@dataclass(frozen=True)
class CheckResult:
    """One check of one camera. ``ok`` is None when the check could not judge (``detail`` says
    why: no picture, no reference yet, …): that is neither a pass nor a finding."""

    camera: str
    check: Check
    ok: bool | None
    value: float | str | None
    threshold: float | str | None
    unit: str = ""
    detail: str = ""
    snapshot: bytes | None = field(default=None, repr=False, compare=False)
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def as_json(self) -> dict[str, Any]:
        """The result as the API and `casewatch patrol check --json` print it (no snapshot)."""
        return {
            "camera": self.camera,
            "check": self.check.value,
            "ok": self.ok,
            "value": _rounded(self.value),
            "threshold": _rounded(self.threshold),
            "unit": self.unit,
            "detail": self.detail,
            **self.extra,
        }


def _rounded(value: float | str | None) -> float | str | None:
    if isinstance(value, float):
        return round(value, 4) if math.isfinite(value) else None
    return value
