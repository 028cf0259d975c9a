"""Cameras as stations really have them, recorded end to end: an H.265 main stream with G.711
A-law behind Digest authentication, and an H.264 stream with B-frames and G.711 μ-law behind
Basic. The room's audio is in the evidence, audible, and bit-exact to what the camera sent; the
H.265 files carry the ``hvc1`` tag players expect; the API tells the source and stored codecs;
an interrogation session's report shows the audio present."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from servers import Server, http, iso

pytestmark = [pytest.mark.media, pytest.mark.timeout(180)]

CASE = "A6103020000002026120011"
ROOM = "讯问室5"


@pytest.fixture(scope="module")
def server(station_sim: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    cameras = [
        {"id": "hik", "name": f"{ROOM} 全景", "area": "interrogation", "room": ROOM,
         "url": station_sim.rtsp_url("hik-main"), "substream_url": station_sim.rtsp_url("hik-sub")},
        {"id": "dahua", "name": f"{ROOM} 特写", "area": "interrogation", "room": ROOM,
         "url": station_sim.rtsp_url("dahua")},
    ]  # fmt: skip
    running = Server(
        tmp_path_factory.mktemp("station"),
        cameras,
        storage={"segment_seconds": 4},
        access={"four_eyes": False},  # one user exports here; four-eyes is tested elsewhere
    )
    running.start()
    yield running
    running.stop()


class CameraAudio:
    """What the camera itself sends: its G.711 bytes, read over a connection of our own."""

    def __init__(self, url: str) -> None:
        self.data = bytearray()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(url,), daemon=True)
        self._thread.start()

    def _read(self, url: str) -> None:
        with av.open(url, options={"rtsp_transport": "tcp"}, timeout=10) as container:
            audio = container.streams.audio[0]
            for packet in container.demux(audio):
                if self._stop.is_set():
                    return
                self.data += bytes(packet)

    def stop(self) -> bytes:
        self._stop.set()
        self._thread.join(timeout=10)
        return bytes(self.data)


def g711(samples: np.ndarray, codec: str) -> bytes:
    encoder: Any = av.CodecContext.create(codec, "w")
    encoder.sample_rate, encoder.layout, encoder.format = 8000, "mono", "s16"
    encoder.time_base = Fraction(1, 8000)
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate, frame.pts = 8000, 0
    return b"".join(bytes(p) for p in encoder.encode(frame))


def stored(path: Path) -> tuple[str, str, np.ndarray]:
    """(video codec tag, audio codec, decoded audio samples) of a segment file."""
    with av.open(str(path)) as container:
        tag = container.streams.video[0].codec_context.codec_tag
        stream = container.streams.audio[0]
        frames = [f.to_ndarray().ravel() for f in container.decode(stream)]
        return tag, stream.codec_context.name, np.concatenate(frames).astype(np.int16)


def segment_files(server: Server, camera: str) -> list[Path]:
    now = time.time()
    found = server.get("/api/v1/recordings", camera=camera, start=iso(now - 600), end=iso(now + 60))
    return [server.storage / row["path"] for row in found["segments"]]


@pytest.mark.parametrize(
    ("camera", "mount", "codec", "video"),
    [("hik", "hik-main", "pcm_alaw", "hevc"), ("dahua", "dahua", "pcm_mulaw", "h264")],
)
def test_g711_is_kept_without_loss_and_audible(
    server: Server, station_sim: Any, camera: str, mount: str, codec: str, video: str
) -> None:
    server.wait_recording(camera)
    listening = CameraAudio(station_sim.rtsp_url(mount))
    time.sleep(10)  # two whole segments while we listen too
    sent = listening.stop()
    described = server.camera(camera)
    assert described["video"]["codec"] == video
    assert described["audio"] == {"codec": codec, "stored_codec": "flac", "sample_rate": 8000}
    files = segment_files(server, camera)
    assert files, "no closed segment"
    tag, name, samples = stored(files[-1])
    assert name == "flac"
    assert tag == ("hvc1" if video == "hevc" else "avc1")
    level = 20 * np.log10(np.sqrt(np.mean(samples.astype(float) ** 2)) / 32768)
    assert level > -50, level
    back = g711(samples, codec)
    if codec == "pcm_mulaw":  # μ-law's two codes for zero come back as one
        back, sent = back.replace(b"\x7f", b"\xff"), sent.replace(b"\x7f", b"\xff")
    window = back[len(back) // 2 - 4000 : len(back) // 2 + 4000]  # 1 s from the middle
    assert len(window) == 8000 and window in sent, "the stored audio is not the camera's"


def test_an_interrogation_with_g711_audio_reports_audio_and_exports(
    server: Server, tmp_path: Path
) -> None:
    server.wait_recording("hik")
    created = http.post(f"{server.url}/api/v1/cases", json={"number": CASE, "title": "孙某案"})
    assert created.status_code == 201, created.text
    opened = http.post(f"{server.url}/api/v1/cases/{CASE}/sessions", json={"room": ROOM})
    assert opened.status_code == 201, opened.text
    time.sleep(6)
    session = opened.json()["id"]
    closed = http.post(f"{server.url}/api/v1/sessions/{session}/close", timeout=30)
    assert closed.status_code == 200, closed.text
    report = server.get(f"/api/v1/sessions/{session}/report")
    cameras = {entry["camera_id"]: entry for entry in report["cameras"]}
    assert set(cameras) == {"hik", "dahua"}
    for entry in cameras.values():
        assert entry["audio_present_percent"] > 90, entry
    # the export of the session verifies, its FLAC audio and H.265 video as recorded
    asked = http.post(f"{server.url}/api/v1/cases/{CASE}/exports", json={"sessions": [session]})
    assert asked.status_code == 202, asked.text
    export = asked.json()["id"]
    deadline = time.monotonic() + 60
    while (state := server.get(f"/api/v1/exports/{export}"))["status"] != "done":
        assert state["status"] in ("queued", "running") and time.monotonic() < deadline, state
        time.sleep(0.5)
    package = tmp_path / "export.zip"
    package.write_bytes(http.get(f"{server.url}/api/v1/exports/{export}/download").content)
    key = tmp_path / "key.pub"
    key.write_text(http.get(f"{server.url}/api/v1/exports/public-key").text)
    verified = subprocess.run(
        [sys.executable, "-m", "api.cli", "verify", str(package), "--key", str(key)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr
