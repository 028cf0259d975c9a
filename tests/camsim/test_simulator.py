"""Camera simulator against real clients: ffprobe and PyAV over RTSP/TCP, no mocks.

One simulator process (two small 320x180@25 mounts, 1 s GOP, 4 s loop) serves the module; a
second one (`cams`) serves mounts that look like station cameras: H.265 + G.711 A-law, H.264
with B-frames + G.711 μ-law, and Digest / Basic authenticated mounts next to an open one. PyAV
is imported here, in the test process only; the simulator runs GStreamer in its own process.
"""

from __future__ import annotations

import argparse
import itertools
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import av
import numpy as np
import pytest
from pydantic import ValidationError

from camsim import MountSpec, h265
from camsim.cli import add_arguments, mounts_from_args
from camsim.encode import ensure_loop
from camsim.h264 import is_keyframe
from camsim.harness import ControlError, SimulatorProcess
from camsim.spec import AudioCodec, EncodeParams

pytestmark = pytest.mark.media

CAM = "cam1"
NOMIC = "site/cam2"  # a mount name with '/' and without audio
MOUNTS = [
    MountSpec(name=CAM, width=320, height=180, fps=25, gop=1.0, bitrate=500),
    MountSpec(name=NOMIC, width=320, height=180, fps=25, gop=1.0, bitrate=500, audio=False),
]
LOOP_SECONDS = 4.0


HIK = "hik/h265"  # H.265 + G.711 A-law, as a Hikvision camera sends by default
DAHUA = "dahua/pcmu"  # H.264 with B-frames + G.711 μ-law
DIGEST = "auth/digest"
BASIC = "auth/basic"
OPEN = "auth/open"
DIGEST_USER, DIGEST_PASSWORD = "admin", "Hik12345"
BASIC_USER, BASIC_PASSWORD = "viewer", "p@ss:w/rd"  # needs percent-encoding in a URL
CAMERA = {"width": 320, "height": 240, "fps": 25, "gop": 1.0, "bitrate": 300}
SMALL = {"width": 160, "height": 90, "fps": 25, "gop": 1.0, "bitrate": 200, "label": "auth"}
CAMERA_MOUNTS = [
    MountSpec(name=HIK, video_codec="h265", audio_codec="pcma", **CAMERA),
    MountSpec(name=DAHUA, bframes=2, audio_codec="pcmu", **CAMERA),
    MountSpec(name=DIGEST, auth="digest", user=DIGEST_USER, password=DIGEST_PASSWORD, **SMALL),
    MountSpec(name=BASIC, auth="basic", user=BASIC_USER, password=BASIC_PASSWORD, **SMALL),
    MountSpec(name=OPEN, **SMALL),
]
CAMERA_LOOP_SECONDS = 2.0  # short, so a test crosses loop points quickly


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    cache = tmp_path_factory.mktemp("sim-cache")
    with SimulatorProcess(MOUNTS, loop_seconds=LOOP_SECONDS, cache_dir=cache) as process:
        yield process


@pytest.fixture(scope="module")
def cams(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    cache = tmp_path_factory.mktemp("cams-cache")
    with SimulatorProcess(
        CAMERA_MOUNTS, loop_seconds=CAMERA_LOOP_SECONDS, cache_dir=cache
    ) as process:
        yield process


def probe_streams(url: str) -> dict[str, dict[str, Any]]:
    result = ffprobe(url)
    assert result.returncode == 0, result.stderr
    return {s["codec_type"]: s for s in json.loads(result.stdout)["streams"]}


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


def arrivals_around_a_stall(
    sim: SimulatorProcess, mount: str, kind: str, *, after: int, seconds: float, watch: float
) -> tuple[list[float], float]:
    """Arrival times of ``mount``'s ``kind`` packets over one connection, stalled for
    ``seconds`` after ``after`` packets and watched ``watch`` s past the stall; and when it
    stalled."""
    container = open_rtsp(sim.rtsp_url(mount))
    try:
        arrivals: list[float] = []
        stalled_at = 0.0
        for packet in container.demux(**{kind: 0}):
            if packet.size == 0:
                continue
            arrivals.append(time.monotonic())
            if len(arrivals) == after:
                assert sim.stall(mount, seconds)["stalled"] is True
                stalled_at = time.monotonic()
            if stalled_at and time.monotonic() - stalled_at > watch:
                break
    finally:
        container.close()
    return arrivals, stalled_at


def test_a_stall_sends_nothing_while_the_session_stays_up(sim: SimulatorProcess) -> None:
    arrivals, stalled_at = arrivals_around_a_stall(
        sim, NOMIC, "video", after=25, seconds=2.0, watch=3.5
    )
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
        ("- name: cam1\n  video_codec: h266\n", "mounts[0].video_codec"),
        ("- name: cam1\n  audio_codec: g729\n", "mounts[0].audio_codec"),
        ("- name: cam1\n  bframes: 5\n", "mounts[0].bframes"),
        ("- name: cam1\n  auth: digest\n  user: admin\n", "mounts[0].password"),
        ("- name: cam1\n  auth: basic\n  user: 'a:b'\n  password: x\n", "mounts[0].user"),
        (
            "- {name: a, auth: digest, user: admin, password: x}\n"
            "- {name: b, auth: digest, user: admin, password: y}\n",
            "'b'.password",
        ),
    ],
)
def test_bad_config_exits_2_naming_the_field(tmp_path: Path, yaml_text: str, expected: str) -> None:
    config = tmp_path / "sim.yaml"
    config.write_text(yaml_text)
    assert expected in refused("--config", str(config), "--port", "0")


def refused(*args: str) -> str:
    """What ``camsim`` says when it refuses ``args``: exit 2, a message, no traceback."""
    result = subprocess.run(
        [sys.executable, "-m", "camsim", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr


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


# -- station-camera mounts: H.265, B-frames, G.711, authentication ------------------------------


def test_ffprobe_sees_hevc_and_g711_alaw(cams: SimulatorProcess) -> None:
    streams = probe_streams(cams.rtsp_url(HIK))
    video, audio = streams["video"], streams["audio"]
    assert video["codec_name"] == "hevc"
    assert video["profile"] == "Main"
    assert (video["width"], video["height"]) == (320, 240)
    assert audio["codec_name"] == "pcm_alaw"
    assert int(audio["sample_rate"]) == 8000
    assert audio["channels"] == 1


def test_ffprobe_sees_h264_with_b_frames_and_g711_mulaw(cams: SimulatorProcess) -> None:
    streams = probe_streams(cams.rtsp_url(DAHUA))
    assert streams["video"]["codec_name"] == "h264"
    assert streams["video"]["has_b_frames"] >= 1
    assert streams["audio"]["codec_name"] == "pcm_mulaw"
    assert int(streams["audio"]["sample_rate"]) == 8000
    assert streams["audio"]["channels"] == 1


def test_b_frames_arrive_out_of_display_order(cams: SimulatorProcess) -> None:
    container = open_rtsp(cams.rtsp_url(DAHUA))
    pts: list[int] = []
    dts: list[int] = []
    try:
        for packet in container.demux(video=0):
            if packet.pts is None or packet.dts is None:
                continue
            pts.append(packet.pts)
            dts.append(packet.dts)
            if len(pts) >= 50:
                break
    finally:
        container.close()
    assert all(b > a for a, b in itertools.pairwise(dts))
    # Decode order differs from display order: a B-frame follows the P-frame it precedes.
    assert sum(1 for a, b in itertools.pairwise(pts) if b < a) >= 10


def test_h265_black_and_resized_switch_at_keyframes(cams: SimulatorProcess) -> None:
    container = open_rtsp(cams.rtsp_url(HIK))
    pts: list[int] = []
    try:
        read_video(container, 1.5, pts)
        cams.set_video(HIK, "black")
        black = read_video(container, 2.5, pts)[-10:]
        cams.set_video(HIK, "resized")  # new VPS/SPS/PPS in band
        resized = read_video(container, 2.5, pts)[-10:]
    finally:
        cams.set_video(HIK, "normal")
        container.close()
    assert max(float(f.mean()) for f in black) < 30
    assert {f.shape for f in black} == {(240, 320)}
    assert {f.shape for f in resized} == {(120, 160)}
    assert min(mean_abs_diffs(resized)) > 0.5
    assert all(b > a for a, b in itertools.pairwise(pts))


def read_g711(container: Any, seconds: float) -> tuple[list[Any], np.ndarray]:
    """Demux audio for `seconds` of wall time; returns the packets and the decoded samples."""
    packets = []
    samples = []
    end = time.monotonic() + seconds
    for packet in container.demux(container.streams.audio[0]):
        if packet.pts is None or packet.size == 0:
            continue
        packets.append(packet)
        samples.extend(frame.to_ndarray().ravel() for frame in packet.decode())
        if time.monotonic() > end:
            break
    return packets, np.concatenate(samples).astype(np.float64) / 32768


def dbfs(samples: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(samples**2)) + 1e-12))


def test_g711_packets_level_and_an_aperiodic_tone_then_silence(cams: SimulatorProcess) -> None:
    container = open_rtsp(cams.rtsp_url(HIK))
    try:
        # Longer than a loop, so a loop point is crossed.
        packets, tone = read_g711(container, CAMERA_LOOP_SECONDS + 1.5)
        cams.set_audio(HIK, "silent")
        _, silent = read_g711(container, 2.0)
    finally:
        cams.set_audio(HIK, "tone")
        container.close()
    # 20 ms packets of 160 samples, timestamps continuous across the loop point (ffmpeg's
    # RTCP mapping may round a timestamp by a sample).
    assert {p.size for p in packets} == {160}
    steps = np.diff([p.pts for p in packets])
    assert np.all(np.abs(steps - 160) <= 2), sorted(set(steps.tolist()))
    assert len(packets) * 0.020 > CAMERA_LOOP_SECONDS + 1.0
    assert -30 < dbfs(tone) < -15  # about −21 dBFS
    second = tone[8000:16000]
    for shift in (1, 8, 16, 80, 160, 400):
        # A plain 1 kHz sine at 8 kHz would repeat exactly every 8 samples.
        later = tone[8000 + shift : 16000 + shift]
        assert np.mean(second == later) < 0.2, shift
    assert dbfs(silent[-4000:]) < -60  # G.711 has no zero: silence decodes to ±8 (−72 dBFS)


def test_g711_mount_stalls_and_resumes(cams: SimulatorProcess) -> None:
    arrivals, stalled_at = arrivals_around_a_stall(
        cams, DAHUA, "audio", after=50, seconds=1.0, watch=2.0
    )
    pauses = [b - a for a, b in itertools.pairwise(arrivals)]
    assert 0.7 <= max(pauses) <= 1.6, max(pauses)
    assert arrivals[-1] - stalled_at > 1.5


def challenges(port: int, mount: str) -> list[str]:
    """The WWW-Authenticate headers of a DESCRIBE without credentials."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(
            f"DESCRIBE rtsp://127.0.0.1:{port}/{mount} RTSP/1.0\r\nCSeq: 1\r\n\r\n".encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(4096)
            if not chunk:
                break
            head += chunk
    lines = head.decode().split("\r\n")
    assert lines[0] == "RTSP/1.0 401 Unauthorized", lines[0]
    return [line.split(":", 1)[1].strip() for line in lines if line.startswith("WWW-Authenticate:")]


def assert_unauthorized(url: str) -> None:
    result = ffprobe(url)
    assert result.returncode != 0
    assert "401" in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("mount", "scheme", "other"),
    [
        (DIGEST, "Digest", (BASIC_USER, BASIC_PASSWORD)),
        (BASIC, "Basic", (DIGEST_USER, DIGEST_PASSWORD)),
    ],
)
def test_auth_mount_plays_only_with_its_credentials(
    cams: SimulatorProcess, mount: str, scheme: str, other: tuple[str, str]
) -> None:
    # Each mount challenges with its own method only, though the server has both.
    assert [c.split()[0] for c in challenges(cams.rtsp_port, mount)] == [scheme]
    assert probe_streams(cams.rtsp_url(mount))["video"]["codec_name"] == "h264"
    bare = cams.rtsp_url(mount, credentials=False)
    assert bare == f"rtsp://127.0.0.1:{cams.rtsp_port}/{mount}"
    assert_unauthorized(bare)
    with pytest.raises(av.error.HTTPUnauthorizedError):
        open_rtsp(bare)
    spec = next(m for m in CAMERA_MOUNTS if m.name == mount)
    assert_unauthorized(bare.replace("rtsp://", f"rtsp://{spec.user}:wrong@"))
    # Another mount's user, with its right password, is not this mount's user.
    user, password = other
    assert_unauthorized(bare.replace("rtsp://", f"rtsp://{user}:{quote(password, safe='')}@"))


def test_mounts_without_auth_stay_open_next_to_auth_ones(cams: SimulatorProcess) -> None:
    url = cams.rtsp_url(OPEN)
    assert "@" not in url
    assert probe_streams(url)["video"]["codec_name"] == "h264"
    # Credentials the open mount does not know do not lock it either.
    assert probe_streams(url.replace("rtsp://", "rtsp://someone:else@"))["video"]


def test_status_reports_codecs_and_auth_but_no_password(cams: SimulatorProcess) -> None:
    status = cams.mount_status(HIK)
    assert (status["video_codec"], status["audio_codec"], status["bframes"]) == ("h265", "pcma", 0)
    assert status["auth"] == "none"
    assert cams.mount_status(DAHUA)["bframes"] == 2
    digest = cams.mount_status(DIGEST)
    assert (digest["auth"], digest["user"]) == ("digest", DIGEST_USER)
    _, everything = cams.request("GET", "/mounts")
    text = json.dumps(everything)
    assert DIGEST_PASSWORD not in text
    assert BASIC_PASSWORD not in text


@pytest.mark.parametrize(
    ("data", "key"),
    [
        # AUD, VPS, SPS, PPS, IDR_W_RADL
        (
            b"\x00\x00\x00\x01\x46\x01\x50\x00\x00\x01\x40\x01\x00\x00\x01\x42\x01"
            b"\x00\x00\x01\x44\x01\x00\x00\x01\x26\x01",
            True,
        ),
        (b"\x00\x00\x00\x01\x46\x01\x50\x00\x00\x01\x28\x01\xaf", True),  # IDR_N_LP alone
        (b"\x00\x00\x01\x2a\x01\xaf", True),  # CRA
        (b"\x00\x00\x01\x4e\x01\x05\x00\x00\x01\x02\x01\xd0", False),  # SEI, TRAIL_R
        (b"\x00\x00\x01\x00\x01\xd0\x00\x00\x01\x40\x01", False),  # TRAIL_N, then a VPS
        (b"\x00\x00\x00\x01\x65\x88", False),  # an H.264 IDR header is H.265 type 50
        (b"", False),
    ],
)
def test_h265_is_keyframe(data: bytes, key: bool) -> None:
    assert h265.is_keyframe(data) is key


def test_h265_loop_has_b_frames_closed_gops_and_parameter_sets_per_keyframe(
    tmp_path: Path,
) -> None:
    spec = MountSpec(name="h", width=160, height=90, gop=1.0, video_codec="h265", bframes=2)
    path = ensure_loop(EncodeParams.for_mount(spec, loop_seconds=2, ident=False), tmp_path)
    with av.open(str(path)) as container:
        assert [s.codec_context.name for s in container.streams.video] == ["hevc"] * 4
        packets = [p for p in container.demux(video=0) if p.size]
    keyframes = [p for p in packets if p.is_keyframe]
    assert len(packets) == 50
    assert len(keyframes) == 2
    for packet in keyframes:
        types = h265.nal_types(bytes(packet))
        assert {h265.NAL_VPS, h265.NAL_SPS, h265.NAL_PPS} <= set(types), types
        assert {19, 20} & set(types), types  # IDR (closed GOP), not CRA (21)
        assert h265.is_keyframe(bytes(packet))
    assert not any(h265.is_keyframe(bytes(p)) for p in packets if not p.is_keyframe)
    assert any(p.pts != p.dts for p in packets)


def test_new_fields_keep_old_cache_keys_and_g711_mounts_share_a_loop() -> None:
    def key(**fields: Any) -> str:
        spec = MountSpec(name="cam1", **fields)
        return EncodeParams.for_mount(spec, loop_seconds=10, ident=False).cache_key()

    # The key of a default mount before these fields existed: cached loops stay valid.
    assert key() == "3b411f36ad21fbf8ca87"
    assert key(audio_codec="aac", auth="digest", user="u", password="p") == key()
    assert key(audio_codec="pcma") == key(audio_codec="pcmu") != key()
    assert key(audio_codec="pcma", audio=False) == key()
    assert len({key(), key(video_codec="h265"), key(bframes=2)}) == 3
    assert [c.payload_type for c in AudioCodec] == [97, 8, 0]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"auth": "digest", "user": "admin"}, "password"),
        ({"auth": "basic", "password": "x"}, "user"),
        ({"auth": "digest", "user": "ad:min", "password": "x"}, "user"),
        ({"auth": "digest", "user": "", "password": "x"}, "user"),
        ({"user": "admin", "password": "x"}, "user"),
        ({"auth": "ntlm"}, "auth"),
        ({"bframes": 5}, "bframes"),
        ({"video_codec": "mjpeg"}, "video_codec"),
    ],
)
def test_mount_spec_rejects_bad_camera_fields(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        MountSpec(name="cam1", **fields)
    assert field in {str(err["loc"][0]) for err in excinfo.value.errors()}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--video-codec", "h266"], "--video-codec"),
        (["--bframes", "9"], "cam1.bframes"),
        (["--auth", "digest", "--user", "admin"], "cam1.password"),
    ],
)
def test_bad_cli_camera_options_exit_2(args: list[str], expected: str) -> None:
    assert expected in refused("--port", "0", "--control-port", "0", *args)


def test_cli_credentials_go_only_to_mounts_with_auth(tmp_path: Path) -> None:
    config = tmp_path / "sim.yaml"
    config.write_text("- name: open\n  auth: none\n- name: hik\n  video_codec: h265\n")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        [
            *("--config", str(config), "--auth", "digest", "--user", "admin"),
            *("--password", "pw", "--audio-codec", "pcma", "--bframes", "1"),
        ]
    )
    mounts = {m.name: m for m in mounts_from_args(args)}
    assert (mounts["open"].auth, mounts["open"].user, mounts["open"].password) == (
        "none",
        None,
        None,
    )
    hik = mounts["hik"]
    assert (hik.auth, hik.user, hik.password) == ("digest", "admin", "pw")
    assert (hik.video_codec, hik.audio_codec, hik.bframes) == ("h265", "pcma", 1)
