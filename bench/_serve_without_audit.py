"""``casewatch serve`` with the audit trail's appends made no-ops: the baseline of
bench/auditing.py (everything else is the real server).

    python bench/_serve_without_audit.py --config FILE
"""

from __future__ import annotations

import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    """Patch ``AuditTrail.append`` out, then run ``casewatch serve`` with the given arguments."""
    # the project first: bench/ (this script's folder) has modules named like packages
    sys.path[:] = [str(PROJECT_ROOT), *(p for p in sys.path if p != str(PROJECT_ROOT))]
    from access.audit import AuditTrail
    from api.cli import main as casewatch

    def no_append(_self: AuditTrail, _record: object) -> None:
        return None

    setattr(AuditTrail, "append", no_append)  # noqa: B010 - patching for the baseline
    return casewatch(["serve", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
