"""Which decoded frames the patrol compares, how long a young GOP is waited for, and the
reference pictures kept on disk."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from patrol import picture
from patrol.frames import (
    REFINE_SECONDS,
    CameraMedia,
    frozen_frame_indices,
    picture_of,
    seconds_until_judgeable,
)
from patrol.picture import Picture
from patrol.references import ReferenceStore

FRAME_US = 40_000  # 25 frames per second


def test_frozen_compares_the_last_frame_with_one_the_span_before_it() -> None:
    two_seconds = [i * FRAME_US for i in range(50)]
    assert frozen_frame_indices(two_seconds, 0.4) == [39, 49]  # late in the GOP, 0.4 s apart
    # a GOP too young for the whole span: the first frame after the encoder's refining time
    young = [i * FRAME_US for i in range(12)]
    first, last = frozen_frame_indices(young, 0.4)
    assert young[first] >= REFINE_SECONDS * 1_000_000 and last == 11
    assert frozen_frame_indices([0], 0.4) == [0]


def test_a_young_gop_is_waited_for_until_it_spans_the_refining_time_and_the_span() -> None:
    def media(age_seconds: float) -> CameraMedia:
        keyframe = Picture(np.zeros((4, 4), np.uint8), np.zeros((1, 1, 3), np.uint8), 10.0)
        last = Picture(keyframe.luma_full, keyframe.bgr, 10.0 + age_seconds)
        return CameraMedia(keyframe, np.zeros((4, 4, 3), np.uint8), False, None, [last])

    assert abs(seconds_until_judgeable(media(0.0), 0.4) - (REFINE_SECONDS + 0.4)) < 1e-9
    assert abs(seconds_until_judgeable(media(0.5), 0.4) - (REFINE_SECONDS - 0.1)) < 1e-9
    assert seconds_until_judgeable(media(1.5), 0.4) == 0.0
    assert seconds_until_judgeable(None, 0.4) == 0.0


def test_a_new_reference_replaces_the_one_in_memory(tmp_path: Path) -> None:
    store = ReferenceStore(tmp_path)
    assert store.load("room-1") is None
    grey = Picture.from_bgr(np.full((90, 160, 3), 100, np.uint8))
    store.save("room-1", grey)
    first = store.load("room-1")
    assert first is not None and store.load("room-1") is first  # kept, not read again
    store.save("room-1", Picture.from_bgr(np.full((90, 160, 3), 200, np.uint8)))
    second = store.load("room-1")
    assert second is not None and second.mean_luma() > 150
    store.forget("room-1")
    assert store.load("room-1") is None


@pytest.mark.parametrize("pixel_format", ["yuv420p", "yuvj420p"])
def test_a_decoded_frame_is_judged_as_its_colour_picture_would_be(pixel_format: str) -> None:
    """The checks take a decoded frame's planes as they are (video-range luma, 4:2:0 chroma),
    yet measure what they would on the same picture converted to colour: levels 0–255 from
    black to white, the same mean colour, the same noise."""
    rng = np.random.default_rng(3)
    scene = np.zeros((720, 1280, 3), np.uint8)
    scene[:, :640] = (30, 60, 200)  # a red half (BGR) and a grey one
    scene[:, 640:] = 128
    scene = np.clip(scene + rng.normal(0, 6, scene.shape), 0, 255).astype(np.uint8)
    frame = av.VideoFrame.from_ndarray(scene, format="bgr24").reformat(format=pixel_format)
    decoded = picture_of(frame)
    converted = Picture.from_bgr(frame.to_ndarray(format="bgr24"))
    assert abs(decoded.mean_luma() - converted.mean_luma()) < 1.5
    assert np.abs(decoded.chromaticity() - converted.chromaticity()).max() < 0.01
    assert np.abs(cv2.absdiff(decoded.colour(), converted.colour())).mean() < 2.5
    noise = [picture.noisy(p, max_noise_sigma=4.0).value for p in (decoded, converted)]
    assert abs(float(noise[0]) - float(noise[1])) <= 0.5, noise  # type: ignore[arg-type]
    black = av.VideoFrame.from_ndarray(np.zeros((720, 1280, 3), np.uint8), format="bgr24")
    white = av.VideoFrame.from_ndarray(np.full((720, 1280, 3), 255, np.uint8), format="bgr24")
    assert picture_of(black.reformat(format=pixel_format)).mean_luma() < 1.0
    assert picture_of(white.reformat(format=pixel_format)).mean_luma() > 253.0
