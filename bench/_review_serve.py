"""``casewatch serve`` with start-up recovery skipped: the HTTP half of bench/review.py part (a).

    python bench/_review_serve.py --config FILE

Start-up recovery (``recorder.recovery.recover``) loads every segment row of the catalog as an
ORM object and walks the storage tree to compare the two. On the synthetic catalog (millions of
rows, no files) that would take minutes, need more memory than the host has, and mark every
segment ``lost``. Everything else is the real server: the same app, routes, sessions and engine.
The benchmark reports what recovery would cost at the catalog's size separately.
"""

from __future__ import annotations

import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    """Patch recovery out, then run ``casewatch serve`` with the given arguments."""
    # the project first: bench/ (this script's folder) has modules named like packages
    sys.path[:] = [str(PROJECT_ROOT), *(p for p in sys.path if p != str(PROJECT_ROOT))]
    import recorder.service
    from api.cli import main as casewatch
    from recorder.recovery import Report

    def skip_recovery(_session: object, _root: Path, *, now_us: int) -> Report:
        return Report(actions=[f"recovery skipped by bench/_review_serve.py at {now_us}"])

    setattr(recorder.service, "recover", skip_recovery)  # noqa: B010 - patching a module
    return casewatch(["serve", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
