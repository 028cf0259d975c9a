"""Recorder: segment writing, the footage catalog, recovery, coverage and retention.

Invariants are in recorder/DESIGN.md; ``casewatch check`` verifies them.
"""
