"""The export package's layout and manifest vocabulary, shared by the builder and ``verify``.

A package is one uncompressed ZIP:

- ``manifest.json`` — UTF-8 JSON: format, case, who exported and when, the signer (key id and
  fingerprint), every camera range with its gaps and causes, and every file with its camera,
  requested and covered interval, size, SHA-256 and the SHA-256 of the source segments.
- ``manifest.sig`` — the raw 64-byte Ed25519 signature of the exact bytes of ``manifest.json``.
- ``public-key.pem`` — the signer's public key, for convenience only: verify with a key you
  obtained from the server operator (``GET /api/v1/exports/public-key``), not with this one.
- ``video/*.mp4`` — the footage, one file per camera range (one per recorded piece when the
  range has gaps or the stream format changes, so no file splices footage across a gap).
"""

from __future__ import annotations

from typing import Any

from ingest.clock import isoformat_us

FORMAT = "casewatch-export/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "public-key.pem"
VIDEO_DIR = "video/"
FIXED_MEMBERS = (MANIFEST, SIGNATURE, PUBLIC_KEY)


def interval(start_us: int, end_us: int) -> dict[str, Any]:
    """``{"start", "end", "seconds"}`` of an interval (ISO 8601 UTC with microseconds)."""
    return {
        "start": isoformat_us(start_us),
        "end": isoformat_us(end_us),
        "seconds": round((end_us - start_us) / 1e6, 6),
    }


def package_name(case_number: str, export_id: str) -> str:
    """The file name of a finished package."""
    return f"case-{case_number}-{export_id}.zip"
