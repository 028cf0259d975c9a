"""Decode a camera's latest keyframe into a picture (snapshots, patrol diagnostics)."""

from __future__ import annotations

from typing import Any

import av
import numpy as np

from ingest.packets import MediaPacket, StreamInfo


def decode_keyframe(info: StreamInfo, keyframe: MediaPacket) -> np.ndarray:
    """BGR image of one keyframe; raises ValueError if it does not decode."""
    codec: Any = av.CodecContext.create(info.video_codec, "r")
    codec.thread_count = 1
    extradata = info.decoder_extradata
    if extradata:
        codec.extradata = extradata
    frames = list(codec.decode(av.Packet(keyframe.packet)))
    frames += list(codec.decode(None))
    if not frames:
        raise ValueError("the keyframe did not decode")
    image: np.ndarray = frames[0].to_ndarray(format="bgr24")
    return image


def jpeg(image: np.ndarray, *, quality: int = 85) -> bytes:
    """JPEG of a BGR image. OpenCV's native libraries load on the first snapshot, not with the
    server: most processes never need them."""
    import cv2

    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return bytes(encoded.tobytes())
