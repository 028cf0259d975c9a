"""Why an export build stopped."""

from __future__ import annotations


class ExportFailed(Exception):
    """The package cannot be built (the export is marked failed with this message)."""


class ExportCancelled(Exception):
    """The build was stopped (shutdown); it is run again from scratch at the next start."""
