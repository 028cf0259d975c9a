"""Export packages built straight from the catalog (no HTTP) and checked by ``casewatch verify``.

The media tests record real RTSP cameras with a real server, stop it, bind footage to a case in
its catalog, build packages with ``evidence.export.build_package`` and tamper with them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from servers import Server
from sqlalchemy.orm import Session, sessionmaker

from configs.loader import load_settings
from configs.schema import Settings
from evidence.export import ExportJob, build_package
from evidence.export_request import (
    ExportRequestError,
    RangeSpec,
    Selection,
    find_case,
    resolve,
)
from evidence.signing import load_or_create, public_pem
from ingest.clock import SystemClock
from recorder.db import make_engine, migrate, session_factory
from recorder.models import Camera, Case, CaseTag, RecordingRun, Segment, TagCamera

CASE = "A6103020000002026110007"
S = 1_000_000
ROOT = Path(__file__).resolve().parents[2]


# -- helpers -------------------------------------------------------------------------------------


def add_case(sessions: sessionmaker[Session], number: str = CASE) -> None:
    with sessions.begin() as session:
        session.add(
            Case(number=number, type="criminal", title="张某盗窃案", created_us=0, updated_us=0)
        )


def add_tag(
    sessions: sessionmaker[Session],
    cameras: list[str],
    start_us: int,
    end_us: int | None,
    *,
    live: bool = False,
    number: str = CASE,
) -> int:
    with sessions.begin() as session:
        tag = CaseTag(
            case_number=number,
            kind="interrogation",
            session=live,
            status="open" if end_us is None else "closed",
            start_us=start_us,
            end_us=end_us,
            created_us=start_us,
        )
        session.add(tag)
        session.flush()
        for camera in cameras:
            session.add(TagCamera(tag_id=tag.id, camera_id=camera))
        return int(tag.id)


def verify(package: Path, key: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "verify", str(package), "--key", str(key)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def rewrite(
    source: Path,
    target: Path,
    *,
    change: dict[str, Callable[[bytes], bytes]] | None = None,
    drop: tuple[str, ...] = (),
    add: dict[str, bytes] | None = None,
) -> Path:
    """A copy of the package written anew (so every ZIP CRC is consistent with the change)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            if info.filename in drop:
                continue
            data = old.read(info.filename)
            if change and info.filename in change:
                data = change[info.filename](data)
            new.writestr(info, data)
        for name, data in (add or {}).items():
            new.writestr(name, data)
    return target


def flip_middle_byte(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :]


def ffprobe(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "format=duration:stream=codec_type,codec_name",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(json.loads(out))


# -- the recorded footage (one server run for the module) ----------------------------------------


@dataclass
class Recorded:
    server: Server
    settings: Settings
    sessions: sessionmaker[Session]
    started: float  # both cameras recording from here (wall seconds)
    outage: tuple[float, float]  # camera "flap6" was down in between
    stopped: float


@pytest.fixture(scope="module")
def recorded(sim: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    """Camera ``cam5`` recorded ~16 s without a break; ``flap6`` with a ~4 s outage."""
    workdir = tmp_path_factory.mktemp("export")
    server = Server(
        workdir,
        [
            {"id": "cam5", "name": "讯问室5", "area": "interrogation", "url": sim.rtsp_url("m5")},
            {"id": "flap6", "name": "讯问室6", "area": "interrogation", "url": sim.rtsp_url("m6")},
        ],
        storage={"segment_seconds": 3},
    ).start()
    stopped_mount = False
    try:
        server.wait_recording("cam5")
        started = max(server.wait_recording("flap6"), time.time())
        time.sleep(5)
        down = time.time()
        sim.stop_mount("m6")
        stopped_mount = True
        time.sleep(4)
        up = time.time()
        sim.start_mount("m6")
        stopped_mount = False
        server.wait_recording("flap6")
        time.sleep(6)
    finally:
        stopped = time.time()
        server.stop()
        if stopped_mount:
            sim.start_mount("m6")
    settings = load_settings(server.config, base=workdir)
    engine = make_engine(settings.database.url)
    migrate(engine)
    sessions = session_factory(engine)
    add_case(sessions)
    yield Recorded(server, settings, sessions, started, (down, up), stopped)
    engine.dispose()


def build(
    recorded: Recorded, selection: Selection, export_dir: Path, export_id: str = "e1"
) -> tuple[Path, dict[str, Any], float]:
    """Resolve and build; the package, its manifest and the wall time of the build."""
    settings = recorded.settings.model_copy(
        update={"export": recorded.settings.export.model_copy(update={"path": export_dir})}
    )
    export_dir.mkdir(parents=True, exist_ok=True)
    clock = SystemClock()
    with recorded.sessions() as session:
        case = find_case(session, CASE, settings.cases.number_patterns)
        items = resolve(session, case=case, selection=selection, now_us=clock.wall_us())
    key = load_or_create(settings.export.signing_key)
    progress: list[float] = []
    began = time.monotonic()
    built = build_package(
        ExportJob(export_id, CASE, items, "李警官", clock.wall_us()),
        settings=settings,
        sessions=recorded.sessions,
        key=key,
        clock=clock,
        progress=progress.append,
    )
    elapsed = time.monotonic() - began
    assert progress and progress == sorted(progress) and 0.0 <= progress[-1] < 1.0
    assert built.path.name == f"case-{CASE}-{export_id}.zip"
    assert built.sha256 == hashlib.sha256(built.path.read_bytes()).hexdigest()
    return built.path, built.manifest, elapsed


# -- media tests ---------------------------------------------------------------------------------


@pytest.mark.media
def test_six_second_export_plays_and_verifies_and_tampering_is_caught(
    recorded: Recorded, tmp_path: Path
) -> None:
    start_us = int((recorded.started + 3) * S)
    tag = add_tag(recorded.sessions, ["cam5"], start_us, start_us + 6 * S)
    package, manifest, elapsed = build(recorded, Selection(tags=[tag]), tmp_path / "exports")
    print(f"\n6 s export built in {elapsed:.3f} s (wall)")

    with zipfile.ZipFile(package) as archive:
        names = archive.namelist()
        assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())
        archive.extractall(tmp_path / "unzipped")
    (video,) = (name for name in names if name.startswith("video/"))
    assert sorted(names) == sorted(["manifest.json", "manifest.sig", "public-key.pem", video])
    probe = ffprobe(tmp_path / "unzipped" / video)
    assert {s["codec_type"]: s["codec_name"] for s in probe["streams"]} == {
        "video": "h264",
        "audio": "aac",
    }
    assert abs(float(probe["format"]["duration"]) - 6.0) <= 0.5

    assert manifest["format"] == "casewatch-export/1"
    assert manifest["case"] == {"number": CASE, "type": "criminal", "title": "张某盗窃案"}
    assert manifest["exported_by"] == "李警官"
    (entry,) = manifest["files"]
    assert entry["name"] == video and entry["camera"]["id"] == "cam5"
    assert entry["camera"]["site"] == {"id": "test", "name": "测试派出所"}
    assert entry["requested"]["seconds"] == entry["covered"]["seconds"] == 6.0
    assert entry["covered"]["start"] == entry["requested"]["start"]
    assert entry["gaps"] == []
    data = (tmp_path / "unzipped" / video).read_bytes()
    assert entry["size"] == len(data) and entry["sha256"] == hashlib.sha256(data).hexdigest()
    with recorded.sessions() as session:
        catalog = {s.path: s.sha256 for s in session.query(Segment).all()}
    assert len(entry["source_segments"]) >= 2
    for source in entry["source_segments"]:
        assert catalog[source["path"]] == source["sha256"]
    key_path = recorded.settings.export.signing_key
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    public = tmp_path / "server-key.pem"
    public.write_bytes(load_or_create(key_path).public_pem)
    assert (tmp_path / "unzipped" / "public-key.pem").read_bytes() == public.read_bytes()
    if shutil.which("openssl"):  # anyone can check the signature without casewatch
        unzipped = tmp_path / "unzipped"
        command = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(public), "-rawin"]
        command += ["-in", str(unzipped / "manifest.json")]
        command += ["-sigfile", str(unzipped / "manifest.sig")]
        checked = subprocess.run(
            command,
            capture_output=True,
            text=True,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr

    intact = verify(package, public)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert CASE in intact.stdout and video in intact.stdout and "6.0 s" in intact.stdout
    assert load_or_create(key_path).fingerprint in intact.stdout

    def fails(candidate: Path, *expected: str, key: Path = public) -> None:
        result = verify(candidate, key)
        assert result.returncode == 1, result.stdout + result.stderr
        for text in expected:
            assert text in result.stdout, result.stdout

    fails(rewrite(package, tmp_path / "flip.zip", change={video: flip_middle_byte}), video)
    edited = rewrite(
        package,
        tmp_path / "edited.zip",
        change={"manifest.json": lambda b: b.replace("张某盗窃案".encode(), "李某盗窃案".encode())},
    )
    fails(edited, "manifest.json", "signature")
    fails(rewrite(package, tmp_path / "added.zip", add={"video/extra.mp4": b"x"}), "video/extra")
    fails(rewrite(package, tmp_path / "removed.zip", drop=(video,)), video, "missing")
    other = tmp_path / "other.pem"
    other.write_bytes(public_pem(Ed25519PrivateKey.generate().public_key()))
    fails(package, "signature", key=other)
    # one byte changed in place, the ZIP's own CRC left stale
    raw = bytearray(package.read_bytes())
    raw[raw.find(data[1000:1032]) + 16] ^= 0x01
    (tmp_path / "inplace.zip").write_bytes(bytes(raw))
    fails(tmp_path / "inplace.zip", video)
    # a damaged signature
    fails(rewrite(package, tmp_path / "sig.zip", change={"manifest.sig": flip_middle_byte}), "sig")
    (tmp_path / "not.zip").write_bytes(b"not a zip")
    fails(tmp_path / "not.zip", "not.zip")


@pytest.mark.media
def test_range_with_an_outage_is_one_file_per_piece_with_the_cause(
    recorded: Recorded, tmp_path: Path
) -> None:
    start_us = int((recorded.started + 1) * S)
    end_us = int((recorded.stopped - 1) * S)
    tag = add_tag(recorded.sessions, ["cam5", "flap6"], start_us, end_us)
    package, manifest, _ = build(recorded, Selection(tags=[tag]), tmp_path / "exports")
    ranges = {r["camera"]["id"]: r for r in manifest["ranges"]}
    assert len(ranges["cam5"]["files"]) == 1 and ranges["cam5"]["gaps"] == []
    flap = ranges["flap6"]
    assert len(flap["files"]) == 2, (flap["files"], flap["gaps"])
    (gap,) = flap["gaps"]
    assert gap["cause"] == "camera_offline"
    down, up = recorded.outage
    assert abs(gap["seconds"] - (up - down)) < 3.0
    pieces = [f for f in manifest["files"] if f["camera"]["id"] == "flap6"]
    assert (
        pieces[0]["covered"]["end"] <= gap["start"]
        and pieces[1]["covered"]["start"] >= (gap["end"])
    )
    covered = sum(p["covered"]["seconds"] for p in pieces)
    assert abs(covered + gap["seconds"] - flap["requested"]["seconds"]) < 0.05
    with zipfile.ZipFile(package) as archive:
        for piece in pieces:
            archive.extract(piece["name"], tmp_path)
            duration = float(ffprobe(tmp_path / piece["name"])["format"]["duration"])
            assert abs(duration - piece["covered"]["seconds"]) <= 0.5
    public = tmp_path / "key.pem"
    public.write_bytes(load_or_create(recorded.settings.export.signing_key).public_pem)
    result = verify(package, public)
    assert result.returncode == 0, result.stdout
    assert "gap" in result.stdout


@pytest.mark.media
def test_altered_source_segment_fails_the_build_and_leaves_nothing(
    recorded: Recorded, tmp_path: Path
) -> None:
    start_us = int((recorded.started + 2) * S)
    add_tag(recorded.sessions, ["cam5"], start_us, start_us + 2 * S)
    with recorded.sessions() as session:
        segment = (
            session.query(Segment)
            .filter(Segment.camera_id == "cam5", Segment.end_us > start_us)
            .order_by(Segment.start_us)
            .first()
        )
        assert segment is not None
    path = recorded.settings.storage.path / segment.path
    original = path.read_bytes()
    try:
        path.write_bytes(flip_middle_byte(original))
        from evidence.export_errors import ExportFailed

        with pytest.raises(ExportFailed, match="does not match its catalog SHA-256"):
            build(recorded, Selection(cameras=["cam5"]), tmp_path / "exports", export_id="bad")
    finally:
        path.write_bytes(original)
    left = [p for p in (tmp_path / "exports").rglob("*") if p.is_file()]
    assert left == []


# -- request resolution and keys (no media) ------------------------------------------------------


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'catalog.db'}")
    migrate(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        for camera in ("a", "b", "c"):
            session.add(
                Camera(id=camera, site_id="s", name=camera, area="other", room="r", first_seen_us=0)
            )
        session.add(RecordingRun(id="r", camera_id="a", started_us=0, end_detail=""))
        session.add(
            Segment(
                camera_id="a",
                run_id="r",
                path="a/x.mp4",
                start_us=100 * S,
                end_us=200 * S,
                size_bytes=1,
                sha256="0" * 64,
                video_codec="h264",
                width=1,
                height=1,
                has_audio=False,
                video_packets=1,
                audio_packets=0,
            )
        )
    add_case(sessions)
    yield sessions
    engine.dispose()


def test_requests_resolve_to_camera_ranges(catalog: sessionmaker[Session]) -> None:
    closed = add_tag(catalog, ["a", "b"], 120 * S, 150 * S)
    open_session = add_tag(catalog, ["a"], 180 * S, None, live=True)
    now = 300 * S

    def run(selection: Selection) -> list[tuple[str, int, int, int]]:
        with catalog() as session:
            case = find_case(session, CASE, Settings().cases.number_patterns)
            items = resolve(session, case=case, selection=selection, now_us=now)
        return [(i.camera_id, i.start_us // S, i.end_us // S, len(i.sources)) for i in items]

    whole = [("a", 120, 150, 1), ("b", 120, 150, 1), ("a", 180, 300, 1)]
    assert run(Selection()) == whole  # an open session ends now
    assert run(Selection(cameras=["a"])) == [("a", 120, 150, 1), ("a", 180, 300, 1)]
    assert run(Selection(sessions=[open_session])) == [("a", 180, 300, 1)]
    assert run(Selection(tags=[closed], ranges=[RangeSpec("a", 120 * S, 150 * S)])) == [
        ("a", 120, 150, 2),  # the same range from a tag and a range: one file, both sources
        ("b", 120, 150, 1),
    ]
    assert run(Selection(ranges=[RangeSpec("a", 190 * S, 400 * S)])) == [("a", 190, 300, 1)]


@pytest.mark.parametrize(
    ("number", "selection", "kind", "field", "text"),
    [
        ("A123", Selection(), "invalid", "number", "not a case number"),
        ("A6103020000002026130007", Selection(), "invalid", "number", "month"),
        ("B6103020000002026110001", Selection(), "not_found", "number", "no case"),
        (CASE, Selection(tags=[999]), "not_found", "tags", "no tag 999"),
        (CASE, Selection(sessions=[1]), "not_found", "sessions", "not an interrogation session"),
        (CASE, Selection(cameras=["zz"]), "not_found", "cameras", "unknown camera"),
        (CASE, Selection(cameras=["c"]), "not_found", "cameras", "none of the selected tags"),
        (
            CASE,
            Selection(ranges=[RangeSpec("zz", 110 * S, 120 * S)]),
            "not_found",
            "ranges[0].camera",
            "unknown camera",
        ),
        (
            CASE,
            Selection(ranges=[RangeSpec("a", 120 * S, 110 * S)]),
            "invalid",
            "ranges[0].end",
            "after start",
        ),
        (
            CASE,
            Selection(ranges=[RangeSpec("a", 110 * S, 120 * S), RangeSpec("a", 10 * S, 20 * S)]),
            "no_footage",
            "ranges[1]",
            "no footage in ranges[1]",
        ),
        (CASE, Selection(tags=[2]), "no_footage", "tags", "no footage in case"),
    ],
)
def test_bad_requests_name_the_field(
    catalog: sessionmaker[Session],
    number: str,
    selection: Selection,
    kind: str,
    field: str,
    text: str,
) -> None:
    add_tag(catalog, ["a"], 120 * S, 150 * S)  # tag 1
    add_tag(catalog, ["b"], 120 * S, 150 * S)  # tag 2: camera b recorded nothing
    with catalog() as session, pytest.raises(ExportRequestError) as caught:
        case = find_case(session, number, Settings().cases.number_patterns)
        resolve(session, case=case, selection=selection, now_us=300 * S)
    assert (caught.value.kind, caught.value.field) == (kind, field)
    assert text in caught.value.message


def test_signing_key_is_created_private_once_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "sub" / "signing.pem"
    keys: list[str] = []
    threads = [
        threading.Thread(target=lambda: keys.append(load_or_create(path).fingerprint))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(keys)) == 1 and keys[0].startswith("sha256:")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["signing.pem"]
    again = load_or_create(path)
    assert again.fingerprint == keys[0] and again.key_id == keys[0][7:23]
    assert os.access(path, os.R_OK)
