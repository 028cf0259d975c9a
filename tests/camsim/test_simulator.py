"""Camera simulator against real clients: ffprobe and PyAV over RTSP/TCP, no mocks.

One simulator process (two small 320x180@25 mounts, 1 s GOP, 4 s loop) serves the module. PyAV
is imported here, in the test process only; the simulator runs GStreamer in its own process.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from camsim import MountSpec
from camsim.encode import ensure_loop
from camsim.h264 import is_keyframe
from camsim.harness import ControlError, SimulatorProcess
from camsim.spec import EncodeParams

pytestmark = pytest.mark.media

CAM = "cam1"
NOMIC = "site/cam2"  # a mount name with '/' and without audio
MOUNTS = [
    MountSpec(name=CAM, width=320, height=180, fps=25, gop=1.0, bitrate=500),
    MountSpec(name=NOMIC, width=320, height=180, fps=25, gop=1.0, bitrate=500, audio=False),
]
LOOP_SECONDS = 4.0


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    cache = tmp_path_factory.mktemp("sim-cache")
    with SimulatorProcess(MOUNTS, loop_seconds=LOOP_SECONDS, cache_dir=cache) as process:
        yield process


def ffprobe(url: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-show_streams", "-of", "json", url],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def open_rtsp(url: str) -> Any:
    return av.open(url, options={"rtsp_transport": "tcp"}, timeout=(10.0, 5.0))


def gray(frame: Any) -> np.ndarray:
    plane: np.ndarray = frame.to_ndarray(format="gray").astype(np.int16)
    return plane


def read_video(container: Any, seconds: float, pts: list[int] | None = None) -> list[np.ndarray]:
    """Decode video for `seconds` of wall time; returns the luma planes, appends packet pts."""
    frames = []
    end = time.monotonic() + seconds
    for packet in container.demux(container.streams.video[0]):
        if pts is not None and packet.pts is not None:
            pts.append(packet.pts)
        for frame in packet.decode():
            frames.append(gray(frame))
        if time.monotonic() > end:
            break
    return frames


def mean_abs_diffs(frames: list[np.ndarray]) -> list[float]:
    return [float(np.abs(a - b).mean()) for a, b in itertools.pairwise(frames)]


def read_audio_rms(container: Any, seconds: float) -> list[float]:
    """Decode audio for `seconds` of wall time; returns the RMS of each frame."""
    levels = []
    end = time.monotonic() + seconds
    for packet in container.demux(container.streams.audio[0]):
        for frame in packet.decode():
            samples = frame.to_ndarray().astype(np.float64)
            levels.append(float(np.sqrt(np.mean(samples**2))))
        if time.monotonic() > end:
            break
    return levels


def test_health_lists_mounts(sim: SimulatorProcess) -> None:
    assert sim.health() == {"ready": True, "mounts": [CAM, NOMIC]}
    status = sim.mount_status(NOMIC)
    assert status["served"] is True
    assert status["has_audio"] is False


def test_ffprobe_sees_h264_and_aac(sim: SimulatorProcess) -> None:
    result = ffprobe(sim.rtsp_url(CAM))
    assert result.returncode == 0, result.stderr
    streams = {s["codec_type"]: s for s in json.loads(result.stdout)["streams"]}
    assert streams["video"]["codec_name"] == "h264"
    assert (streams["video"]["width"], streams["video"]["height"]) == (320, 180)
    assert streams["audio"]["codec_name"] == "aac"
    assert int(streams["audio"]["sample_rate"]) == 48000
    assert streams["audio"]["channels"] == 1


def test_mount_without_audio_has_no_audio_track(sim: SimulatorProcess) -> None:
    result = ffprobe(sim.rtsp_url(NOMIC))
    assert result.returncode == 0, result.stderr
    kinds = [s["codec_type"] for s in json.loads(result.stdout)["streams"]]
    assert kinds == ["video"]


def test_loop_point_keeps_pts_monotonic_and_paced(sim: SimulatorProcess) -> None:
    container = open_rtsp(sim.rtsp_url(CAM))
    joiner: subprocess.Popen[bytes] | None = None
    try:
        video = container.streams.video[0]
        assert video.codec_context.has_b_frames == 0
        last: dict[str, float] = {}
        backwards = []
        keyframes = []
        samples: list[tuple[float, float]] = []  # (wall, video pts) once the backlog is read
        start = time.monotonic()
        for packet in container.demux():
            if packet.pts is None:
                continue
            kind = packet.stream.type
            pts = float(packet.pts * packet.time_base)
            if kind in last and pts <= last[kind]:
                backwards.append((kind, last[kind], pts))
            last[kind] = pts
            now = time.monotonic()
            if kind == "video":
                if packet.is_keyframe:
                    keyframes.append(pts)
                if now - start > 2.0:
                    samples.append((now, pts))
            if joiner is None and now - start > 5.0:
                # A second client joining the shared media (PLAY with a Range header) must
                # not seek it under the first one.
                joiner = subprocess.Popen(
                    ["ffprobe", "-v", "error", "-rtsp_transport", "tcp", sim.rtsp_url(CAM)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
            if now - start > 12.5:
                break
    finally:
        container.close()
    assert joiner is not None
    _, joiner_err = joiner.communicate(timeout=20)
    assert joiner.returncode == 0, joiner_err
    assert not backwards, backwards[:5]
    assert set(last) == {"video", "audio"}
    media = samples[-1][1] - samples[0][1]
    wall = samples[-1][0] - samples[0][0]
    assert media > 2 * LOOP_SECONDS  # crossed at least two loop points
    assert abs(media / wall - 1.0) < 0.10, (media, wall)
    gaps = np.diff(keyframes)
    assert np.allclose(gaps, 1.0, atol=0.05), gaps


def test_black_then_frozen_then_normal_video(sim: SimulatorProcess) -> None:
    container = open_rtsp(sim.rtsp_url(CAM))
    pts: list[int] = []
    try:
        read_video(container, 1.5, pts)  # also drains the backlog read while opening
        sim.set_video(CAM, "black")
        black = read_video(container, 2.5, pts)[-15:]
        sim.set_video(CAM, "frozen")
        frozen = read_video(container, 2.5, pts)[-15:]
        sim.set_video(CAM, "normal")
        normal = read_video(container, 2.5, pts)[-15:]
    finally:
        sim.set_video(CAM, "normal")
        container.close()
    assert max(float(f.mean()) for f in black) < 30
    frozen_diffs = mean_abs_diffs(frozen)
    assert max(frozen_diffs) < 0.5, frozen_diffs
    assert float(frozen[-1].mean()) > 30
    normal_diffs = mean_abs_diffs(normal)
    assert min(normal_diffs) > 0.5, normal_diffs
    # Switches happen at keyframes without sending any timestamp twice.
    assert all(b > a for a, b in itertools.pairwise(pts))


def test_silent_audio(sim: SimulatorProcess) -> None:
    container = open_rtsp(sim.rtsp_url(CAM))
    try:
        tone = read_audio_rms(container, 1.5)[-20:]
        sim.set_audio(CAM, "silent")
        silent = read_audio_rms(container, 1.5)[-20:]
    finally:
        sim.set_audio(CAM, "tone")
        container.close()
    assert min(tone) > 0.05, tone  # the 1 kHz sine is at 1/8 full scale: RMS ≈ 0.088
    assert max(silent) < 1e-3, silent


def test_stop_disconnects_clients_and_start_serves_again(sim: SimulatorProcess) -> None:
    container = open_rtsp(sim.rtsp_url(NOMIC))
    outcome = "timeout"
    try:
        read_video(container, 1.0)
        sim.stop_mount(NOMIC)
        stopped_at = time.monotonic()
        try:
            for _packet in container.demux():
                if time.monotonic() - stopped_at > 10:
                    break
            else:
                outcome = "end"
        except av.FFmpegError as exc:
            outcome = f"error {exc}"
        elapsed = time.monotonic() - stopped_at
    finally:
        container.close()
    assert outcome != "timeout"
    assert elapsed < 4.0, (outcome, elapsed)

    refused = ffprobe(sim.rtsp_url(NOMIC))
    assert refused.returncode != 0
    assert "404" in refused.stderr
    assert sim.mount_status(NOMIC)["served"] is False

    sim.start_mount(NOMIC)
    again = ffprobe(sim.rtsp_url(NOMIC))
    assert again.returncode == 0, again.stderr


def test_flap_comes_back(sim: SimulatorProcess) -> None:
    status = sim.flap(NOMIC, 1.5)
    assert status["served"] is False
    assert status["flapping"] is True
    assert "404" in ffprobe(sim.rtsp_url(NOMIC)).stderr
    deadline = time.monotonic() + 5
    while not sim.mount_status(NOMIC)["served"]:
        assert time.monotonic() < deadline, "mount did not come back"
        time.sleep(0.1)
    assert ffprobe(sim.rtsp_url(NOMIC)).returncode == 0


def test_a_stall_sends_nothing_while_the_session_stays_up(sim: SimulatorProcess) -> None:
    container = open_rtsp(sim.rtsp_url(NOMIC))
    try:
        arrivals: list[float] = []
        stalled_at = 0.0
        for packet in container.demux(video=0):
            if packet.size == 0:
                continue
            arrivals.append(time.monotonic())
            if len(arrivals) == 25:
                assert sim.stall(NOMIC, 2.0)["stalled"] is True
                stalled_at = time.monotonic()
            if stalled_at and time.monotonic() - stalled_at > 3.5:
                break
    finally:
        container.close()
    pauses = [b - a for a, b in itertools.pairwise(arrivals)]
    # one pause of about the stall, on the same connection, then the stream went on
    assert 1.5 <= max(pauses) <= 2.6, max(pauses)
    assert sum(1 for p in pauses if p > 0.5) == 1
    assert arrivals[-1] - stalled_at > 3.0
    assert sim.mount_status(NOMIC)["stalled"] is False


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/mounts/nope/stop", None, 404),
        ("POST", "/mounts/cam1/video", {"mode": "pink"}, 400),
        ("POST", "/mounts/cam1/video", {"mode": "black", "extra": 1}, 400),
        ("POST", "/mounts/cam1/flap", {"seconds": -1}, 400),
        ("POST", "/mounts/cam1/flap", [], 400),
        ("POST", "/mounts/cam1/explode", {}, 404),
        ("POST", "/mounts/site%2Fcam2/audio", {"mode": "silent"}, 409),
        ("GET", "/mounts/nope", None, 404),
        ("DELETE", "/mounts", None, 405),
        ("GET", "/elsewhere", None, 404),
    ],
)
def test_bad_control_requests_get_json_4xx(
    sim: SimulatorProcess, method: str, path: str, body: Any, status: int
) -> None:
    got, payload = sim.request(method, path, body)
    assert got == status
    assert isinstance(payload, dict)
    assert payload["error"]


def test_control_accepts_raw_slash_and_encoded_names(sim: SimulatorProcess) -> None:
    status, payload = sim.request("GET", "/mounts/site/cam2")
    assert status == 200
    assert payload["name"] == NOMIC
    with pytest.raises(ControlError) as excinfo:
        sim.set_audio(NOMIC, "silent")
    assert excinfo.value.status == 409


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("- name: cam1\n  fps: 0\n", "mounts[0].fps"),
        ("- name: cam1\n- name: cam2\n  colour: red\n", "mounts[1].colour"),
        ("- name: cam1\n  width: 321\n", "mounts[0].width"),
        ("- name: '../etc'\n", "mounts[0].name"),
        ("name: cam1\n", "list of mounts"),
    ],
)
def test_bad_config_exits_2_naming_the_field(tmp_path: Path, yaml_text: str, expected: str) -> None:
    config = tmp_path / "sim.yaml"
    config.write_text(yaml_text)
    result = subprocess.run(
        [sys.executable, "-m", "camsim", "--config", str(config), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_no_ident_mounts_share_one_file_and_sigterm_exits_0(tmp_path: Path) -> None:
    mounts = [MountSpec(name=f"cam{i}", width=160, height=90, gop=1.0) for i in (1, 2, 3)]
    process = SimulatorProcess(mounts, loop_seconds=1, ident=False, cache_dir=tmp_path)
    with process:
        assert process.health()["mounts"] == ["cam1", "cam2", "cam3"]
        assert len(list(tmp_path.glob("loop-*.ts"))) == 1
        pid = process.pid
        assert process.stop() == 0
    assert pid > 0


@pytest.mark.parametrize(
    ("data", "key"),
    [
        (b"\x00\x00\x00\x01\x09\xf0\x00\x00\x00\x01\x67\x4d\x00\x00\x01\x68\xee", True),
        (b"\x00\x00\x00\x01\x09\xf0\x00\x00\x01\x06\x05\x00\x00\x01\x65\x88", True),
        (b"\x00\x00\x00\x01\x09\xf0\x00\x00\x00\x01\x41\x9a\x00\x00\x01\x67", False),
        (b"", False),
    ],
)
def test_is_keyframe(data: bytes, key: bool) -> None:
    assert is_keyframe(data) is key


def test_loop_is_whole_gops_and_ident_decides_sharing() -> None:
    a = MountSpec(name="a", fps=25, gop=2.0)
    b = MountSpec(name="b", fps=25, gop=2.0)
    pa = EncodeParams.for_mount(a, loop_seconds=9, ident=True)
    assert pa.loop_frames == 250  # 9 s rounded up to 5 GOPs of 50 frames
    assert pa.loop_ns == 10_000_000_000
    assert pa.cache_key() != EncodeParams.for_mount(b, loop_seconds=9, ident=True).cache_key()
    shared = {EncodeParams.for_mount(m, loop_seconds=9, ident=False).cache_key() for m in (a, b)}
    assert len(shared) == 1


def test_concurrent_encodes_of_one_loop_produce_one_complete_file(tmp_path: Path) -> None:
    params = EncodeParams.for_mount(
        MountSpec(name="c", width=160, height=90, gop=1.0), loop_seconds=1, ident=True
    )
    with ThreadPoolExecutor(3) as pool:
        paths = set(pool.map(lambda _: ensure_loop(params, tmp_path), range(3)))
    assert len(paths) == 1
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".lock", ".ts"]
    loop_file = str(paths.pop())
    probe = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "stream=id,codec_name",
            "-of",
            "json",
            loop_file,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    ids = {s["id"]: s["codec_name"] for s in json.loads(probe.stdout)["streams"]}
    assert ids == {
        "0x100": "h264",
        "0x101": "h264",
        "0x102": "h264",
        "0x103": "h264",
        "0x110": "aac",
        "0x111": "aac",
    }
