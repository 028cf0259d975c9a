"""Which decoded frames the patrol compares, how long a young GOP is waited for, and the
reference pictures kept on disk."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from ingest.hub import Hub, RecentMedia
from ingest.packets import MediaPacket, StreamInfo, StreamKind
from patrol import picture
from patrol.frames import (
    GOP_END_MARGIN_SECONDS,
    REFINE_SECONDS,
    SETTLED_SECONDS,
    frozen_frame_indices,
    frozen_judging_age,
    frozen_wait_seconds,
    picture_of,
)
from patrol.picture import Picture
from patrol.references import ReferenceStore

FRAME_US = 40_000  # 25 frames per second
INFO = StreamInfo("cam", 1, None, None, "h264", 1280, 720, None, None, 0)


def test_frozen_compares_the_last_frame_with_one_the_span_before_it() -> None:
    two_seconds = [i * FRAME_US for i in range(50)]
    assert frozen_frame_indices(two_seconds, 0.4) == [39, 49]  # late in the GOP, 0.4 s apart
    # a GOP too young for the whole span: the first frame after the encoder's refining time
    young = [i * FRAME_US for i in range(12)]
    first, last = frozen_frame_indices(young, 0.4)
    assert young[first] >= REFINE_SECONDS * 1_000_000 and last == 11
    assert frozen_frame_indices([0], 0.4) == [0]


def test_frozen_is_judged_late_in_the_gop_but_before_its_end() -> None:
    """An encoder refines a repeated picture early in each GOP: frozen waits until the GOP is
    `SETTLED_SECONDS` and the span old, or nearly over when it is shorter than that."""
    span = 0.4
    assert frozen_judging_age(None, span) == SETTLED_SECONDS + span  # GOP length not yet known
    assert frozen_judging_age(8.0, span) == SETTLED_SECONDS + span  # a "smart" 8 s GOP
    assert frozen_judging_age(2.0, span) == 2.0 - GOP_END_MARGIN_SECONDS
    assert frozen_judging_age(0.5, span) == REFINE_SECONDS + span  # as late as it can be

    def gop(age_seconds: float) -> RecentMedia:
        frames = round(age_seconds * 25) + 1
        video = [_packet(i * FRAME_US, key=i == 0) for i in range(frames)]
        return RecentMedia(INFO, [*video, _packet(0, audio=True)], 2.0)

    assert abs(frozen_wait_seconds(gop(0.0), span) - 1.8) < 1e-9
    assert abs(frozen_wait_seconds(gop(1.0), span) - 0.8) < 1e-9
    assert frozen_wait_seconds(gop(1.8), span) == 0.0


def test_the_hub_knows_how_long_the_last_gop_was() -> None:
    hub = Hub("cam")
    hub.stream_started(INFO)
    hub.publish(_packet(0, key=True))
    media = hub.recent_media()
    assert media is not None and media.gop_seconds is None  # one keyframe: not known yet
    for n in range(1, 51):
        hub.publish(_packet(n * FRAME_US, key=n % 50 == 0))
    media = hub.recent_media()
    assert media is not None and media.gop_seconds == 2.0
    hub.stream_started(INFO)  # a new connection: its GOPs are measured anew
    hub.publish(_packet(0, key=True))
    media = hub.recent_media()
    assert media is not None and media.gop_seconds is None


def _packet(pts_us: int, *, key: bool = False, audio: bool = False) -> MediaPacket:
    kind = StreamKind.AUDIO if audio else StreamKind.VIDEO
    return MediaPacket(b"", kind, key, pts_us, pts_us, FRAME_US, pts_us, 0, Fraction(1, 90_000))


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
