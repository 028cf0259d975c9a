"""Running a playback plan: ffmpeg processes, started ahead of time, that turn a piece's segment
files into one fragmented MP4 on stdout.

ffmpeg (command built with ffmpeg-python) reads an ffconcat list from its stdin: the segment
files of the piece from the one containing the start, each with ``outpoint`` and ``duration``
equal to its catalog duration (so concatenated time equals wall time and the few audio packets a
segment carries past its end do not run back in time into the next), the first one with
``inpoint`` at the keyframe. ``-copyts`` with ``-avoid_negative_ts disabled`` keeps the keyframe
at media time 0; the muxer writes ``frag_keyframe+empty_moov+default_base_moof`` fragments to
stdout, a form both ``<video src>`` and Media Source Extensions play while it streams. The
concat demuxer opens the next file only when the previous one ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

import ffmpeg

from ingest.clock import isoformat_us
from playback.index import US, MediaError, Plan

logger = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024
FRAGMENT_FLAGS = "frag_keyframe+empty_moov+default_base_moof"


def _seconds(value: Fraction) -> str:
    """Seconds for ffconcat, rounded *up* to the microsecond: an ``inpoint`` a hair before the
    keyframe would make the demuxer seek to the keyframe before it."""
    micro = math.ceil(value * US)
    return f"{micro // US}.{micro % US:06d}"


def concat_script(plan: Plan) -> str:
    """The ffconcat list of a plan (paths as ``file:`` URLs: the list itself comes from a pipe)."""
    lines = ["ffconcat version 1.0"]
    last = len(plan.segments) - 1
    for index, segment in enumerate(plan.segments):
        quoted = str(segment.path).replace("'", "'\\''")
        lines.append(f"file 'file:{quoted}'")
        inpoint = plan.inpoint if index == 0 else Fraction(0)
        outpoint = Fraction(segment.end_us - segment.start_us, US)
        if index == last:
            outpoint = min(outpoint, Fraction(plan.end_us - segment.start_us, US))
        if inpoint > 0:
            lines.append(f"inpoint {_seconds(inpoint)}")
        lines.append(f"outpoint {_seconds(outpoint)}")
        lines.append(f"duration {_seconds(max(Fraction(0), outpoint - inpoint))}")
    return "\n".join(lines) + "\n"


H264_RENDITION = {
    "c:v": "libx264",
    "preset": "veryfast",
    "crf": 23,
    "profile:v": "high",
    "level:v": "4.1",
    "pix_fmt": "yuv420p",
    "force_key_frames": "source",  # keyframes where the camera's are: seeks land alike
    "fps_mode": "passthrough",  # every frame at its own time, none added or dropped
}
"""How H.265 footage is turned into H.264 for a browser that cannot decode H.265 (review)."""
H264_RENDITION_CODEC = "avc1.640029"


def command(executable: str = "ffmpeg", *, transcode: bool = False) -> list[str]:
    """ffmpeg reading an ffconcat list on stdin, writing fragmented MP4 on stdout: stream copy,
    or with ``transcode`` the video as H.264 (``H264_RENDITION``) and the audio copied."""
    coding: dict[str, Any] = {"c:v": "copy", "c:a": "copy"}
    if transcode:
        coding = {**H264_RENDITION, "c:a": "copy"}
    stream = ffmpeg.input("pipe:0", f="concat", safe=0, protocol_whitelist="file,pipe").output(
        "pipe:1",
        f="mp4",
        map="0",
        dn=None,
        sn=None,
        avoid_negative_ts="disabled",
        movflags=FRAGMENT_FLAGS,
        flush_packets=1,
        strict="experimental",  # FLAC in MP4 (G.711 stored without loss), for ffmpeg 5
        **coding,
    )
    args: list[str] = stream.compile(cmd=executable)
    args[1:1] = ["-nostdin", "-hide_banner", "-v", "error", "-copyts"]
    return args


@dataclass(eq=False)
class PlaybackStream:
    """A running ffmpeg: iterate for the MP4 bytes; ``close()`` kills it (idempotent)."""

    plan: Plan
    process: asyncio.subprocess.Process
    stderr: bytearray = field(default_factory=bytearray)
    bytes_sent: int = 0
    _stderr_task: asyncio.Task[None] | None = None
    _closed: bool = False

    async def chunks(self) -> AsyncIterator[bytes]:
        """The stream's bytes as ffmpeg writes them (ends with ffmpeg; then ``close``)."""
        stdout = self.process.stdout
        assert stdout is not None
        try:
            while True:
                chunk = await stdout.read(CHUNK_BYTES)
                if not chunk:
                    break
                self.bytes_sent += len(chunk)
                yield chunk
        finally:
            await self.close()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        process = self.process
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        code = await process.wait()
        if self._stderr_task is not None:
            with contextlib.suppress(Exception):
                await self._stderr_task
        if code not in (0, -9) and self.stderr:
            logger.warning(
                "playback of %s from %s: ffmpeg exited %s: %s",
                self.plan.camera_id,
                isoformat_us(self.plan.start_us),
                code,
                self.stderr.decode("utf-8", "replace").strip()[-500:],
            )

    async def _drain_stderr(self) -> None:
        stderr = self.process.stderr
        assert stderr is not None
        while chunk := await stderr.read(4096):
            if len(self.stderr) < 16_384:
                self.stderr += chunk


class WarmPool:
    """ffmpeg processes started ahead of time, waiting for their ffconcat list on stdin.

    The command line is the same for every stream (the list carries everything that differs), so
    a process can be started before a request exists: it loads its libraries, parses its options
    and blocks reading stdin. Starting ffmpeg costs tens of milliseconds on an idle host and
    several hundred on a busy one; taken from the pool, a stream only pays for writing its list.
    Used processes are replaced shortly after (not at once: the new ones would compete for CPU
    with the stream that is starting). Bound to the event loop that first uses it.
    """

    def __init__(self, size: int = 3, *, executable: str = "ffmpeg", refill_delay: float = 0.5):
        self.size = size
        self.executable = executable
        self.refill_delay = refill_delay
        self._idle: list[asyncio.subprocess.Process] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._refill_task: asyncio.Task[None] | None = None

    async def spawn(self, *, transcode: bool = False) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            *command(self.executable, transcode=transcode),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )

    async def take(self) -> asyncio.subprocess.Process:
        """An ffmpeg waiting for its list (a fresh one when none is ready)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self.discard()
            self._loop = loop
        process = None
        while self._idle:
            candidate = self._idle.pop()
            if candidate.returncode is None:
                process = candidate
                break
        self._schedule_refill()
        return process if process is not None else await self.spawn()

    def warm(self) -> None:
        """Fill the pool now (e.g. when a player is about to ask; event loop)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self.discard()
            self._loop = loop
        self._schedule_refill(delay=0.0)

    def _schedule_refill(self, delay: float | None = None) -> None:
        if self.size > 0 and (self._refill_task is None or self._refill_task.done()):
            wait = self.refill_delay if delay is None else delay
            self._refill_task = asyncio.create_task(self._refill(wait))

    async def _refill(self, delay: float) -> None:
        await asyncio.sleep(delay)
        while len(self._idle) < self.size:
            try:
                self._idle.append(await self.spawn())
            except OSError as error:
                logger.warning("cannot start ffmpeg for playback: %s", error)
                return

    def discard(self) -> None:
        """Kill the idle processes (e.g. when the event loop changed)."""
        for process in self._idle:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        self._idle.clear()
        if self._refill_task is not None:
            self._refill_task.cancel()
            self._refill_task = None

    def idle_count(self) -> int:
        return sum(1 for p in self._idle if p.returncode is None)


POOL = WarmPool()
"""The node's pool of waiting ffmpeg processes."""


def h264_codecs(plan: Plan) -> str:
    """``plan``'s codecs (RFC 6381) with its video as the H.264 rendition, its audio as it is."""
    return ",".join([H264_RENDITION_CODEC, *plan.codecs.split(",")[1:]])


def as_h264(plan: Plan) -> Plan:
    """``plan`` for a browser that cannot decode H.265: its video made H.264 on the way (the
    recording itself is untouched); other plans as they are."""
    if not plan.hevc:
        return plan
    return replace(plan, transcode=True, codecs=h264_codecs(plan), video="h264-now")


async def start_stream(plan: Plan, *, pool: WarmPool | None = None) -> PlaybackStream:
    """Hand ``plan``'s list to a waiting ffmpeg and return its stream (event loop)."""
    pool = pool or POOL
    script = concat_script(plan).encode("utf-8")
    for attempt in range(2):
        if plan.transcode:  # rare: not worth a waiting process of its own
            process = await pool.spawn(transcode=True)
        else:
            process = await pool.take() if attempt == 0 else await pool.spawn()
        stream = PlaybackStream(plan, process)
        stream._stderr_task = asyncio.create_task(stream._drain_stderr())
        assert process.stdin is not None
        try:
            process.stdin.write(script)
            await process.stdin.drain()
            process.stdin.close()
        except (BrokenPipeError, ConnectionResetError):
            await stream.close()  # a waiting process that died: start a fresh one
            continue
        return stream
    raise MediaError(f"ffmpeg ended at once: {stream.stderr.decode('utf-8', 'replace').strip()}")
