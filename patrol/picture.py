"""Picture checks: pure functions on decoded pictures, each a measured value against a threshold.

A patrol judges whether a camera's picture is *usable* — not black, frozen, out of focus,
covered, badly exposed, tinted, snowy, or turned away from the room it should show. Every check
here is a pure function of one or more `Picture`s (and, for the comparisons, the camera's stored
reference picture) that returns a `Measurement`: the value, the threshold it was held against and
whether it passes. Nothing here decodes video or touches the catalog; `patrol.frames` produces the
pictures from the Hub's cached GOP and `patrol.runner` puts the results together.

Measures (on luma at `ANALYSIS_WIDTH` unless said otherwise):
- **black** — the 99th percentile of luma: a picture with nothing brighter than a few levels
  above black is no signal, whatever the mean of a dim but real scene.
- **dark / overexposed** — the mean luma, too low or too high.
- **blurred** — the variance of the Laplacian (the usual focus measure). Absolute values depend
  on the scene, so with a reference picture the value is the ratio to the reference's.
- **covered** — the share of the picture in the largest connected region of flat blocks
  (almost no luma variation and no edges); without a reference, a smaller share suffices when
  the region is much darker than the rest of the view (a cover is close to the lens, unlit).
  Against a reference, only blocks that had detail there count, so a plain wall is not a cover
  — or blocks that went dark while the rest of the view still matches the reference's light (a
  dark cover over that plain wall; a turned camera shows other light everywhere). When (nearly)
  every detailed block went flat, the whole picture lost its detail: that is blur or exposure,
  not a cover.
- **colour cast** — the chromaticity of the mean colour (its blue, green and red shares): how
  far it moved from the reference's. Unlike CIELAB's a*/b*, it does not shrink when the light
  dims. Without a reference, a cast tints everything: both the mean colour and the picture's
  highlights (its brightest `HIGHLIGHT_SHARE`) are away from grey, and the value is the nearer
  of the two. A room of one colour has a tinted mean but neutral highlights (lamps, white walls,
  paper); a scene of bright coloured things has tinted highlights but a balanced mean.
- **noisy** — the noise σ in luma levels (Immerkær's Laplacian-difference operator on
  native-resolution luma, taken robustly: its median response, so that edges are not noise), on
  bands of rows spread over the picture (`NOISE_BAND_ROWS` of every `NOISE_BAND_PERIOD`): fifty
  thousand pixels give the median as well as a million, at a sixteenth of the cost.
- **frozen** — two frames decoded late in the GOP stay *identical* while the stream's time goes
  on: the share of pixels changed between them, per million (on every `FROZEN_ROW_STEP`-th row
  of native luma). A frozen
  encoder repeats its picture, and skipped blocks decode bit for bit the same; a still room is
  not frozen: sensor noise and a wall clock's hand change pixels in every frame.
- **scene changed** — the best normalised cross-correlation of the picture's gradient magnitude
  with the reference's over small shifts: light going on or off keeps the edges, a camera turned
  away does not.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

ANALYSIS_WIDTH = 320
"""Pictures are judged at this width (smaller ones as they are): a 20 × 11 grid of blocks, the
focus and the view's structure need no more, and every measure on it costs a sixteenth of 720p's."""

BLOCK = 16
"""Side of the blocks of the covered check, in analysis pixels (each is judged on its 8 × 8
pixels at half that size, `SCENE_SIZE`: flatness needs no more, at a quarter of the cost)."""

FLAT_BLOCK_STD = 4.0
"""A block whose luma varies less than this (standard deviation) is flat…"""
FLAT_BLOCK_EDGES = 0.01
"""…when also fewer than this share of its pixels lie on an edge."""
EDGE_GRADIENT = 24.0
"""Gradient magnitude (Sobel, luma levels) from which a pixel lies on an edge."""
_EDGE_MAGNITUDE_BELOW = float(np.nextafter(np.float32(4.0 * EDGE_GRADIENT), np.float32(0.0)))
"""The largest 3×3 Sobel magnitude (weights summing to 4) below an edge's: OpenCV's binary
threshold keeps what is above its value."""
COVER_LEVELS = 24.0
"""A flat block whose mean luma fell this far below the reference's (beyond the whole picture's
change of light) was covered, even where the reference showed no detail there."""
COVER_DARKER = 0.75
"""Without a reference, a flat region at most this bright, relative to the view's detailed
blocks, is dark as a cover is."""
MIN_KEPT_BLOCKS = 4
"""The change of light is measured on at least this many blocks that kept their detail…"""
IN_PLACE_SHARE = 0.75
"""…of which this share must still match the reference's brightness (the view has not moved)."""
SCENE_SIZE = (160, 90)
"""The scene comparison works on gradients at this size: turned cameras, not details, matter."""
SCENE_SHIFT = 0.06
"""Shifts up to this share of each side are tolerated (a camera bumped, not turned)."""
CHANGED_LEVELS = 2
"""A pixel changed between two frames when its luma moved by this much or more."""
HIGHLIGHT_SHARE = 0.05
"""The colour cast without a reference is judged on this brightest share of the picture."""
FROZEN_ROW_STEP = 4
"""Frozen compares every this many rows of native luma: a still room's noise changes a share of
all pixels, which every fourth row shows as well as all of them do, at a quarter of the cost."""
MAD_TO_SIGMA = 1.4826
"""The median absolute deviation of a normal distribution times this is its σ."""
NOISE_BAND_ROWS = 8
NOISE_BAND_PERIOD = 128
"""The noise is measured on `NOISE_BAND_ROWS` rows of every `NOISE_BAND_PERIOD`."""
_VIDEO_TO_FULL = np.clip(np.round((np.arange(256) - 16) * 255 / 219), 0, 255).astype(np.uint8)
"""Video-range luma levels to full range (as libswscale converts them)."""
_FULL_TO_VIDEO_LUMA = np.round(16 + np.arange(256) * 219 / 255).astype(np.uint8)
_FULL_TO_VIDEO_CHROMA = np.round(128 + (np.arange(256) - 128) * 224 / 255).astype(np.uint8)
"""Full-range luma and chroma levels to video range."""


@dataclass(frozen=True)
class Measurement:
    """One check's outcome: ``ok`` is None when the check could not judge (``detail`` says why)."""

    value: float | str | None
    threshold: float
    ok: bool | None
    detail: str = ""


@dataclass
class Picture:
    """One decoded picture, prepared once for every check."""

    luma_full: np.ndarray
    """Native-resolution luma (uint8, H×W)."""
    bgr: np.ndarray | None
    """Colour at analysis size (uint8, h×w×3), or None: made from ``chroma`` when asked."""
    pts_seconds: float = 0.0
    """The picture's stream time (frozen needs time to advance)."""
    video_range: bool = False
    """``luma_full`` is in video range (black 16, white 235), as decoders give it; every measure
    is in full-range levels (0–255), so the thresholds mean the same for either."""
    chroma: tuple[np.ndarray, np.ndarray] | None = None
    """The native U and V planes (4:2:0) of a decoded frame, for the colour without ``bgr``."""
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_bgr(cls, bgr: np.ndarray, *, pts_seconds: float = 0.0) -> Picture:
        """A picture from a BGR image of any size (tests, snapshots, the bench)."""
        import cv2

        luma = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        return cls(luma_full=luma, bgr=_to_analysis_size(bgr), pts_seconds=pts_seconds)

    @property
    def luma(self) -> np.ndarray:
        """Luma at analysis size."""
        if "luma" not in self._cache:
            import cv2

            luma = self._luma_as_decoded()
            self._cache["luma"] = cv2.LUT(luma, _VIDEO_TO_FULL) if self.video_range else luma
        result: np.ndarray = self._cache["luma"]
        return result

    def _luma_as_decoded(self) -> np.ndarray:
        """Luma at analysis size, in the levels it was decoded in."""
        if "decoded" not in self._cache:
            self._cache["decoded"] = _to_analysis_size(self.luma_full)
        result: np.ndarray = self._cache["decoded"]
        return result

    def colour(self) -> np.ndarray:
        """Colour (BGR) at analysis size: ``bgr``, or converted from the analysis-size luma and
        the chroma planes scaled to match (for a reference picture; the checks need only the
        mean colour, see `chromaticity`)."""
        if self.bgr is not None:
            return self.bgr
        if "colour" not in self._cache:
            import cv2

            if self.chroma is None:
                raise ValueError("a picture without colour")
            luma = self._luma_as_decoded()
            u, v = (_shrunk(plane, max(1, luma.shape[1] // 2)) for plane in self.chroma)
            if not self.video_range:  # OpenCV converts video-range YUV
                luma, u, v = (
                    cv2.LUT(luma, _FULL_TO_VIDEO_LUMA),
                    cv2.LUT(u, _FULL_TO_VIDEO_CHROMA),
                    cv2.LUT(v, _FULL_TO_VIDEO_CHROMA),
                )
            rows = min(luma.shape[0] // 2, u.shape[0], v.shape[0])
            cols = min(luma.shape[1] // 2, u.shape[1], v.shape[1])
            i420 = np.concatenate(
                [
                    luma[: 2 * rows, : 2 * cols].ravel(),
                    u[:rows, :cols].ravel(),
                    v[:rows, :cols].ravel(),
                ]
            ).reshape(3 * rows, 2 * cols)
            self._cache["colour"] = cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420)
        result: np.ndarray = self._cache["colour"]
        return result

    def small(self) -> np.ndarray:
        """Luma at half the analysis size (`SCENE_SIZE`)."""
        if "small" not in self._cache:
            self._cache["small"] = _shrunk(self.luma, SCENE_SIZE[0])
        result: np.ndarray = self._cache["small"]
        return result

    def structure(self) -> np.ndarray:
        """The view's structure for the scene comparison: smoothed gradients at `SCENE_SIZE`."""
        if "structure" not in self._cache:
            import cv2

            gradient = _gradient(cv2.GaussianBlur(self.small(), (3, 3), 0))
            self._cache["structure"] = cv2.GaussianBlur(gradient, (5, 5), 0)
        result: np.ndarray = self._cache["structure"]
        return result

    def mean_luma(self) -> float:
        """Mean luma."""
        if "mean" not in self._cache:
            import cv2

            self._cache["mean"] = float(cv2.mean(self.luma)[0])
        result: float = self._cache["mean"]
        return result

    def sharpness(self, outside: np.ndarray | None = None) -> float:
        """Variance of the Laplacian of the analysis luma (exact in 16 bits: |Δ| ≤ 4·255);
        ``outside``: of the part outside these blocks of `flat_blocks` only."""
        import cv2

        if "laplacian" not in self._cache:
            self._cache["laplacian"] = cv2.Laplacian(self.luma, cv2.CV_16S)
        laplacian: np.ndarray = self._cache["laplacian"]
        if outside is not None:
            rows, cols = outside.shape
            inside = cv2.resize(
                outside.astype(np.uint8), (cols * BLOCK, rows * BLOCK),
                interpolation=cv2.INTER_NEAREST,
            )  # fmt: skip
            keep = np.zeros(laplacian.shape, np.uint8)
            keep[: rows * BLOCK, : cols * BLOCK] = 1 - inside
            if not keep.any():
                return 0.0
            _, std = cv2.meanStdDev(laplacian, mask=keep)
            return float(std[0, 0]) ** 2
        if "sharpness" not in self._cache:
            _, std = cv2.meanStdDev(laplacian)
            self._cache["sharpness"] = float(std[0, 0]) ** 2
        result: float = self._cache["sharpness"]
        return result

    def chromaticity(self) -> np.ndarray:
        """The mean colour's share of blue, green and red (sums to 1; grey is ⅓ each). From the
        planes' means when the picture has them (the mean of a colour is the colour of the
        means: the conversion is affine), else from the colour picture."""
        if "chromaticity" in self._cache:
            cached: np.ndarray = self._cache["chromaticity"]
            return cached
        import cv2

        if self.bgr is None and self.chroma is not None:
            luma = cv2.mean(self._luma_as_decoded())[0]
            u, v = (cv2.mean(plane)[0] - 128.0 for plane in self.chroma)
            mean = np.clip(_yuv_to_bgr(luma, u, v, video_range=self.video_range), 0.0, 255.0)
        else:
            mean = np.array(cv2.mean(self.colour())[:3], dtype=np.float64)
        result = _shares(mean)
        self._cache["chromaticity"] = result
        return result

    def highlight_chromaticity(self) -> np.ndarray:
        """The chromaticity of the picture's brightest `HIGHLIGHT_SHARE` (see `chromaticity`)."""
        if "highlights" in self._cache:
            cached: np.ndarray = self._cache["highlights"]
            return cached
        import cv2

        luma = self.luma
        _, bright = cv2.threshold(
            luma, _percentile(luma, 1.0 - HIGHLIGHT_SHARE, self._histogram()) - 1, 1,
            cv2.THRESH_BINARY,
        )  # fmt: skip
        if self.bgr is None and self.chroma is not None:
            decoded = self._luma_as_decoded()
            u, v = (_shrunk(plane, luma.shape[1]) for plane in self.chroma)
            rows, cols = min(luma.shape[0], u.shape[0]), min(luma.shape[1], u.shape[1])
            mask = bright[:rows, :cols]
            y = cv2.mean(decoded[:rows, :cols], mask)[0]
            u_mean, v_mean = (cv2.mean(plane[:rows, :cols], mask)[0] - 128.0 for plane in (u, v))
            mean = np.clip(_yuv_to_bgr(y, u_mean, v_mean, video_range=self.video_range), 0.0, 255.0)
        else:
            colour = self.colour()
            rows, cols = min(luma.shape[0], colour.shape[0]), min(luma.shape[1], colour.shape[1])
            mean = np.array(cv2.mean(colour[:rows, :cols], bright[:rows, :cols])[:3])
        result = _shares(mean)
        self._cache["highlights"] = result
        return result

    def _histogram(self) -> np.ndarray:
        """The cumulative histogram of `luma` (for its percentiles)."""
        if "histogram" not in self._cache:
            import cv2

            counts = cv2.calcHist([self.luma], [0], None, [256], [0, 256]).ravel()
            self._cache["histogram"] = np.cumsum(counts)
        result: np.ndarray = self._cache["histogram"]
        return result

    def percentile(self, share: float) -> float:
        """The luma level below which ``share`` of the picture lies."""
        return _percentile(self.luma, share, self._histogram())

    def flat_blocks(self) -> np.ndarray:
        """Boolean grid: which `BLOCK`-sized blocks are flat (no variation, no edges)."""
        if "flat" not in self._cache:
            import cv2

            small = self.small()  # a block is judged on its 8 × 8 pixels at half size
            size = BLOCK // 2
            rows, cols = small.shape[0] // size, small.shape[1] // size
            luma = small[: rows * size, : cols * size]
            gx, gy = cv2.spatialGradient(luma)  # Sobel 3×3 in 16 bits, both at once
            magnitude = cv2.magnitude(gx.astype(np.float32), gy.astype(np.float32))
            # 1.0 where the magnitude reaches the edge gradient (Sobel's weights sum to 4)
            _, edges = cv2.threshold(magnitude, _EDGE_MAGNITUDE_BELOW, 1.0, cv2.THRESH_BINARY)
            values = luma.astype(np.float32)
            # block means by halving (OpenCV's fast 2× area path): the variance is E[x²] − E[x]²
            mean, square, edge_share = (
                _shrunk(image, cols) for image in (values, cv2.multiply(values, values), edges)
            )
            std = np.sqrt(np.maximum(square - mean * mean, 0.0))
            self._cache["flat"] = (std < FLAT_BLOCK_STD) & (edge_share < FLAT_BLOCK_EDGES)
            self._cache["block_mean"] = mean
        result: np.ndarray = self._cache["flat"]
        return result

    def block_means(self) -> np.ndarray:
        """The mean luma of each block of `flat_blocks`."""
        self.flat_blocks()
        result: np.ndarray = self._cache["block_mean"]
        return result


def _shares(colour: np.ndarray) -> np.ndarray:
    """A colour's blue, green and red shares (grey, also for black: ⅓ each)."""
    total = float(colour.sum())
    result: np.ndarray = colour / total if total > 0 else np.full(3, 1.0 / 3.0)
    return result


def _yuv_to_bgr(luma: float, u: float, v: float, *, video_range: bool) -> np.ndarray:
    """One BT.601 colour (``u``, ``v`` centred on 0), as libswscale and OpenCV convert it."""
    if video_range:
        y = 255.0 / 219.0 * (luma - 16.0)
        u, v = u * 255.0 / 224.0, v * 255.0 / 224.0
    else:
        y = luma
    return np.array([y + 1.772 * u, y - 0.344136 * u - 0.714136 * v, y + 1.402 * v])


def _to_analysis_size(image: np.ndarray) -> np.ndarray:
    return _shrunk(image, ANALYSIS_WIDTH)


def _shrunk(image: np.ndarray, width: int) -> np.ndarray:
    """``image`` scaled down to ``width``: halved by area averaging while it is at least twice
    as wide (OpenCV's fast path; exact block means for power-of-two factors), the rest of the
    way (under 2×) bilinearly. One area resize by an uneven factor, 1920 → 320, costs fifteen
    times as much. Narrower images are returned as they are."""
    import cv2

    height, now = image.shape[:2]
    if now <= width:
        return image
    target = (width, max(1, round(height * width / now)))
    while now >= 2 * width:
        now, height = now // 2, height // 2
        image = cv2.resize(image, (now, height), interpolation=cv2.INTER_AREA)
    if now != width:
        image = cv2.resize(image, target, interpolation=cv2.INTER_LINEAR)
    return image


def _gradient(luma: np.ndarray) -> np.ndarray:
    import cv2

    gx = cv2.Sobel(luma, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(luma, cv2.CV_32F, 0, 1, ksize=3)
    magnitude: np.ndarray = cv2.magnitude(gx, gy) / 4.0  # Sobel's 3×3 weights sum to 4
    return magnitude


def _at_most(value: float, threshold: float, detail: str = "") -> Measurement:
    return Measurement(value, threshold, value <= threshold, detail)


def _at_least(value: float, threshold: float, detail: str = "") -> Measurement:
    return Measurement(value, threshold, value >= threshold, detail)


# -- the checks ------------------------------------------------------------------------------


def _percentile(image: np.ndarray, share: float, cumulative: np.ndarray | None = None) -> float:
    """The level below which ``share`` of an 8-bit image's pixels lie (from its cumulative
    histogram, when known)."""
    if cumulative is None:
        import cv2

        cumulative = np.cumsum(cv2.calcHist([image], [0], None, [256], [0, 256]).ravel())
    return float(np.searchsorted(cumulative, share * image.size))


def black(picture: Picture, *, min_bright_luma: float) -> Measurement:
    """No signal: the brightest 1 % of the picture is still at black (value: p99 luma)."""
    return _at_least(picture.percentile(0.99), min_bright_luma)


def dark(picture: Picture, *, min_mean_luma: float) -> Measurement:
    """Under-exposed: the mean luma is too low to make out people (value: mean luma)."""
    return _at_least(picture.mean_luma(), min_mean_luma)


def overexposed(picture: Picture, *, max_mean_luma: float) -> Measurement:
    """Over-exposed: the picture is washed out towards white (value: mean luma)."""
    return _at_most(picture.mean_luma(), max_mean_luma)


def blurred(
    picture: Picture,
    *,
    reference: Picture | None,
    min_sharpness: float,
    min_sharpness_ratio: float,
) -> Measurement:
    """Out of focus: Laplacian variance below an absolute floor or, with a reference picture,
    below a share of the reference's (value: the variance, or the ratio)."""
    sharpness = picture.sharpness()
    if reference is not None and reference.sharpness() >= min_sharpness:
        ratio = sharpness / reference.sharpness()
        return _at_least(ratio, min_sharpness_ratio, "relative to the reference picture")
    return _at_least(sharpness, min_sharpness)


def covered(
    picture: Picture,
    *,
    reference: Picture | None,
    max_covered_share: float,
    max_dark_share: float | None = None,
) -> Measurement:
    """Covered or occluded: one large part of the view is flat (value: the share of the picture
    in the largest connected region of flat blocks). With a reference picture, only blocks that
    had detail there count, so a plain wall is not a cover; flat blocks scattered over the view
    (a turned camera, a soft picture) are no region. Without one, a flat region clearly darker
    than the rest of the view is held to ``max_dark_share``: what covers a lens is close to it,
    so unlit and out of focus, while a plain wall or the sky is lit like the room."""

    flat = picture.flat_blocks()
    detail = "largest flat region"
    if reference is not None and reference.flat_blocks().shape == flat.shape:
        # a block counts when it lost its detail or, flat before too, went dark while the rest
        # of the view stayed where it was (a dark cover over a plain wall or the sky)
        detailed_before = ~reference.flat_blocks()
        if not detailed_before.any():
            return Measurement(None, max_covered_share, None, "the reference picture is flat")
        flat = flat & (detailed_before | _darkened_in_place(picture, reference))
        detail = "largest region that lost its detail or light since the reference picture"
        max_dark_share = None
    region = _largest_region(flat)
    share = float(np.count_nonzero(region)) / flat.size
    if max_dark_share is not None and share and _darker_than_the_rest(picture, region):
        return _at_most(share, max_dark_share, "largest flat region, darker than the rest")
    return _at_most(share, max_covered_share, detail)


def _largest_region(blocks: np.ndarray) -> np.ndarray:
    """The largest 8-connected region of a boolean block grid (all False when there is none)."""
    import cv2

    count, labels = cv2.connectedComponents(blocks.astype(np.uint8), connectivity=8)
    sizes = np.bincount(labels.ravel(), minlength=count)[1:]
    if not sizes.size:
        return np.zeros_like(blocks, dtype=bool)
    region: np.ndarray = labels == int(np.argmax(sizes)) + 1
    return region


def sharpness_beside_flat_region(picture: Picture) -> float:
    """The Laplacian variance of the view outside its largest flat region: what covers a lens
    leaves the rest of the view as sharp as it was, where a blurred picture is soft
    everywhere."""
    return picture.sharpness(outside=_largest_region(picture.flat_blocks()))


def _darker_than_the_rest(picture: Picture, region: np.ndarray) -> bool:
    """Whether the blocks of ``region`` are at most `COVER_DARKER` as bright as the view's
    blocks with detail (medians; a view without detail has nothing to compare)."""
    means = picture.block_means()
    rest = ~picture.flat_blocks()
    if not rest.any():
        return False
    return _median(means[region]) <= COVER_DARKER * _median(means[rest])


def _darkened_in_place(picture: Picture, reference: Picture) -> np.ndarray:
    """Blocks that went darker than the reference's by `COVER_LEVELS` beyond the whole view's
    change of light — counted only while most blocks that kept their detail still match the
    reference's brightness (the camera still looks where it did: else it was turned)."""
    now, before = picture.block_means(), reference.block_means()
    kept = ~reference.flat_blocks() & ~picture.flat_blocks()
    if np.count_nonzero(kept) < MIN_KEPT_BLOCKS:
        return np.zeros_like(kept)
    gain = (_median(now[kept]) + 1.0) / (_median(before[kept]) + 1.0)
    expected = before * gain
    in_place = np.abs(now - expected) < COVER_LEVELS
    if np.count_nonzero(kept & in_place) < IN_PLACE_SHARE * np.count_nonzero(kept):
        return np.zeros_like(kept)
    darkened: np.ndarray = now <= expected - COVER_LEVELS
    return darkened


def detail_lost(picture: Picture, reference: Picture | None) -> float:
    """The share of the view's detailed blocks (the reference's, or all) that are flat now."""
    flat = picture.flat_blocks()
    if reference is not None and reference.flat_blocks().shape == flat.shape:
        detailed_before = ~reference.flat_blocks()
        total = int(np.count_nonzero(detailed_before))
        return int(np.count_nonzero(flat & detailed_before)) / total if total else 0.0
    return float(np.count_nonzero(flat)) / flat.size


def colour_cast(
    picture: Picture, *, reference: Picture | None, max_shift: float, max_shift_from_grey: float
) -> Measurement:
    """A colour cast: the mean colour's chromaticity moved away from the reference picture's
    or, without one, both the mean colour's and the highlights' from grey (value: the distance,
    without a reference the smaller of the two; 0 = the same hue balance)."""
    if reference is not None:
        value = float(np.linalg.norm(picture.chromaticity() - reference.chromaticity()))
        return _at_most(value, max_shift, "relative to the reference picture")
    value = min(
        float(np.linalg.norm(picture.chromaticity() - 1.0 / 3.0)),
        float(np.linalg.norm(picture.highlight_chromaticity() - 1.0 / 3.0)),
    )
    return _at_most(value, max_shift_from_grey, "mean colour and highlights")


def noisy(picture: Picture, *, max_noise_sigma: float) -> Measurement:
    """Snow: noise σ of native-resolution luma (value: σ in luma levels).

    Immerkær's operator (the difference of two Laplacians) cancels smooth shading and answers
    white noise of σ with 6σ; its median absolute response, unlike its mean, is not carried off
    by the edges and textures of the scene (fewer than half of all pixels)."""
    import cv2

    luma = picture.luma_full
    height, width = luma.shape
    if height >= NOISE_BAND_PERIOD:  # the bands one above the other; their seams are left out
        whole = luma[: height - height % NOISE_BAND_PERIOD].reshape(-1, NOISE_BAND_PERIOD, width)
        bands = np.ascontiguousarray(whole[:, :NOISE_BAND_ROWS, :])
    else:
        bands = luma[np.newaxis]
    # Immerkær's kernel is [1 −2 1]ᵀ[1 −2 1]: OpenCV's separable second-derivative Sobel
    response = cv2.Sobel(bands.reshape(-1, width), cv2.CV_16S, 2, 2, ksize=3)
    inner = response.reshape(bands.shape)[:, 1:-1, 1:-1]
    magnitude = cv2.convertScaleAbs(inner.reshape(-1, width - 2))
    median = _percentile(magnitude, 0.5)  # |r| saturates at 255: the median is far below
    levels = 255 / 219 if picture.video_range else 1.0  # in full-range levels
    return _at_most(median * MAD_TO_SIGMA / 6.0 * levels, max_noise_sigma)


def frozen(
    frames: Sequence[Picture], *, max_changed_ppm: float, min_span_seconds: float
) -> Measurement:
    """Frozen: frames decoded late in a GOP stay identical while the stream's time advances
    (value: the most pixels, per million, that changed by `CHANGED_LEVELS` or more between two
    consecutive frames). A frozen encoder repeats its picture, which decodes bit for bit the
    same; a still room's sensor noise, or a wall clock's hand, changes pixels every time."""
    if len(frames) < 2:
        return Measurement(None, max_changed_ppm, None, "fewer than two frames to compare")
    ordered = sorted(frames, key=lambda p: p.pts_seconds)
    span = ordered[-1].pts_seconds - ordered[0].pts_seconds
    if span < min_span_seconds - 1e-3:  # stream times in µs, compared in float seconds
        return Measurement(
            None, max_changed_ppm, None, f"frames span {span:.1f} s of stream time only"
        )
    import cv2

    most = 0.0
    for before, after in itertools.pairwise(ordered):
        if before.luma_full.shape != after.luma_full.shape:
            return Measurement(None, max_changed_ppm, True, "the picture size changed")
        difference = cv2.absdiff(
            before.luma_full[::FROZEN_ROW_STEP], after.luma_full[::FROZEN_ROW_STEP]
        )
        _, moved = cv2.threshold(difference, CHANGED_LEVELS - 1, 1, cv2.THRESH_BINARY)
        most = max(most, 1e6 * cv2.countNonZero(moved) / difference.size)
    return Measurement(
        most,
        max_changed_ppm,
        most > max_changed_ppm,
        f"{len(ordered)} frames over {span:.1f} s of stream time",
    )


def scene_changed(
    picture: Picture, *, reference: Picture | None, min_similarity: float
) -> Measurement:
    """Turned or moved: the picture's structure no longer matches the reference picture's
    (value: the gradient correlation in place, or when that is too low the best over small
    shifts; 1 = the same view)."""
    if reference is None:
        return Measurement(None, min_similarity, None, "no reference picture yet")
    now, then = picture.structure(), reference.structure()
    dx, dy = round(SCENE_SIZE[0] * SCENE_SHIFT), round(SCENE_SIZE[1] * SCENE_SHIFT)
    template = then[dy:-dy, dx:-dx]
    if _std(template) < 1e-3 or _std(now) < 1e-3:
        return Measurement(0.0, min_similarity, False, "no structure left to compare")
    in_place = _correlation(np.ascontiguousarray(now[dy:-dy, dx:-dx]), template)
    if in_place >= min_similarity:  # the usual case: no need to look around
        return _at_least(in_place, min_similarity)
    import cv2

    scores = cv2.matchTemplate(now, template, cv2.TM_CCOEFF_NORMED)
    return _at_least(max(in_place, float(scores.max())), min_similarity)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised cross-correlation of two float32 images of one size (OpenCV's
    TM_CCOEFF_NORMED at one position): (E[ab] − E[a]E[b]) / (σa σb)."""
    import cv2

    (mean_a,), (std_a,) = cv2.meanStdDev(a)
    (mean_b,), (std_b,) = cv2.meanStdDev(b)
    scale = float(std_a[0]) * float(std_b[0])
    if scale <= 0:
        return 0.0
    product = float(np.dot(a.ravel(), np.ascontiguousarray(b).ravel())) / a.size
    return (product - float(mean_a[0]) * float(mean_b[0])) / scale


def _std(image: np.ndarray) -> float:
    import cv2

    _, std = cv2.meanStdDev(image)
    return float(std[0, 0])


def _median(values: np.ndarray) -> float:
    """The median of a few values (`numpy.median`'s fixed cost is ten times a sort's here)."""
    ordered = np.sort(values, axis=None)
    middle = ordered.size // 2
    if ordered.size % 2:
        return float(ordered[middle])
    return (float(ordered[middle - 1]) + float(ordered[middle])) / 2.0
