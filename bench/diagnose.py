"""Patrol diagnostics benchmark: how well the picture checks see faults, and what they cost.

    .venv/bin/python bench/diagnose.py [--samples 40] [--cameras 100] [--json FILE]

Natural scenes, not test patterns: the photographs scikit-image ships (people, a room with a
motorcycle, a café table, a cat, a launch pad, …; ``pip install scikit-image`` — the bench asks
for it), each framed 16:9 and made into camera footage: sensor noise per frame (σ 1.5 by day,
σ 4 in a dim room at 35 % light), an H.264 encode at a camera's bitrate (2 Mbit/s 720p, 4 Mbit/s
1080p, 2 s GOP) through libx264, and its GOP decoded back — what the Hub holds.

(a) **Detection and false positives.** For every scene, light and resolution: the normal footage
    (which must pass every check) and the same footage with each fault — black (no signal),
    frozen (the encoder repeats one picture while time runs on; at constant quality, and at a
    constant bit rate with a quantiser floor of 16 and of 10 — cameras' encoders have one),
    blurred (out of focus), covered (something dark and close over 40–70 % of the view), dark
    (exposure down to 15 %), over-exposed, colour cast (a colour channel lost or a white balance
    gone), snow, turned (the camera panned by a fifth of the view and zoomed) — judged with and
    without the camera's reference picture (its normal view). Each fault's detection rate is the
    share of its samples in which its own check fails; the false-positive rate the share of
    normal samples in which any check fails. A still room (nothing moves, only sensor noise)
    must not read as frozen. A frozen camera and a still room have been so for two GOPs before
    the one judged, and each GOP is judged at the age a patrol meets it (any moment, but not
    before the frozen check can compare). Targets: detection ≥ 95 % per fault, false positives
    ≤ 1 %.
(b) **Time per frame** at 720p and 1080p: the picture checks of one picture (the decoded frame
    made a `Picture` — its planes as decoded — and ``runner.picture_measurements`` on it and the
    camera's reference) beside the decode of the same keyframe (the baseline, the same run); the
    JPEG snapshot a result carries is timed apart (it is the result's evidence, not a check).
    Target: the checks ≤ 10 % of the decode.
(c) **A patrol of ``--cameras`` cameras** (automatic checks only), on all cores this machine
    has: per camera a 2 s GOP of 720p video and its AAC from a real encode (decoded whole),
    decoded and judged on the checker's two threads, with each camera's coverage of 24 h from a
    catalog of 60 s segments (SQLite). Target: ≤ 30 s for 100 cameras on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import av
import cv2
import numpy as np

from configs.schema import CheckThresholds
from ingest.snapshot import jpeg
from patrol.frames import (
    CameraMedia,
    frozen_frame_indices,
    frozen_judging_age,
    luma_picture_of,
    picture_of,
)
from patrol.picture import Picture
from patrol.results import Check
from patrol.runner import CameraFacts, judge, picture_measurements

SCENES = [
    ("astronaut", "png"), ("camera", "png"), ("coffee", "png"), ("chelsea", "png"),
    ("motorcycle_left", "png"), ("motorcycle_right", "png"), ("rocket", "jpg"),
    ("page", "png"), ("coins", "png"),
]  # fmt: skip
"""Photographs of people, a room, a table, things (not the star field: a night sky is dark)."""
FAULTS = [
    "black", "frozen_vbr", "frozen_cbr", "frozen_cbr_floor10", "blurred", "covered", "dark",
    "overexposed", "colour_cast", "noisy", "turned",
]  # fmt: skip
CAUGHT_BY = {
    "black": {Check.BLACK}, "frozen_vbr": {Check.FROZEN}, "frozen_cbr": {Check.FROZEN},
    "frozen_cbr_floor10": {Check.FROZEN},
    "blurred": {Check.BLURRED}, "covered": {Check.COVERED},
    "dark": {Check.DARK, Check.BLACK},  # too dark to tell from no signal: unusable either way
    "overexposed": {Check.OVEREXPOSED}, "colour_cast": {Check.COLOUR_CAST},
    "noisy": {Check.NOISY}, "turned": {Check.SCENE_CHANGED},
}  # fmt: skip
"""The checks that catch each fault. A frozen picture is encoded as cameras do: at a constant
quality (VBR, "smart" codecs: a repeated picture soon costs nothing) or at a constant bit rate
(CBR: the encoder keeps refining a repeated, noisy picture with the bits it must spend)."""
SIZES = {"720p": (1280, 720, 2000), "1080p": (1920, 1080, 4000)}
LIGHTS = {"day": (1.0, 1.5), "dim": (0.35, 4.0)}
FPS = 25
GOP_FRAMES = 2 * FPS
CBR_QP_FLOOR = 16
"""Cameras' CBR encoders never go below this quantiser (camera SoC vendors' sample settings
put it at 10–22; 16 is common). x264's own floor, 0, lets it refine a repeated picture for ever
toward lossless — no camera's encoder does. ``frozen_cbr_floor10`` measures the lowest floor."""
LOWEST_QP_FLOOR = 10
WARM_GOPS = 2
"""A frozen camera and a still room have been so for a while: this many GOPs before the one
judged (an encoder refines a repeated picture over its first GOPs)."""


def scene_images() -> dict[str, np.ndarray]:
    try:
        import skimage
    except ImportError:
        sys.exit("bench/diagnose.py needs scikit-image's photographs: pip install scikit-image")
    folder = Path(skimage.__file__).parent / "data"
    images = {}
    for name, ext in SCENES:
        image = cv2.imread(str(folder / f"{name}.{ext}"), cv2.IMREAD_COLOR)
        if image is not None:
            images[name] = image
    return images


def frame16x9(image: np.ndarray, width: int, height: int, rng: random.Random) -> np.ndarray:
    """A 16:9 view of ``image`` (a random crop where it is taller), scaled to the size."""
    h, w = image.shape[:2]
    crop_h = min(h, int(w * 9 / 16))
    crop_w = min(w, int(crop_h * 16 / 9))
    top = rng.randint(0, h - crop_h)
    left = rng.randint(0, w - crop_w)
    view = image[top : top + crop_h, left : left + crop_w]
    return cv2.resize(view, (width, height), interpolation=cv2.INTER_CUBIC)


# -- faults, applied to the scene before the camera's noise and encoder ---------------------------


def fault(name: str, view: np.ndarray, rng: random.Random) -> np.ndarray:
    h, w = view.shape[:2]
    if name == "black":
        return np.zeros_like(view)
    if name == "blurred":
        return cv2.GaussianBlur(view, (0, 0), w / rng.uniform(80, 140))
    if name == "covered":
        share = rng.uniform(0.4, 0.7)
        out = view.copy()
        cover = np.full_like(out, rng.randint(20, 60))
        cover = cv2.GaussianBlur(cover + rng.randint(0, 8), (0, 0), 5)
        side = rng.choice(["left", "right", "top", "bottom"])
        if side in ("left", "right"):
            span = int(w * share)
            region = np.s_[:, :span] if side == "left" else np.s_[:, w - span :]
        else:
            span = int(h * share)
            region = np.s_[:span, :] if side == "top" else np.s_[h - span :, :]
        out[region] = cover[region]
        return out
    if name == "dark":
        return (view.astype(np.float32) * 0.15).astype(np.uint8)
    if name == "overexposed":
        gain = rng.uniform(2.5, 4.0)
        return np.clip(view.astype(np.float32) * gain + 60, 0, 255).astype(np.uint8)
    if name == "colour_cast":
        gains = rng.choice([(1.0, 1.0, 0.25), (0.3, 1.0, 1.0), (1.0, 0.4, 1.0), (0.45, 0.75, 1.3)])
        return np.clip(view.astype(np.float32) * np.array(gains), 0, 255).astype(np.uint8)
    if name == "turned":
        dx, dy = int(w * rng.choice([-0.2, 0.2])), int(h * rng.uniform(-0.1, 0.1))
        zoom = rng.uniform(1.1, 1.4)
        matrix = np.float32(
            [[zoom, 0, dx - (zoom - 1) * w / 2], [0, zoom, dy - (zoom - 1) * h / 2]]
        )
        return cv2.warpAffine(view, matrix, (w, h), borderMode=cv2.BORDER_REFLECT)
    return view


# -- the camera: sensor noise, H.264, its GOP back ---------------------------------------------


@dataclass
class Encoded:
    latest: Picture
    latest_bgr: np.ndarray
    gop: list[Picture]
    decode_ms: float
    keyframe: Any = None
    """The judged GOP's keyframe as decoded (an ``av.VideoFrame``)."""


def camera_footage(
    views: Callable[[int], np.ndarray], *, width: int, height: int, kbps: int, noise: float,
    frozen: bool, gain: float, snow: bool, rng: np.random.Generator, vbr: bool = False,
    qp_floor: int = CBR_QP_FLOOR, warm_gops: int = 0, age: float | None = None,
) -> Encoded:  # fmt: skip
    """Encode the camera's picture as it does — ``warm_gops`` GOPs of the encoder running
    before the one judged (a camera frozen for a while, a room still for a while) — and decode
    the judged GOP back as the Hub holds it ``age`` seconds after its keyframe (default: its
    last frame): the keyframe (judged) and the two frames `frozen_frame_indices` picks."""
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.time_base = Fraction(1, FPS)
    options = {"preset": "veryfast", "tune": "zerolatency", "g": str(GOP_FRAMES),
               "keyint_min": str(GOP_FRAMES), "sc_threshold": "0"}  # fmt: skip
    if vbr:
        options["crf"] = "23"
    else:
        codec.bit_rate = kbps * 1000
        options["x264-params"] = f"qpmin={qp_floor}"
    codec.options = options
    packets = []
    still: np.ndarray | None = None
    for index in range((warm_gops + 1) * GOP_FRAMES):
        if frozen and still is not None:
            picture = still
        else:
            scene = views(index).astype(np.float32) * gain
            scene += rng.normal(0, 25.0 if snow else noise, scene.shape).astype(np.float32)
            picture = np.clip(scene, 0, 255).astype(np.uint8)
            still = picture
        frame = av.VideoFrame.from_ndarray(picture, format="bgr24").reformat(format="yuv420p")
        frame.pts = index
        packets += list(codec.encode(frame))
    packets += list(codec.encode(None))
    held = round((age if age is not None else GOP_FRAMES / FPS) * FPS)
    judged = packets[warm_gops * GOP_FRAMES :][: max(1, held)]  # the Hub's GOP at that age
    decoder = av.CodecContext.create("h264", "r")
    decoder.extradata = codec.extradata
    started = time.perf_counter()
    frames = list(decoder.decode(judged[0])) + list(decoder.decode(None))
    decode_ms = (time.perf_counter() - started) * 1000
    keyframe = frames[0]
    decoder = av.CodecContext.create("h264", "r")
    decoder.extradata = codec.extradata
    decoded = [f for p in judged for f in decoder.decode(p)] + list(decoder.decode(None))
    span = CheckThresholds().frozen_min_span_seconds
    wanted = frozen_frame_indices([i * 1_000_000 // FPS for i in range(len(decoded))], span)
    gop = [luma_picture_of(decoded[i], pts_seconds=i / FPS) for i in wanted]
    return Encoded(
        picture_of(keyframe), keyframe.to_ndarray(format="bgr24"), gop, decode_ms, keyframe
    )


@dataclass
class Room:
    """A camera's view of a room, with someone walking through it or not."""

    view: np.ndarray
    moving: bool
    kbps: int
    noise: float
    gain: float
    rng: np.random.Generator

    def scene(self, index: int) -> np.ndarray:
        if not self.moving:
            return self.view
        height, width = self.view.shape[:2]
        shifted = self.view.copy()
        x = (index * 7) % (width // 2)
        cv2.rectangle(shifted, (x, height // 3), (x + width // 12, height - 20), (70, 60, 55), -1)
        return shifted

    def shoot(
        self,
        transform: Callable[[np.ndarray], np.ndarray],
        *,
        frozen: bool,
        snow: bool,
        vbr: bool = False,
        qp_floor: int = CBR_QP_FLOOR,
        age: float | None = None,
    ) -> Encoded:
        """The room's footage through ``transform``; frozen footage, and that of a still room,
        after `WARM_GOPS` GOPs, looked at ``age`` seconds into the judged GOP."""
        height, width = self.view.shape[:2]
        warm = WARM_GOPS if frozen or not self.moving else 0
        return camera_footage(
            lambda i: transform(self.scene(i)), width=width, height=height, kbps=self.kbps,
            noise=self.noise, frozen=frozen, gain=self.gain, snow=snow, rng=self.rng, vbr=vbr,
            qp_floor=qp_floor, warm_gops=warm, age=age,
        )  # fmt: skip


def checker_age(rng: random.Random) -> float:
    """How old the GOP is when the checker judges it: a patrol comes at any moment, and waits
    while the GOP is younger than the frozen check wants it."""
    gop_seconds = GOP_FRAMES / FPS
    earliest = frozen_judging_age(gop_seconds, CheckThresholds().frozen_min_span_seconds)
    return max(earliest, rng.uniform(0.0, gop_seconds))


def facts(encoded: Encoded) -> CameraFacts:
    media = CameraMedia(encoded.latest, encoded.latest_bgr, True, -25.0, encoded.gop)
    return CameraFacts("bench", "live", "", True, 0, 0, None, media)


PICTURE_CHECKS = [c for c in Check if c.on_picture]


# -- (a) detection ------------------------------------------------------------------------------


def detection(
    images: dict[str, np.ndarray], samples: int, seed: int, first: int = 0
) -> dict[str, Any]:
    rng = random.Random(seed)
    noise_rng = np.random.default_rng(seed)
    thresholds = CheckThresholds()
    counts: dict[str, dict[str, list[int]]] = {
        kind: {"reference": [0, 0], "no_reference": [0, 0]} for kind in FAULTS
    }
    false_positive = {"reference": [0, 0], "no_reference": [0, 0]}
    false_checks: dict[str, int] = {}
    still_frozen = [0, 0]
    names = list(images)
    for sample in range(first, first + samples):
        name = names[sample % len(names)]
        size = "720p" if sample % 4 else "1080p"
        light = "dim" if sample % 3 == 2 else "day"
        width, height, kbps = SIZES[size]
        gain, noise = LIGHTS[light]
        view = frame16x9(images[name], width, height, rng)
        moving = sample % 2 == 0  # half the rooms have someone moving, half are still

        room = Room(view, moving, kbps, noise, gain, noise_rng)

        def footage(
            transform: Callable[[np.ndarray], np.ndarray], *, frozen: bool = False,
            snow: bool = False, room: Room = room, vbr: bool = False,
            qp_floor: int = CBR_QP_FLOOR,
        ) -> Encoded:  # fmt: skip
            return room.shoot(
                transform, frozen=frozen, snow=snow, vbr=vbr, qp_floor=qp_floor,
                age=checker_age(rng),
            )  # fmt: skip

        normal = footage(lambda v: v)
        reference = footage(lambda v: v, frozen=False).latest
        for mode, ref in (("reference", reference), ("no_reference", None)):
            results = judge(facts(normal), thresholds, reference=ref, checks=PICTURE_CHECKS)
            failed = [r.check.value for r in results if r.ok is False]
            false_positive[mode][0] += bool(failed)
            false_positive[mode][1] += 1
            for check in failed:
                false_checks[f"{check} ({name}, {light}, {mode})"] = false_checks.get(check, 0) + 1
            if not moving:
                still_frozen[0] += any(r.check is Check.FROZEN and r.ok is False for r in results)
                still_frozen[1] += 1
        if not moving:  # a still room through a constant-quality encoder (little noise kept)
            quiet = footage(lambda v: v, vbr=True)
            results = judge(facts(quiet), thresholds, reference=reference, checks=PICTURE_CHECKS)
            still_frozen[0] += any(r.check is Check.FROZEN and r.ok is False for r in results)
            still_frozen[1] += 1
        for kind in FAULTS:
            fault_rng = random.Random(rng.random())
            if kind == "overexposed":  # the camera's exposure, whatever the room's light
                room_kind = Room(view, moving, kbps, noise, 1.0, noise_rng)
            else:
                room_kind = room
            faulty = footage(
                lambda v, k=kind, r=fault_rng: fault(k, v, r),
                frozen=kind.startswith("frozen"), snow=kind == "noisy", room=room_kind,
                vbr=kind == "frozen_vbr",
                qp_floor=LOWEST_QP_FLOOR if kind == "frozen_cbr_floor10" else CBR_QP_FLOOR,
            )  # fmt: skip
            for mode, ref in (("reference", reference), ("no_reference", None)):
                if kind == "turned" and ref is None:
                    continue  # a turned camera is only known against its old view
                results = judge(facts(faulty), thresholds, reference=ref, checks=PICTURE_CHECKS)
                caught = any(r.check in CAUGHT_BY[kind] and r.ok is False for r in results)
                counts[kind][mode][0] += caught
                counts[kind][mode][1] += 1
        print(f"  sample {sample + 1}/{first + samples}: {name} {size} {light}", file=sys.stderr)
    rate = lambda pair: round(100.0 * pair[0] / pair[1], 1) if pair[1] else None  # noqa: E731
    return {
        "detection_percent": {
            kind: {mode: rate(pair) for mode, pair in modes.items() if pair[1]}
            for kind, modes in counts.items()
        },
        "false_positive_percent": {mode: rate(pair) for mode, pair in false_positive.items()},
        "false_positive_checks": false_checks,
        "still_room_read_as_frozen_percent": rate(still_frozen),
        "samples": samples,
    }


# -- (b) time per frame -------------------------------------------------------------------------


def cost(images: dict[str, np.ndarray], repeats: int) -> dict[str, Any]:
    rng = random.Random(1)
    noise_rng = np.random.default_rng(1)
    thresholds = CheckThresholds()
    out = {}
    image = images.get("motorcycle_left", next(iter(images.values())))
    for size, (width, height, kbps) in SIZES.items():
        view = frame16x9(image, width, height, rng)
        encoded = camera_footage(
            lambda i, v=view: v, width=width, height=height, kbps=kbps, noise=1.5, frozen=False,
            gain=1.0, snow=False, rng=noise_rng,
        )  # fmt: skip
        reference = encoded.latest
        decode, prepare, checks, snapshots = [], [], [], []
        for _ in range(repeats):
            fresh = camera_footage(
                lambda i, v=view: v, width=width, height=height, kbps=kbps, noise=1.5,
                frozen=False, gain=1.0, snow=False, rng=noise_rng,
            )  # fmt: skip
            decode.append(fresh.decode_ms)
            started = time.perf_counter()
            latest = picture_of(fresh.keyframe)
            prepared = time.perf_counter()
            media = CameraMedia(latest, fresh.latest_bgr, True, -25.0, fresh.gop)
            facts = CameraFacts("b", "live", "", True, 0, 0, None, media)
            picture_measurements(facts, thresholds, reference)
            done = time.perf_counter()
            prepare.append((prepared - started) * 1000)
            checks.append((done - started) * 1000)
            started = time.perf_counter()
            jpeg(fresh.latest_bgr)
            snapshots.append((time.perf_counter() - started) * 1000)
        decode_ms, checks_ms = float(np.median(decode)), float(np.median(checks))
        out[size] = {
            "decode_keyframe_ms": round(decode_ms, 2),
            "picture_checks_ms": round(checks_ms, 2),
            "of_which_preparing_ms": round(float(np.median(prepare)), 2),
            "checks_per_decode": round(checks_ms / decode_ms, 3),
            "snapshot_jpeg_ms": round(float(np.median(snapshots)), 2),
        }
    return out


# -- (c) a patrol of many cameras -------------------------------------------------------------


def patrol(images: dict[str, np.ndarray], cameras: int, workdir: Path) -> dict[str, Any]:
    """A 2 s GOP and its AAC per camera through `frames.decode_recent` and `judge`, and
    a coverage query of 24 h per camera on a SQLite catalog, on the checker's two threads."""
    from patrol.checker import CHECK_THREADS
    from patrol.equipment import Footage
    from patrol.frames import decode_recent
    from recorder.db import make_engine, migrate, session_factory
    from recorder.footage import camera_footage as footage_of

    hubs = list(_recent_media(images, count=8))
    engine = make_engine(f"sqlite:///{workdir / 'catalog.db'}")
    migrate(engine)
    sessions = session_factory(engine)
    now_us = int(time.time() * 1_000_000)
    _catalog(sessions, cameras, now_us)
    thresholds = CheckThresholds()

    def one(index: int) -> int:
        with sessions() as session:
            result = footage_of(session, camera_id=f"cam-{index}", start_us=now_us - 86_400_000_000,
                                end_us=now_us, now_us=now_us)  # fmt: skip
        coverage = Footage(now_us - 86_400_000_000, now_us, result.coverage.percent, [])
        media = decode_recent(
            hubs[index % len(hubs)], frozen_span_seconds=thresholds.frozen_min_span_seconds
        )
        facts = CameraFacts(f"cam-{index}", "live", "", True, now_us, now_us, coverage, media)
        return len(judge(facts, thresholds))

    started = time.perf_counter()
    with ThreadPoolExecutor(CHECK_THREADS) as pool:
        checked = sum(pool.map(one, range(cameras)))
    seconds = time.perf_counter() - started
    engine.dispose()
    return {"cameras": cameras, "checks": checked, "seconds": round(seconds, 2),
            "cores": os.cpu_count()}  # fmt: skip


def _recent_media(images: dict[str, np.ndarray], count: int) -> Iterator[Any]:
    """`RecentMedia` like a Hub's: a complete 2 s GOP of 720p video with its AAC packets, from a
    real encode (mp4 in memory, demuxed back)."""
    import io

    from ingest.hub import RecentMedia
    from ingest.packets import MediaPacket, StreamInfo, StreamKind

    rng = random.Random(2)
    for n, image in zip(range(count), list(images.values()) * count, strict=False):
        view = frame16x9(image, 1280, 720, rng)
        buffer = io.BytesIO()
        with av.open(buffer, "w", format="mp4") as out:
            video = out.add_stream("libx264", rate=FPS, options={"g": "50", "preset": "veryfast"})
            video.width, video.height, video.pix_fmt = 1280, 720, "yuv420p"
            audio = out.add_stream("aac", rate=48000)
            tone = (0.1 * np.sin(2 * np.pi * 440 * np.arange(1024) / 48000)).astype(np.float32)
            for index in range(6 * FPS):
                frame = av.VideoFrame.from_ndarray(view, format="bgr24")
                frame.pts = index
                out.mux(video.encode(frame))
            for index in range(6 * 47):
                samples = av.AudioFrame.from_ndarray(
                    tone.reshape(1, -1), format="fltp", layout="mono"
                )
                samples.sample_rate, samples.pts = 48000, index * 1024
                out.mux(audio.encode(samples))
            out.mux(video.encode(None))
            out.mux(audio.encode(None))
        buffer.seek(0)
        container = av.open(buffer)
        v, a = container.streams.video[0], container.streams.audio[0]
        info = StreamInfo.of_streams(f"cam-{n}", 1, v, a, 0)
        gop: list[Any] = []
        for packet in container.demux(v, a):
            if packet.size == 0 or packet.pts is None:
                continue
            kind = StreamKind.VIDEO if packet.stream is v else StreamKind.AUDIO
            pts_us = int(packet.pts * packet.time_base * 1_000_000)
            media = MediaPacket(packet, kind, packet.is_keyframe, pts_us, pts_us, 0, pts_us, 0,
                                packet.time_base)  # fmt: skip
            if kind is StreamKind.VIDEO and packet.is_keyframe:
                previous, gop = gop, [media]
            elif gop:
                gop.append(media)
        yield RecentMedia(info, previous, 2.0)  # the last complete GOP (2 s, with its audio)


def _catalog(sessions: Any, cameras: int, now_us: int) -> None:
    """24 h of 60 s segments per camera (one hour missing in one camera in ten)."""
    from sqlalchemy import insert

    from recorder.models import Camera, RecordingRun, Segment

    start = now_us - 86_400_000_000
    with sessions.begin() as session:
        for index in range(cameras):
            camera_id = f"cam-{index}"
            session.add(Camera(id=camera_id, site_id="s", name=camera_id, area="other",
                               room=camera_id, first_seen_us=start))  # fmt: skip
            session.add(RecordingRun(id=f"run-{index}", camera_id=camera_id, started_us=start))
        session.flush()
        rows = []
        for index in range(cameras):
            for minute in range(24 * 60):
                if index % 10 == 0 and 600 <= minute < 660:
                    continue
                begin = start + minute * 60_000_000
                rows.append({
                    "camera_id": f"cam-{index}", "run_id": f"run-{index}",
                    "path": f"cam-{index}/{minute}.mp4", "start_us": begin,
                    "end_us": begin + 60_000_000, "size_bytes": 15_000_000, "sha256": "0" * 64,
                    "video_codec": "h264", "width": 1280, "height": 720, "audio_codec": "aac",
                    "has_audio": True, "video_packets": 1500, "audio_packets": 2800,
                })  # fmt: skip
        session.execute(insert(Segment), rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=40, help="scenes × lights judged in (a)")
    parser.add_argument(
        "--first", type=int, default=0, help="(a) starts at this sample (two runs share cores)"
    )
    parser.add_argument("--repeats", type=int, default=20, help="timings per size in (b)")
    parser.add_argument("--cameras", type=int, default=100, help="cameras patrolled in (c)")
    parser.add_argument("--parts", default="a,b,c")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    images = scene_images()
    report: dict[str, Any] = {"scenes": list(images)}
    parts = set(args.parts.split(","))

    def done(part: str, figures: dict[str, Any]) -> None:
        """Keep each part's figures as soon as it is measured (a long run keeps what it has)."""
        report[part] = figures
        print(f"{part}: {json.dumps(figures, ensure_ascii=False)}", file=sys.stderr, flush=True)
        if args.json is not None:
            args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False))

    if "a" in parts:
        done("a_detection", detection(images, args.samples, seed=7 + args.first, first=args.first))
    if "b" in parts:
        done("b_cost", cost(images, args.repeats))
    if "c" in parts:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="casewatch-diagnose-") as tmp:
            done("c_patrol", patrol(images, args.cameras, Path(tmp)))
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
