"""The finding state machine (patrol/DESIGN.md, "Findings"): pure, so every path is tested."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from patrol.results import Check


class FindingState(enum.StrEnum):
    OPEN = "open"
    ASSIGNED = "assigned"
    RECTIFIED = "rectified"
    VERIFIED = "verified"
    REOPENED = "reopened"

    @property
    def label_zh(self) -> str:
        return {
            FindingState.OPEN: "待整改",
            FindingState.ASSIGNED: "已指派",
            FindingState.RECTIFIED: "已整改待核查",
            FindingState.VERIFIED: "已核查",
            FindingState.REOPENED: "退回重改",
        }[self]


UNRESOLVED = frozenset({FindingState.OPEN, FindingState.ASSIGNED, FindingState.REOPENED})
"""The station still owes a rectification (these can be overdue)."""
UNVERIFIED = UNRESOLVED | {FindingState.RECTIFIED}


class Action(enum.StrEnum):
    ASSIGN = "assign"
    RECTIFY = "rectify"
    VERIFY = "verify"
    REOPEN = "reopen"
    AUTO_VERIFY = "auto_verify"


@dataclass(frozen=True)
class Rule:
    allowed_from: frozenset[FindingState]
    to: FindingState
    needs_note: bool


RULES: dict[Action, Rule] = {
    Action.ASSIGN: Rule(UNRESOLVED, FindingState.ASSIGNED, False),
    Action.RECTIFY: Rule(UNRESOLVED, FindingState.RECTIFIED, True),
    Action.VERIFY: Rule(frozenset({FindingState.RECTIFIED}), FindingState.VERIFIED, False),
    Action.REOPEN: Rule(frozenset({FindingState.RECTIFIED}), FindingState.REOPENED, True),
    Action.AUTO_VERIFY: Rule(UNVERIFIED, FindingState.VERIFIED, False),
}


class TransitionError(ValueError):
    """The action is not possible from the finding's state, or lacks its note."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def next_state(state: FindingState, action: Action, note: str) -> FindingState:
    """The state after ``action``; raises TransitionError."""
    rule = RULES[action]
    if state not in rule.allowed_from:
        allowed = ", ".join(sorted(s.value for s in rule.allowed_from))
        raise TransitionError(
            f"cannot {action.value} a finding that is {state.value} (only: {allowed})"
        )
    if rule.needs_note and not note.strip():
        raise TransitionError(f"{action.value} needs a note saying what was done", "note")
    return rule.to


class Severity(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


CHECK_SEVERITY: dict[Check, Severity] = {
    Check.ONLINE: Severity.HIGH,
    Check.RECORDING: Severity.HIGH,
    Check.COVERAGE: Severity.HIGH,
    Check.AUDIO: Severity.HIGH,
    Check.BLACK: Severity.HIGH,
    Check.FROZEN: Severity.HIGH,
    Check.COVERED: Severity.HIGH,
    Check.SCENE_CHANGED: Severity.MEDIUM,
    Check.BLURRED: Severity.MEDIUM,
    Check.DARK: Severity.MEDIUM,
    Check.OVEREXPOSED: Severity.MEDIUM,
    Check.COLOUR_CAST: Severity.LOW,
    Check.NOISY: Severity.LOW,
    Check.CLOCK: Severity.LOW,
}
"""What an automatic finding weighs: what loses evidence (no picture, no recording, no sound)
is high; what spoils it is medium; what only degrades it is low."""
