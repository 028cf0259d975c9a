"""Recorder: the write path (segment files, camera recorders, the catalog writer) and the footage
catalog (models, migrations, recovery and `check`, retention, coverage and footage queries).

Invariants are in recorder/DESIGN.md; ``casewatch check`` verifies them.
"""
