"""``casewatch verify FILE --key PUBLIC_KEY_PEM``: check an export package offline.

No server and no database: the package and a public key the user trusts are all it needs. The
package is intact when the manifest's signature verifies with that key, every file the manifest
lists is present with the listed size and SHA-256, and nothing else was added. Every problem is
one line naming the member at fault; the ``public-key.pem`` inside the package is never trusted.
"""

from __future__ import annotations

import json
import sys
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from evidence import export_manifest as layout
from evidence.signing import SigningKeyError, fingerprint, load_public, verify
from recorder.files import sha256_stream

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """The command was given something it cannot use (exit status 2)."""


@dataclass
class Report:
    """What verification found."""

    problems: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_package(path: Path, key: Ed25519PublicKey) -> Report:
    """Check the package at ``path`` against the trusted public ``key``."""
    report = Report()
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        report.problems.append(f"{path.name}: not a readable export package ({error})")
        return report
    with archive:
        names = archive.namelist()
        for name, count in sorted(Counter(names).items()):
            if count > 1:
                report.problems.append(f"{name}: appears {count} times in the package")
        members = set(names)
        manifest_bytes = _read(archive, layout.MANIFEST, members, report)
        signature = _read(archive, layout.SIGNATURE, members, report)
        if manifest_bytes is None:
            return report
        signed = signature is not None and verify(key, signature, manifest_bytes)
        if signature is not None and not signed:
            report.problems.append(
                f"{layout.MANIFEST}: the signature in {layout.SIGNATURE} does not verify with "
                f"the given key {fingerprint(key)} (manifest or signature changed, or another "
                "signer)"
            )
        manifest = _parse(manifest_bytes, report)
        if manifest is None:
            return report
        listed = _check_files(archive, manifest, members, report)
        for name in sorted(members - listed - set(layout.FIXED_MEMBERS)):
            report.problems.append(f"{name}: not listed in the manifest (added to the package)")
        _check_signer(archive, manifest, key, members, report)
        report.summary = _summary(manifest, key)
    return report


def _read(archive: zipfile.ZipFile, name: str, members: set[str], report: Report) -> bytes | None:
    if name not in members:
        report.problems.append(f"{name}: missing from the package")
        return None
    try:
        return archive.read(name)
    except (zipfile.BadZipFile, OSError) as error:
        report.problems.append(f"{name}: damaged ({error})")
        return None


def _parse(data: bytes, report: Report) -> dict[str, Any] | None:
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        report.problems.append(f"{layout.MANIFEST}: not valid JSON ({error})")
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != layout.FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        report.problems.append(
            f"{layout.MANIFEST}: unknown format {found!r} (this tool reads {layout.FORMAT})"
        )
        return None
    if not isinstance(manifest.get("files"), list):
        report.problems.append(f"{layout.MANIFEST}: has no list of files")
        return None
    return manifest


def _check_files(
    archive: zipfile.ZipFile, manifest: dict[str, Any], members: set[str], report: Report
) -> set[str]:
    """Size and SHA-256 of every listed file; returns the names listed."""
    listed: set[str] = set()
    for index, entry in enumerate(manifest["files"]):
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or name in layout.FIXED_MEMBERS:
            report.problems.append(f"{layout.MANIFEST}: files[{index}] is malformed")
            continue
        listed.add(name)
        if name not in members:
            report.problems.append(f"{name}: listed in the manifest but missing from the package")
            continue
        try:
            size, digest = _hash_member(archive, name)
        except (zipfile.BadZipFile, OSError) as error:
            report.problems.append(f"{name}: damaged ({error})")
            continue
        if size != entry.get("size"):
            report.problems.append(f"{name}: {size} bytes, the manifest says {entry.get('size')}")
        if digest != entry.get("sha256"):
            report.problems.append(f"{name}: SHA-256 does not match the manifest (file changed)")
    return listed


def _hash_member(archive: zipfile.ZipFile, name: str) -> tuple[int, str]:
    with archive.open(name) as member:
        return sha256_stream(member)


def _check_signer(
    archive: zipfile.ZipFile,
    manifest: dict[str, Any],
    key: Ed25519PublicKey,
    members: set[str],
    report: Report,
) -> None:
    signer = manifest.get("signer") if isinstance(manifest.get("signer"), dict) else {}
    named = signer.get("fingerprint") if signer else None
    if named != fingerprint(key):
        report.problems.append(
            f"{layout.MANIFEST}: names signer {named}, but the given key is {fingerprint(key)}"
        )
    if layout.PUBLIC_KEY in members:
        try:
            bundled = fingerprint(load_public(archive.read(layout.PUBLIC_KEY)))
        except (SigningKeyError, zipfile.BadZipFile, OSError):
            bundled = None
        if bundled != named:
            report.problems.append(f"{layout.PUBLIC_KEY}: is not the signer's key")


def _summary(manifest: dict[str, Any], key: Ed25519PublicKey) -> list[str]:
    case = manifest.get("case") or {}
    lines = [
        f"case {case.get('number')} ({case.get('type')}): {case.get('title')}",
        f"exported {manifest.get('exported_at')} by {manifest.get('exported_by') or 'unknown'}",
        f"signed by {fingerprint(key)}",
    ]
    total = 0.0
    entries = [entry for entry in manifest["files"] if isinstance(entry, dict)]
    for entry in entries:
        camera = entry.get("camera") or {}
        covered = entry.get("covered") or {}
        seconds = float(covered.get("seconds") or 0.0)
        total += seconds
        gaps = len(entry.get("gaps") or [])
        lines.append(
            f"  {entry.get('name')}: camera {camera.get('id')} ({camera.get('name')}), "
            f"{covered.get('start')} – {covered.get('end')}, {seconds:.1f} s"
            + (f", range has {gaps} gap(s)" if gaps else "")
        )
    lines.insert(3, f"{len(entries)} files, {total:.1f} s of footage:")
    return lines


def load_key_file(path: Path) -> Ed25519PublicKey:
    """The trusted public key; ``UsageError`` when it cannot be used."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UsageError(f"--key {path}: {error.strerror or error}") from None
    try:
        return load_public(data)
    except SigningKeyError as error:
        raise UsageError(f"--key {path}: {error}") from None


def run(package: Path, key_file: Path, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Verify and print the outcome; the exit status (0 intact, 1 problems, 2 usage)."""
    try:
        key = load_key_file(key_file)
        if not package.is_file():
            raise UsageError(f"{package}: no such file")
    except UsageError as error:
        print(f"casewatch verify: {error}", file=err)
        return EXIT_USAGE
    report = verify_package(package, key)
    if report.ok:
        for line in report.summary:
            print(line, file=out)
        print(f"verified: {package.name} is intact and signed by the given key", file=out)
        return EXIT_OK
    for line in report.problems:
        print(f"problem: {line}", file=out)
    print(f"NOT VERIFIED: {package.name}: {len(report.problems)} problem(s)", file=out)
    return EXIT_PROBLEMS
