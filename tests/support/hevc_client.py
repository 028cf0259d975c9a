"""Test support: an aiortc viewer that takes H.265 — the relay's payloader (relay.hevc_rtp) for
sending, its depayloader and PyAV's decoder for receiving — standing in for a browser with H.265
WebRTC, which the test machine's Chromium is not."""

from __future__ import annotations

from typing import Any

import aiortc.rtcrtpreceiver as receiver
import av
from aiortc.codecs.base import Decoder
from aiortc.mediastreams import VIDEO_TIME_BASE

from relay import hevc_rtp


class HevcDecoder(Decoder):
    def __init__(self) -> None:
        self.codec: Any = av.CodecContext.create("hevc", "r")

    def decode(self, encoded_frame: Any) -> list[Any]:
        packet = av.Packet(encoded_frame.data)
        packet.pts = encoded_frame.timestamp
        packet.time_base = VIDEO_TIME_BASE
        try:
            return list(self.codec.decode(packet))
        except av.FFmpegError:
            return []


def install() -> None:
    """Teach this process's aiortc to receive H.265 (idempotent)."""
    hevc_rtp.install()
    if getattr(receiver, "_casewatch_hevc", False):
        return
    depayload, get_decoder = receiver.depayload, receiver.get_decoder  # type: ignore[attr-defined]

    def hevc_depayload(codec: Any, payload: bytes) -> bytes:
        if codec.mimeType.lower() == hevc_rtp.MIME.lower():
            return hevc_rtp.depayload(payload)
        return bytes(depayload(codec, payload))

    def hevc_decoder(codec: Any) -> Decoder:
        if codec.mimeType.lower() == hevc_rtp.MIME.lower():
            return HevcDecoder()
        return get_decoder(codec)  # type: ignore[no-any-return]

    receiver.depayload = hevc_depayload  # type: ignore[attr-defined]
    receiver.get_decoder = hevc_decoder  # type: ignore[attr-defined]
    receiver._casewatch_hevc = True  # type: ignore[attr-defined]
