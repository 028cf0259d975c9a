"""The picture checks on the simulator's own fault modes: each fault is caught by its check and by
no other, the normal picture passes every check, with and without a reference picture."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from camsim.encode import default_cache_dir, ensure_loop
from camsim.spec import VIDEO_PIDS, EncodeParams, VideoMode, video_modes
from configs.schema import CheckThresholds
from patrol import picture
from patrol.frames import CameraMedia
from patrol.picture import Picture
from patrol.results import Check
from patrol.runner import CameraFacts, judge

SIZES = [(640, 360, 600), (1280, 720, 2000)]

CAUGHT_BY = {
    VideoMode.NORMAL: set(),
    VideoMode.RESIZED: set(),
    VideoMode.BLACK: {Check.BLACK},
    VideoMode.FROZEN: {Check.FROZEN},
    VideoMode.BLURRED: {Check.BLURRED},
    VideoMode.COVERED: {Check.COVERED},
    VideoMode.DARK: {Check.DARK},
    VideoMode.OVEREXPOSED: {Check.OVEREXPOSED},
    VideoMode.COLOUR_CAST: {Check.COLOUR_CAST},
    VideoMode.NOISY: {Check.NOISY},
    VideoMode.TURNED: {Check.SCENE_CHANGED},
}
"""Which checks fail on each variant, judged against the normal picture as reference."""


Footage = dict[VideoMode, tuple[list[tuple[Picture, np.ndarray]], list[Picture]]]


@pytest.fixture(scope="module", params=SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def keyframes(request: pytest.FixtureRequest) -> Iterator[Footage]:
    """Of every variant of a loop encoded as the simulator does: its first keyframes, and the
    frames of its second GOP that the checks compare (0.3 s in, and the end)."""
    width, height, kbps = request.param
    params = EncodeParams(
        width=width, height=height, fps=25, gop_frames=25, bitrate_kbps=kbps,
        loop_frames=250, ident="讯问室1", picture_faults=True,
    )  # fmt: skip
    path = ensure_loop(params, default_cache_dir())
    yield {mode: _footage(path, mode) for mode in video_modes(picture_faults=True)}


def _footage(path: Path, mode: VideoMode) -> tuple[list[tuple[Picture, np.ndarray]], list[Picture]]:
    with av.open(str(path)) as container:
        (stream,) = [s for s in container.streams.video if s.id == VIDEO_PIDS[mode]]
        keyframes, gop = [], []
        for index, frame in enumerate(container.decode(stream)):
            if frame.key_frame:
                bgr = frame.to_ndarray(format="bgr24")
                keyframes.append((Picture.from_bgr(bgr, pts_seconds=float(frame.time)), bgr))
            if index in (33, 49):  # the second GOP's frames 0.3 s in and at its end
                luma = frame.to_ndarray(format="gray")
                gop.append(Picture(luma, np.zeros((1, 1, 3), np.uint8), float(frame.time)))
            if len(keyframes) == 3 and len(gop) == 2:
                return keyframes, gop
    raise AssertionError(f"{mode}: too short")


def facts_of(footage: tuple[list[tuple[Picture, np.ndarray]], list[Picture]]) -> CameraFacts:
    """A live, recording camera whose Hub holds this GOP."""
    keyframes, gop = footage
    picture, bgr = keyframes[1]
    media = CameraMedia(latest=picture, latest_bgr=bgr, has_audio=True, audio_dbfs=-20.0, gop=gop)
    return CameraFacts("int-1", "live", "", True, 0, 0, None, media)


@pytest.mark.parametrize("mode", list(CAUGHT_BY), ids=str)
@pytest.mark.parametrize("with_reference", [True, False], ids=["reference", "no-reference"])
def test_each_fault_is_caught_by_its_own_check(
    keyframes: Footage, mode: VideoMode, with_reference: bool
) -> None:
    reference = keyframes[VideoMode.NORMAL][0][0][0] if with_reference else None
    expected = CAUGHT_BY[mode]
    results = judge(facts_of(keyframes[mode]), CheckThresholds(), reference=reference)
    failed = {r.check for r in results if r.ok is False}
    if mode is VideoMode.TURNED and not with_reference:
        # a turned camera is only known against its old view; this one shows a corner of the
        # test pattern, whose colour blocks no check without a reference can tell from a tint
        # (natural scenes, where the highlights are neutral: bench/diagnose.py)
        expected = set()
        failed -= {Check.COLOUR_CAST}
    found = [(r.check.value, r.value, r.detail) for r in results if r.ok is False]
    assert failed == expected, found
    for result in results:
        assert result.snapshot is not None and result.snapshot[:2] == b"\xff\xd8"  # a JPEG


def test_a_failing_check_reports_value_threshold_and_why_others_were_not_judged(
    keyframes: Footage,
) -> None:
    results = {r.check: r for r in judge(facts_of(keyframes[VideoMode.BLACK]), CheckThresholds())}
    black = results[Check.BLACK]
    assert (black.ok, black.value, black.threshold, black.unit) == (False, 0.0, 20.0, "luma")
    assert results[Check.DARK].ok is None and results[Check.DARK].detail == "the picture is black"
    assert results[Check.ONLINE].ok is True and results[Check.AUDIO].ok is True
    assert black.as_json() == {
        "camera": "int-1", "check": "black", "ok": False, "value": 0.0, "threshold": 20.0,
        "unit": "luma", "detail": "",
    }  # fmt: skip


def test_thresholds_decide(keyframes: Footage) -> None:
    """A per-camera threshold moves the verdict: the same blurred picture passes when the
    camera is allowed to be soft."""
    blurred = facts_of(keyframes[VideoMode.BLURRED])
    lenient = CheckThresholds().overridden_by(CheckThresholds(blur_min_sharpness=0.5))
    verdict = {r.check: r.ok for r in judge(blurred, lenient, checks=[Check.BLURRED])}
    assert verdict == {Check.BLURRED: True}


def test_a_still_room_is_not_frozen_but_identical_pictures_are() -> None:
    """An empty room where nothing moves still has sensor noise (and maybe a clock's hand):
    pixels change from frame to frame. A frozen encoder repeats the same decoded picture."""
    rng = np.random.default_rng(7)
    room = rng.integers(60, 200, size=(360, 640), dtype=np.uint8)
    room = np.repeat(np.repeat(room[::8, ::8], 8, axis=0), 8, axis=1)  # large flat patches
    no_colour = np.zeros((1, 1, 3), np.uint8)

    def with_noise(seconds: float) -> Picture:
        noisy = room.astype(np.float32) + rng.normal(0, 1.5, room.shape)
        return Picture(np.clip(noisy, 0, 255).astype(np.uint8), no_colour, seconds)

    limits = {"max_changed_ppm": 20.0, "min_span_seconds": 0.4}
    still = picture.frozen([with_noise(t) for t in (0.0, 0.5, 1.0)], **limits)
    assert still.ok is True and isinstance(still.value, float) and still.value > 1000
    clock = room.copy()
    clock[100:130, 300:302] = 255  # only a wall clock's hand moved
    hand = picture.frozen([Picture(room, no_colour, 0.0), Picture(clock, no_colour, 1.0)], **limits)
    assert hand.ok is True
    same = [Picture(room, no_colour, t) for t in (0.0, 0.5, 1.0)]
    assert picture.frozen(same, **limits).ok is False
    too_close = [Picture(room, no_colour, t) for t in (0.0, 0.2)]
    assert picture.frozen(too_close, **limits).ok is None


def test_without_a_reference_a_dark_flat_region_is_a_cover_and_a_lit_plain_wall_is_not() -> None:
    """What covers a lens is close to it: unlit and out of focus. A plain wall or the sky over
    the same share of the view is lit like the room."""
    rng = np.random.default_rng(5)
    room = rng.integers(40, 220, size=(45, 80, 3), dtype=np.uint8)
    room = cv2.resize(room, (1280, 720), interpolation=cv2.INTER_NEAREST)  # detail everywhere
    limits = {"reference": None, "max_covered_share": 0.55, "max_dark_share": 0.35}

    def with_left_part(level: int, share: float) -> Picture:
        view = room.copy()
        view[:, : int(1280 * share)] = level
        noisy = view.astype(np.float32) + rng.normal(0, 1.0, view.shape)
        return Picture.from_bgr(np.clip(noisy, 0, 255).astype(np.uint8))

    dark_cover = picture.covered(with_left_part(25, 0.45), **limits)
    assert dark_cover.ok is False and dark_cover.threshold == 0.35
    lit_wall = picture.covered(with_left_part(180, 0.45), **limits)
    assert lit_wall.ok is True and lit_wall.threshold == 0.55
    assert picture.covered(with_left_part(180, 0.7), **limits).ok is False  # most of the view


def test_thresholds_out_of_range_are_refused_naming_the_field() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as error:
        CheckThresholds.model_validate({"blur_min_ratio": 3})
    assert error.value.errors()[0]["loc"] == ("blur_min_ratio",)
