"""Recorded playback: one fragmented MP4 (stream copy, no re-encode) of a camera from a wall time.

A request names a camera and a wall-clock ``start`` (and an ``end``). The footage is cut into
**pieces**: stretches of present segments of one recording run with the same stream parameters
and no hole between them. The stream

* begins at the **keyframe at or before** ``start`` in the one segment that contains it (found by
  a PyAV seek on that file: a few milliseconds), so the picture is complete from the first frame
  and the time to first byte does not depend on how much footage follows; when ``start`` lies in
  a gap it begins at the next piece instead;
* covers that piece up to ``end`` and **stops at the first gap** (or where the catalogued footage
  ends): the client learns from ``Plan`` (the API puts it in headers) where the stream starts,
  where it stops, the gap with its cause, and where the next piece begins, and asks for that
  piece itself. One stream never spans a hole, so media time maps to wall time by one offset:
  ``wall = Plan.start_us + media_time``.

This module plans a stream (the pieces, where it starts and stops, the first file's keyframe);
``playback.stream`` runs it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from ingest.clock import isoformat_us
from recorder.coverage import TOLERANCE_US, Gap, GapCause
from recorder.footage import Footage
from recorder.models import Segment, SegmentStatus, StreamFormat

US = 1_000_000
DEFAULT_SPAN_US = 10 * 60 * US
"""A request without ``end`` streams at most this much."""
MAX_SPAN_US = 3_600 * US
"""The longest ``end - start`` a request may ask for."""


# -- pieces ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlaySegment:
    """A present segment file as playback uses it."""

    id: int
    path: Path
    start_us: int
    end_us: int


@dataclass(frozen=True, slots=True)
class Piece:
    """Footage that plays as one stream: contiguous present segments of one run and format."""

    start_us: int
    end_us: int
    segments: tuple[PlaySegment, ...]


def _format(segment: Segment) -> tuple[str, StreamFormat]:
    return segment.run_id, segment.stream_format


def pieces_of(segments: Sequence[Segment], root: Path, *, check_files: bool = False) -> list[Piece]:
    """Split a camera's segments (time order) into playable pieces. Deleted and lost segments,
    and with ``check_files`` segments whose file is missing, are holes."""
    pieces: list[Piece] = []
    current: list[PlaySegment] = []
    last_format: tuple[str, StreamFormat] | None = None

    def flush() -> None:
        if current:
            pieces.append(Piece(current[0].start_us, current[-1].end_us, tuple(current)))
            current.clear()

    for segment in segments:
        path = root / segment.path
        if segment.status != SegmentStatus.OK.value or (check_files and not path.is_file()):
            flush()
            last_format = None
            continue
        fmt = _format(segment)
        if current and (fmt != last_format or segment.start_us - current[-1].end_us > TOLERANCE_US):
            flush()
        current.append(PlaySegment(segment.id, path, segment.start_us, segment.end_us))
        last_format = fmt
    flush()
    return pieces


# -- the plan of one stream ------------------------------------------------------------------------


@dataclass(frozen=True)
class MediaInfo:
    """What the first file of a stream says: the keyframe, the codecs (RFC 6381), the rate."""

    keyframe_offset: Fraction
    """Seconds from the start of the file to the keyframe at or before the wanted instant."""
    codecs: str
    fps: float


@dataclass(frozen=True)
class Plan:
    """One stream: where it starts and stops, and what follows it."""

    camera_id: str
    requested_start_us: int
    requested_end_us: int
    start_us: int
    """Wall time of the first frame (media time 0)."""
    end_us: int
    """Wall time where the stream stops (exclusive)."""
    segments: tuple[PlaySegment, ...]
    inpoint: Fraction
    """Seconds into the first segment where the stream starts (its keyframe)."""
    codecs: str
    fps: float
    stop_gap: Gap | None = None
    """The gap the stream stops at, when it stops before ``requested_end_us`` for one."""
    next_us: int | None = None
    """Start of the next footage after the stream, if before ``requested_end_us``."""
    skipped_gaps: tuple[Gap, ...] = ()
    """When ``requested_start_us`` lay in a gap: the gaps up to where the stream starts."""
    transcode: bool = False
    """The video is H.265 turned into H.264 on its way (a browser that cannot decode H.265)."""
    video: str = "recorded"
    """What the video is: ``recorded`` (as recorded), ``h264-now`` (made on the way) or
    ``h264-kept`` (renditions made before, ``playback.renditions``)."""

    @property
    def hevc(self) -> bool:
        return self.codecs.startswith(("hvc1", "hev1"))

    @property
    def stop_reason(self) -> str:
        """Why the stream stops at ``end_us``: ``end`` (the requested end), ``gap`` (see
        ``stop_gap``), ``discontinuity`` (footage goes on at ``next_us`` without a hole, in a new
        recording run or format) or ``recorded_end`` (nothing later is catalogued yet: the segment
        being written becomes playable once it is closed)."""
        if self.end_us >= self.requested_end_us:
            return "end"
        if self.stop_gap is not None:
            return "gap"
        return "discontinuity" if self.next_us is not None else "recorded_end"

    def headers(self) -> dict[str, str]:
        """The HTTP headers that tell a player what it receives."""
        result = {
            "X-Playback-Start": isoformat_us(self.start_us),
            "X-Playback-End": isoformat_us(self.end_us),
            "X-Playback-Codecs": self.codecs,
            "X-Playback-Fps": f"{self.fps:g}",
            "X-Playback-Stop": self.stop_reason,
            "X-Playback-Video": self.video,
        }
        if self.next_us is not None:
            result["X-Playback-Next"] = isoformat_us(self.next_us)
        if self.stop_gap is not None:
            result["X-Playback-Gap"] = gap_text(self.stop_gap)
        if self.skipped_gaps:
            result["X-Playback-Skipped-Gap"] = ", ".join(gap_text(g) for g in self.skipped_gaps)
        return result


def gap_text(gap: Gap) -> str:
    """``START/END CAUSE`` (ISO 8601 interval), for a header."""
    return f"{isoformat_us(gap.start_us)}/{isoformat_us(gap.end_us)} {gap.cause.value}"


class NoFootage(Exception):
    """Nothing playable in the requested range; ``gaps`` say why."""

    def __init__(self, message: str, gaps: Sequence[Gap]) -> None:
        super().__init__(message)
        self.message = message
        self.gaps = list(gaps)


class MediaError(Exception):
    """A segment file could not be read."""


def describe_gaps(gaps: Sequence[Gap], limit: int = 3) -> str:
    parts = [
        f"{gap.cause.value} from {isoformat_us(gap.start_us)} to {isoformat_us(gap.end_us)}"
        for gap in gaps[:limit]
    ]
    if len(gaps) > limit:
        parts.append(f"and {len(gaps) - limit} more gaps")
    return "; ".join(parts)


def _gap_at(gaps: Sequence[Gap], instant_us: int) -> Gap | None:
    for gap in gaps:
        if gap.start_us - TOLERANCE_US <= instant_us < gap.end_us:
            return gap
    return None


def plan_playback(
    footage: Footage,
    root: Path,
    *,
    start_us: int,
    end_us: int,
    now_us: int,
) -> Plan:
    """The stream of ``footage.camera_id`` for [start_us, end_us); raises ``NoFootage``.

    ``footage`` must cover at least [start_us, end_us). Reads the first segment's file (PyAV)."""
    pieces = pieces_of(footage.segments, root, check_files=True)
    gaps = footage.coverage.gaps
    chosen: Piece | None = None
    for piece in pieces:
        if piece.end_us > start_us and piece.start_us < end_us:
            chosen = piece
            break
    if chosen is None:
        raise NoFootage(_no_footage_message(footage, start_us, end_us, now_us), gaps)
    skipped: tuple[Gap, ...] = ()
    if chosen.start_us > start_us:
        skipped = tuple(
            g for g in gaps if g.end_us > start_us and g.start_us < chosen.start_us
        ) or (Gap(start_us, chosen.start_us, GapCause.FOOTAGE_LOST),)
    first_index = 0
    for index, segment in enumerate(chosen.segments):
        if segment.end_us > start_us:
            first_index = index
            break
    first = chosen.segments[first_index]
    offset_us = max(0, start_us - first.start_us)
    info = probe_start(first.path, offset_us)
    stop_us = min(end_us, chosen.end_us)
    used = tuple(s for s in chosen.segments[first_index:] if s.start_us < stop_us)
    stream_start_us = first.start_us + _us(info.keyframe_offset)
    stop_gap = next_us = None
    if chosen.end_us < end_us:
        stop_gap = _gap_at(gaps, chosen.end_us)
        following = [p for p in pieces if p.start_us >= chosen.end_us and p.start_us < end_us]
        if following:
            next_us = following[0].start_us
            if stop_gap is None and next_us - chosen.end_us > TOLERANCE_US:
                stop_gap = Gap(chosen.end_us, next_us, GapCause.FOOTAGE_LOST)
    return Plan(
        camera_id=footage.camera_id,
        requested_start_us=start_us,
        requested_end_us=end_us,
        start_us=stream_start_us,
        end_us=stop_us,
        segments=used,
        inpoint=info.keyframe_offset,
        codecs=info.codecs,
        fps=info.fps,
        stop_gap=stop_gap,
        next_us=next_us,
        skipped_gaps=skipped,
    )


def _no_footage_message(footage: Footage, start_us: int, end_us: int, now_us: int) -> str:
    what = (
        f"no recorded footage of camera {footage.camera_id!r} "
        f"from {isoformat_us(start_us)} to {isoformat_us(end_us)}"
    )
    if start_us >= now_us:
        return f"{what}: start is in the future"
    live = footage.live_span
    if live is not None and live[0] <= start_us + TOLERANCE_US:
        return (
            f"{what}: the segment from {isoformat_us(live[0])} is still being written; it can be "
            "played once it is closed"
        )
    gaps = footage.coverage.gaps
    if gaps:
        return f"{what}: {describe_gaps(gaps)}"
    return f"{what}: {GapCause.FOOTAGE_LOST.value} (segment files missing)"


def _us(seconds: Fraction) -> int:
    return round(seconds * US)


# -- reading the first file ------------------------------------------------------------------------


def probe_start(path: Path, offset_us: int) -> MediaInfo:
    """Keyframe at or before ``offset_us`` into the file, codecs and frame rate (PyAV, no decode).

    Segments start with a keyframe, so a failed seek falls back to the file's start."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise MediaError(f"{path.name}: no video stream")
            video = container.streams.video[0]
            audio = container.streams.audio[0] if container.streams.audio else None
            codecs = ",".join(
                c for c in (_video_codec(video), _audio_codec(audio) if audio else None) if c
            )
            rate = video.average_rate or video.guessed_rate
            fps = float(rate) if rate else 25.0
            keyframe = Fraction(0)
            time_base = video.time_base
            if offset_us > 0 and time_base is not None:
                target = int(Fraction(offset_us, US) / time_base)
                with contextlib.suppress(av.FFmpegError):
                    container.seek(target, stream=video, backward=True, any_frame=False)
                    for packet in container.demux(video):
                        if packet.pts is None:
                            continue
                        if packet.is_keyframe:
                            keyframe = max(Fraction(0), Fraction(packet.pts) * time_base)
                        break
                if keyframe * US > offset_us:  # seek overshot: play from the file's start
                    keyframe = Fraction(0)
            return MediaInfo(keyframe, codecs, round(fps, 3))
    except av.FFmpegError as error:
        raise MediaError(f"{path.name}: {error}") from None


def _video_codec(stream: av.video.stream.VideoStream) -> str:
    ctx = stream.codec_context
    extradata = bytes(ctx.extradata or b"")
    if ctx.name == "h264":
        if len(extradata) >= 4 and extradata[0] == 1:
            return f"avc1.{extradata[1:4].hex()}"
        return "avc1.640028"
    if ctx.name in ("hevc", "h265"):
        return "hvc1.1.6.L120.90"
    return str(ctx.name)


def _audio_codec(stream: av.audio.stream.AudioStream) -> str | None:
    name = stream.codec_context.name
    if name == "aac":
        profile = (stream.codec_context.profile or "").upper()
        return "mp4a.40.5" if "HE" in profile else "mp4a.40.2"
    if name == "opus":
        return "opus"
    if name == "mp3":
        return "mp4a.6B"
    if name == "flac":  # G.711 stored without loss
        return "flac"
    return None  # anything else: the video still plays
