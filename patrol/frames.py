"""Pictures and sound for the checks, decoded from what the Hub already holds.

The patrol never opens a second connection to a camera (stations' cameras allow few sessions,
and a check must not disturb recording): it decodes the Hub's current GOP — the last keyframe
and every frame since — and the audio that came with it. The keyframe is the picture judged; two
late frames of the GOP show whether the picture changes while time runs (frozen).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import numpy as np

from ingest.hub import RecentMedia
from ingest.packets import MediaPacket, StreamInfo
from patrol.picture import ANALYSIS_WIDTH, Picture

SILENT_DBFS = -120.0
"""The level reported for digital silence (log of zero)."""
REFINE_SECONDS = 0.3
"""Frozen never compares a frame of the first this many seconds after a keyframe (an encoder
refines a repeated picture there whatever its rate control)."""
SETTLED_SECONDS = 1.5
"""An encoder refining a repeated picture is done by this far into a GOP (measured with x264:
about 1 s at constant quality, 1–1.5 s at a constant bit rate with a quantiser floor), so frozen
is judged on frames from here on when the GOP is long enough."""
GOP_END_MARGIN_SECONDS = 0.2
"""Frozen is judged this long before a GOP's expected end (the next keyframe would start a new,
young GOP)."""
_MICROSECONDS = Fraction(1, 1_000_000)
_PLANAR_8_BIT = frozenset({"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p"})
"""Decoded formats whose first plane is 8-bit luma."""
_JPEG_RANGE = 2
"""libavutil's AVCOL_RANGE_JPEG: full-range levels."""
_NO_COLOUR = np.zeros((1, 1, 3), dtype=np.uint8)
"""The colour of a GOP frame: none (only its luma is compared)."""


@dataclass
class CameraMedia:
    """One camera's latest picture (the GOP's keyframe), the full-size picture for the snapshot,
    frames spread over the GOP (luma only, for frozen), and the level of its recent audio."""

    latest: Picture
    latest_bgr: np.ndarray
    has_audio: bool
    audio_dbfs: float | None
    """RMS level of the decoded audio (None: a track, but no audio in the GOP)."""
    gop: list[Picture]
    """Two decoded frames late in the GOP, chosen by `frozen_frame_indices` (luma only)."""


def decode_recent(media: RecentMedia, *, frozen_span_seconds: float) -> CameraMedia:
    """Decode the GOP and the audio level; raises ValueError if its keyframe does not decode.
    The frozen check gets the GOP's last frame and the one ``frozen_span_seconds`` before it;
    only those and the keyframe are kept (a GOP's every frame would be tens of MB)."""
    video = [p for p in media.gop if p.is_video]
    if not video:
        raise ValueError("no video in the camera's latest GOP")
    shown = sorted(packet.pts_us for packet in video)
    wanted = [shown[i] for i in frozen_frame_indices(shown, frozen_span_seconds)]
    keyframe_packet = video[0]
    frames = _decode_video(media.info, video, keep={keyframe_packet.pts_us, *wanted})
    by_pts = {packet.pts_us: frame for packet, frame in frames}
    keyframe = by_pts.get(keyframe_packet.pts_us)
    if keyframe is None:
        raise ValueError("the latest keyframe did not decode")
    gop = [luma_picture_of(by_pts[pts], pts_seconds=pts / 1e6) for pts in wanted if pts in by_pts]
    audio = [p for p in media.gop if not p.is_video]
    return CameraMedia(
        latest=picture_of(keyframe, pts_seconds=keyframe_packet.pts_us / 1_000_000),
        latest_bgr=keyframe.to_ndarray(format="bgr24"),
        has_audio=media.info.has_audio,
        audio_dbfs=audio_level(media.info, audio) if media.info.has_audio else None,
        gop=gop,
    )


def frozen_frame_indices(pts_us: list[int], span_seconds: float) -> list[int]:
    """Which frames of a GOP (presentation times, keyframe first) the frozen check compares:
    its last frame and the one ``span_seconds`` before it, as late in the GOP as that allows.

    An encoder refines a repeated picture for a while after each keyframe (its first P-frames
    still add detail the keyframe lost); once that is done a frozen picture decodes bit for bit
    the same. So the earlier frame is never one of the first `REFINE_SECONDS`; a GOP too young
    for the whole span gives a shorter one (the checker waits for it to grow)."""
    last = len(pts_us) - 1
    settled = pts_us[0] + int(REFINE_SECONDS * 1_000_000)
    latest_start = pts_us[last] - int(span_seconds * 1_000_000)
    candidates = [i for i, pts in enumerate(pts_us) if settled <= pts <= latest_start]
    if candidates:
        return [candidates[-1], last]
    first = next((i for i, pts in enumerate(pts_us) if pts >= settled), last)
    return sorted({first, last})


def frozen_judging_age(gop_seconds: float | None, frozen_span_seconds: float) -> float:
    """How old a GOP should be when frozen is judged: late enough for the encoder to be done
    refining (`SETTLED_SECONDS` and the span), but before the GOP's expected end; never younger
    than `REFINE_SECONDS` and the span."""
    wanted = SETTLED_SECONDS + frozen_span_seconds
    if gop_seconds is not None:
        wanted = min(wanted, gop_seconds - GOP_END_MARGIN_SECONDS)
    return max(REFINE_SECONDS + frozen_span_seconds, wanted)


def frozen_wait_seconds(media: RecentMedia, frozen_span_seconds: float) -> float:
    """How much longer the Hub's GOP must run before frozen is judged on it (0: now)."""
    video = [packet.pts_us for packet in media.gop if packet.is_video]
    age = (max(video) - video[0]) / 1_000_000 if video else 0.0
    return max(0.0, frozen_judging_age(media.gop_seconds, frozen_span_seconds) - age)


def _decode_video(
    info: StreamInfo, packets: list[MediaPacket], *, keep: set[int]
) -> list[tuple[MediaPacket, Any]]:
    """(packet, frame) of the decoded frames whose presentation time is in ``keep``, in
    presentation order; none when the first packet (the keyframe) does not decode."""
    codec: Any = av.CodecContext.create(info.video_codec, "r")
    codec.thread_count = 1
    extradata = info.decoder_extradata
    if extradata:
        codec.extradata = extradata
    by_pts = {packet.pts_us: packet for packet in packets}
    decoded: list[tuple[MediaPacket, Any]] = []
    any_frame = False
    for packet in [*packets, None]:
        try:
            if packet is None:
                frames = codec.decode(None)
            else:
                raw = av.Packet(bytes(packet.packet))
                raw.pts, raw.dts = packet.pts_us, packet.dts_us
                raw.time_base = _MICROSECONDS
                frames = codec.decode(raw)
        except av.FFmpegError:
            if not any_frame:
                return []  # the keyframe itself is broken
            continue
        for frame in frames:
            any_frame = True
            source = by_pts.get(frame.pts) if frame.pts is not None else None
            if source is not None and source.pts_us in keep:
                decoded.append((source, frame))
    decoded.sort(key=lambda pair: pair[0].pts_us)
    return decoded


def luma_picture_of(frame: Any, *, pts_seconds: float) -> Picture:
    """A GOP frame for the frozen check: its native luma only (no colour is needed)."""
    luma, video_range = luma_plane(frame)
    return Picture(luma, _NO_COLOUR, pts_seconds, video_range=video_range)


def picture_of(frame: Any, *, pts_seconds: float = 0.0) -> Picture:
    """A decoded frame as the checks take it: its planes as decoded (no copy, no conversion:
    the checks scale what they need), or for formats other than 8-bit 4:2:0 its colour at
    analysis size (scaled and converted in one libswscale pass)."""
    luma, video_range = luma_plane(frame)
    if frame.format.name in ("yuv420p", "yuvj420p"):
        chroma = (_plane(frame, 1), _plane(frame, 2))
        return Picture(luma, None, pts_seconds, video_range=video_range, chroma=chroma)
    width, height = frame.width, frame.height
    if width > ANALYSIS_WIDTH:
        height = max(2, round(height * ANALYSIS_WIDTH / width / 2) * 2)
        width = ANALYSIS_WIDTH
    bgr = frame.reformat(width=width, height=height, format="bgr24").to_ndarray()
    return Picture(luma, bgr, pts_seconds, video_range=video_range)


def _plane(frame: Any, index: int) -> np.ndarray:
    """One 8-bit plane of ``frame`` as an array, without a copy."""
    plane = frame.planes[index]
    rows = np.frombuffer(plane, dtype=np.uint8).reshape(-1, plane.line_size)
    return rows[: plane.height, : plane.width]


def luma_plane(frame: Any) -> tuple[np.ndarray, bool]:
    """The frame's luma without a copy (8-bit planar YUV: its first plane) and whether it is in
    video range (16–235: the usual; "yuvj" formats and JPEG-range frames are full range). Other
    formats are converted to full-range grey."""
    name = frame.format.name
    if name not in _PLANAR_8_BIT:
        grey: np.ndarray = frame.to_ndarray(format="gray")
        return grey, False
    full_range = name.startswith("yuvj") or int(frame.color_range) == _JPEG_RANGE
    return _plane(frame, 0), not full_range


def audio_level(info: StreamInfo, packets: list[MediaPacket]) -> float | None:
    """RMS level in dBFS of the decoded audio packets (None when there are none)."""
    if info.audio_codec is None or not packets:
        return None
    codec: Any = av.CodecContext.create(info.audio_codec, "r")
    if info.audio_extradata:
        codec.extradata = info.audio_extradata
    if info.audio_sample_rate:
        codec.sample_rate = info.audio_sample_rate
    if info.audio_channels:
        codec.layout = "mono" if info.audio_channels == 1 else "stereo"
    squares, count = 0.0, 0
    for packet in packets:
        try:
            frames = codec.decode(av.Packet(bytes(packet.packet)))
        except av.FFmpegError:
            continue
        for frame in frames:
            samples = _normalised(frame)
            squares += float(np.square(samples, dtype=np.float64).sum())
            count += samples.size
    if count == 0:
        return None
    rms = math.sqrt(squares / count)
    return 20 * math.log10(rms) if rms > 0 else SILENT_DBFS


def _normalised(frame: Any) -> np.ndarray:
    samples: np.ndarray = np.asarray(frame.to_ndarray(), dtype=np.float64)
    name = frame.format.name
    if name.startswith("s16"):
        return samples / 32768.0
    if name.startswith("s32"):
        return samples / 2147483648.0
    if name.startswith("u8"):
        return (samples - 128.0) / 128.0
    return samples
