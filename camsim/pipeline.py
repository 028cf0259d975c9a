"""The GStreamer graph of one media: a looped MPEG-TS file, demuxed, variant-switched, payloaded.

```
filesrc ! tsdemux ─ video PIDs ─► input-selector ! queue ! h264parse ! identity ! rtph264pay
                  └ audio PIDs ─► input-selector ! queue ! aacparse  ! identity ! rtpmp4gpay
```
An H.265 mount has h265parse ! … ! rtph265pay instead. A G.711 mount decodes the loop's AAC and
encodes G.711 live (the loop file stays the one AAC file every mount shares):
`aacparse ! faad ! audioconvert ! audioresample ! 8 kHz mono S16 ! audiobuffersplit ! alawenc
! identity ! rtppcmapay` (mulawenc / rtppcmupay for μ-law), with packets of exactly
`G711_PTIME_MS`.

Looping: tsdemux rejects segment seeks, so when every linked demuxer pad reaches EOS the EOS is
dropped, all demuxer pads get their running-time offset advanced by one loop length and the
demuxer is sent a flushing seek to 0 whose flush events are dropped too. Downstream never sees
EOS or a flush, and timestamps keep increasing across the loop point. Audio buffers outside
[segment start, segment start + loop) (the AAC priming frame and the tail past the loop) are
dropped so audio stays monotonic as well.

Variant switching: all variants share GOP structure and timestamps, so a switch is armed with
buffer probes on the current and the target demuxer pad and happens at the first keyframe
(video) or frame (audio) seen on either of them; whichever order tsdemux pushes the two streams
in, no timestamp is sent twice and the new video starts with an IDR. With B-frames buffers come
in decode order; the GOPs are closed, so cutting at a keyframe leaves no frame without its
reference on either side.

Stalls: a buffer probe after each payloader drops everything while `stalled` is set; an
`identity sync=true` before it keeps the graph paced by the clock meanwhile, so what follows a
stall is live, not media that raced ahead while nothing reached the sinks.

Threads: the constructor and `close` run on an RTSP client's thread, `set_video` / `set_audio` /
`set_stalled` on the GLib main loop thread; probes run on tsdemux's streaming thread; the re-seek
is scheduled onto the main loop. Switch requests and probes share `_lock`.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import h264, h265
from ._gi import GLib, Gst
from .spec import (
    AUDIO_PIDS,
    G711_PTIME_MS,
    G711_SAMPLE_RATE,
    VIDEO_PIDS,
    AudioCodec,
    AudioMode,
    VideoCodec,
    VideoMode,
    video_modes,
)

logger = logging.getLogger(__name__)

QUEUE_MAX_TIME_NS = 500_000_000
"""How far the demuxer may run ahead of the clock; bounds the delay of a variant switch."""
KEYFRAME_SCAN_BYTES = 4096


def _make(factory: str, name: str | None = None, **props: Any) -> Any:
    element = Gst.ElementFactory.make(factory, name)
    if element is None:
        raise RuntimeError(f"GStreamer element {factory!r} is not available")
    for key, value in props.items():
        element.set_property(key.replace("_", "-"), value)
    return element


def _queue() -> Any:
    """A queue bounded only by time: it absorbs the TS interleave and bounds the read-ahead."""
    return _make("queue", max_size_buffers=0, max_size_bytes=0, max_size_time=QUEUE_MAX_TIME_NS)


def _video_tail(codec: VideoCodec) -> list[Any]:
    """Parser, pacing and payloader of the video branch.

    config-interval -1 repeats the parameter sets (SPS/PPS, and VPS for H.265) in band before
    every keyframe, so a client may join at any GOP and a resized variant takes effect.
    """
    if codec is VideoCodec.H264:
        parse, pay = _make("h264parse"), _make("rtph264pay", "pay0", pt=96, config_interval=-1)
    else:
        parse, pay = _make("h265parse"), _make("rtph265pay", "pay0", pt=96, config_interval=-1)
    return [parse, _make("identity", sync=True), pay]


def _audio_tail(codec: AudioCodec) -> list[Any]:
    """Parser (and for G.711 the live transcode), pacing and payloader of the audio branch."""
    if codec is AudioCodec.AAC:
        return [
            _make("aacparse"),
            _make("identity", sync=True),
            _make("rtpmp4gpay", "pay1", pt=codec.payload_type),
        ]
    caps = Gst.Caps.from_string(
        f"audio/x-raw,format=S16LE,rate={G711_SAMPLE_RATE},channels=1,layout=interleaved"
    )
    alaw = codec is AudioCodec.PCMA
    ptime_ns = G711_PTIME_MS * 1_000_000
    split = _make(
        "audiobuffersplit", strict_buffer_size=True, gapless=True, max_silence_time=1_000_000_000
    )
    # A GstFraction property: PyGObject without gst-python's overrides cannot build one.
    Gst.util_set_object_arg(split, "output-buffer-duration", f"{G711_PTIME_MS}/1000")
    return [
        _make("aacparse"),
        _make("faad"),
        _make("audioconvert"),
        _make("audioresample"),
        _make("capsfilter", caps=caps),
        # Whole packets before the payloader, and one gapless stream across loop points.
        # Decoded AAC frames are 1024 samples (21.3 ms at 48 kHz): rtppcmapay would keep a
        # remainder in its adapter, flush it at the loop point's DISCONT after the new segment
        # went downstream, and its old timestamp would then lie a loop length ahead: the sink
        # waits a whole loop for it and the audio stops. Cut into 20 ms buffers here, each
        # passes the payloader unbuffered. Gapless, the splitter fills the ~32 ms faad loses
        # at each loop point (it restarts on the DISCONT) with silence and drops overlaps, and
        # sends neither DISCONT nor the new segment on: the RTP timestamps, which count
        # samples, stay continuous and in step with the clock.
        split,
        _make("alawenc" if alaw else "mulawenc"),
        _make("identity", sync=True),
        # Equal min and max ptime: fixed 20 ms packets, as cameras send.
        _make(
            "rtppcmapay" if alaw else "rtppcmupay",
            "pay1",
            pt=codec.payload_type,
            min_ptime=ptime_ns,
            max_ptime=ptime_ns,
        ),
    ]


@dataclass
class _Selector:
    """An input-selector and the bookkeeping to switch it cleanly between variants."""

    element: Any
    is_keyframe: Callable[[bytes], bool] | None
    """For video: whether a buffer starts a GOP (a switch waits for one); None: any buffer."""
    active: str
    sink_pads: dict[str, Any] = field(default_factory=dict)
    demux_pads: dict[str, Any] = field(default_factory=dict)
    pending: str | None = None
    probes: list[tuple[Any, int]] = field(default_factory=list)


class LoopPipeline:
    """The element graph of one GstRTSPMedia of a mount, with looping and variant switching."""

    def __init__(
        self,
        name: str,
        path: Path,
        *,
        loop_ns: int,
        video: VideoMode,
        audio: AudioMode | None,
        video_codec: VideoCodec = VideoCodec.H264,
        audio_codec: AudioCodec = AudioCodec.AAC,
        picture_faults: bool = False,
    ) -> None:
        self.name = name
        self._loop_ns = loop_ns
        self._lock = threading.Lock()
        self._closed = False
        self._loops = 0
        self._relooping = False
        self._linked: list[Any] = []
        self._eos: set[str] = set()
        self._segment_start: dict[str, int] = {}

        self.bin: Any = Gst.Bin.new(name)
        src = _make("filesrc", location=str(path))
        self._demux = _make("tsdemux")
        self._video = _Selector(
            element=_make("input-selector", sync_streams=False),
            is_keyframe=h264.is_keyframe if video_codec is VideoCodec.H264 else h265.is_keyframe,
            active=video.value,
        )
        chains = [[self._video.element, _queue(), *_video_tail(video_codec)]]
        self._audio: _Selector | None = None
        if audio is not None:
            self._audio = _Selector(
                element=_make("input-selector", sync_streams=False),
                is_keyframe=None,
                active=audio.value,
            )
            chains.append([self._audio.element, _queue(), *_audio_tail(audio_codec)])
        elements = [src, self._demux] + [element for chain in chains for element in chain]
        for element in elements:
            self.bin.add(element)
        src.link(self._demux)
        for chain in chains:
            for upstream, downstream in itertools.pairwise(chain):
                if not upstream.link(downstream):
                    raise RuntimeError(
                        f"cannot link {upstream.get_name()} to {downstream.get_name()}"
                    )
            payloader = chain[-1]
            payloader.get_static_pad("src").add_probe(
                Gst.PadProbeType.QUERY_UPSTREAM, self._on_query
            )
            payloader.get_static_pad("src").add_probe(
                Gst.PadProbeType.BUFFER | Gst.PadProbeType.BUFFER_LIST, self._on_payload_buffer
            )
        self.stalled = False
        """While set, no media leaves the pipeline; the RTSP session stays up (a stalled camera)."""

        self._pid_map: dict[int, tuple[_Selector, str]] = {}
        for mode in video_modes(picture_faults=picture_faults):
            self._add_variant(self._video, mode.value, VIDEO_PIDS[mode])
        if self._audio is not None:
            for amode, pid in AUDIO_PIDS.items():
                self._add_variant(self._audio, amode.value, pid)
        self._demux.connect("pad-added", self._on_pad_added)

    def _add_variant(self, selector: _Selector, mode: str, pid: int) -> None:
        pad = selector.element.request_pad_simple("sink_%u")
        selector.sink_pads[mode] = pad
        self._pid_map[pid] = (selector, mode)
        if mode == selector.active:
            selector.element.set_property("active-pad", pad)

    # -- control (main loop thread) -------------------------------------------------------

    def set_video(self, mode: VideoMode) -> None:
        """Switch the video variant at the next keyframe."""
        self._request_switch(self._video, mode.value)

    def set_audio(self, mode: AudioMode) -> None:
        """Switch the audio variant at the next frame (no-op without audio)."""
        if self._audio is not None:
            self._request_switch(self._audio, mode.value)

    def set_stalled(self, stalled: bool) -> None:
        """Stop (or resume) sending media while the connection stays up; media resumes where
        the clock is, mid-GOP, as a camera's does after a stall."""
        self.stalled = stalled

    def close(self) -> None:
        """Stop looping; called when the media is unprepared."""
        with self._lock:
            self._closed = True
            for selector in (self._video, self._audio):
                if selector is not None:
                    self._disarm(selector)

    def _request_switch(self, selector: _Selector, mode: str) -> None:
        with self._lock:
            self._disarm(selector)
            if mode == selector.active or self._closed:
                return
            current = selector.demux_pads.get(selector.active)
            target = selector.demux_pads.get(mode)
            if current is None or target is None:
                # Nothing flows yet: switch right away, the stream starts at a keyframe.
                selector.active = mode
                selector.element.set_property("active-pad", selector.sink_pads[mode])
                return
            selector.pending = mode
            for pad in (current, target):
                probe_id = pad.add_probe(Gst.PadProbeType.BUFFER, self._on_switch_buffer, selector)
                selector.probes.append((pad, probe_id))

    def _disarm(self, selector: _Selector) -> None:
        """Remove pending switch probes (caller holds the lock)."""
        for pad, probe_id in selector.probes:
            pad.remove_probe(probe_id)
        selector.probes.clear()
        selector.pending = None

    # -- streaming thread -------------------------------------------------------------------

    def _on_pad_added(self, _demux: Any, pad: Any) -> None:
        name = pad.get_name()
        try:
            pid = int(name.rsplit("_", 1)[1], 16)
        except (IndexError, ValueError):
            return
        target = self._pid_map.get(pid)
        if target is None:
            return
        selector, mode = target
        if pad.link(selector.sink_pads[mode]) != Gst.PadLinkReturn.OK:
            logger.warning("%s: cannot link %s", self.name, name)
            return
        with self._lock:
            selector.demux_pads[mode] = pad
            self._linked.append(pad)
            pad.set_offset(self._loops * self._loop_ns)
        mask = Gst.PadProbeType.EVENT_DOWNSTREAM | Gst.PadProbeType.EVENT_FLUSH
        pad.add_probe(mask, self._on_demux_event)
        if selector is self._audio:
            pad.add_probe(Gst.PadProbeType.BUFFER, self._on_audio_buffer)

    def _on_payload_buffer(self, _pad: Any, _info: Any) -> Any:
        return Gst.PadProbeReturn.DROP if self.stalled else Gst.PadProbeReturn.OK

    def _on_demux_event(self, pad: Any, info: Any) -> Any:
        event = info.get_event()
        etype = event.type
        if etype == Gst.EventType.SEGMENT:
            self._segment_start[pad.get_name()] = event.parse_segment().start
        elif etype == Gst.EventType.EOS:
            with self._lock:
                self._eos.add(pad.get_name())
                done = len(self._eos) >= len(self._linked) and not self._closed
                if done:
                    self._eos.clear()
            if done:
                GLib.idle_add(self._reloop)
            return Gst.PadProbeReturn.DROP
        elif etype in (Gst.EventType.FLUSH_START, Gst.EventType.FLUSH_STOP) and self._relooping:
            return Gst.PadProbeReturn.DROP
        return Gst.PadProbeReturn.OK

    def _on_audio_buffer(self, pad: Any, info: Any) -> Any:
        start = self._segment_start.get(pad.get_name())
        pts = info.get_buffer().pts
        if start is None or pts == Gst.CLOCK_TIME_NONE:
            return Gst.PadProbeReturn.OK
        if pts < start or pts >= start + self._loop_ns:
            return Gst.PadProbeReturn.DROP
        return Gst.PadProbeReturn.OK

    def _on_switch_buffer(self, _pad: Any, info: Any, selector: _Selector) -> Any:
        if selector.is_keyframe is not None:
            buffer = info.get_buffer()
            head = buffer.extract_dup(0, min(buffer.get_size(), KEYFRAME_SCAN_BYTES))
            if not selector.is_keyframe(head):
                return Gst.PadProbeReturn.OK
        with self._lock:
            mode = selector.pending
            if mode is None:
                return Gst.PadProbeReturn.OK
            # Switch before this buffer reaches the selector: an old-variant buffer is then
            # dropped as inactive, a new-variant buffer passes as the first of the new stream.
            selector.element.set_property("active-pad", selector.sink_pads[mode])
            selector.active = mode
            self._disarm(selector)
        logger.debug("%s: switched to %s", self.name, mode)
        return Gst.PadProbeReturn.OK

    def _on_query(self, _pad: Any, info: Any) -> Any:
        if info.get_query().type == Gst.QueryType.SEEKING:
            # A camera is not seekable; otherwise a PLAY with a Range header makes
            # gst-rtsp-server seek the shared media (ffmpeg then gets 503). A new seeking
            # query already says "not seekable" (and PyGObject cannot write to it here), so
            # answering it unchanged is enough.
            return Gst.PadProbeReturn.HANDLED
        return Gst.PadProbeReturn.OK

    # -- main loop thread -------------------------------------------------------------------

    def _reloop(self) -> bool:
        with self._lock:
            if self._closed:
                return False
            self._loops += 1
            offset = self._loops * self._loop_ns
            for pad in self._linked:
                pad.set_offset(offset)
            self._relooping = True
        try:
            ok = self._demux.seek(
                1.0,
                Gst.Format.TIME,
                Gst.SeekFlags.FLUSH,
                Gst.SeekType.SET,
                0,
                Gst.SeekType.NONE,
                -1,
            )
        finally:
            self._relooping = False
        if not ok:
            logger.warning("%s: loop seek failed", self.name)
        else:
            logger.debug("%s: loop %d", self.name, self._loops)
        return False
