"""Validation and clean-up of WHEP offers before they reach aiortc.

An offer comes from any client on the network, so it is checked here with messages a client can
act on, instead of surfacing aiortc's parser errors. Two clean-ups follow measured pitfalls:
mDNS (``.local``) host candidates, which Chromium sends by default and which stall aioice for about
a second while it fails to resolve them, are removed; the peer-reflexive candidate learnt from the
browser's connectivity checks replaces them.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiortc import sdp as aiortc_sdp

from relay.errors import OfferError
from relay.ice import candidate_allowed

MAX_OFFER_BYTES = 64 * 1024


@dataclass(frozen=True)
class Offer:
    """A checked offer: the SDP to hand to aiortc and what it asks for."""

    sdp: str
    has_audio: bool
    removed_candidates: int
    audio_codecs: frozenset[str] = frozenset()
    """The audio codecs the viewer takes (lower-case MIME types, e.g. ``audio/pcma``)."""
    video_codecs: frozenset[str] = frozenset()
    """The video codecs the viewer takes (lower-case MIME types, e.g. ``video/h265``)."""


def _usable_candidate(line: str) -> bool:
    """``a=candidate:foundation component transport priority ADDRESS port typ …``: only
    candidates on the relay's own networks are checked (``relay.ice``)."""
    fields = line.split()
    return len(fields) >= 6 and candidate_allowed(fields[4])


def check_offer(text: str) -> Offer:
    """Validate an offer; raise ``OfferError`` naming what is wrong."""
    if len(text.encode("utf-8", errors="replace")) > MAX_OFFER_BYTES:
        raise OfferError(f"sdp: the offer is larger than {MAX_OFFER_BYTES} bytes")
    stripped = text.strip()
    if not stripped:
        raise OfferError("sdp: the request body is empty; send an SDP offer")
    if not stripped.startswith("v=0"):
        raise OfferError("sdp: not an SDP offer (it must start with 'v=0')")
    kept: list[str] = []
    removed = 0
    for line in stripped.splitlines():
        if line.startswith("a=candidate:") and not _usable_candidate(line):
            removed += 1
            continue
        kept.append(line)
    cleaned = "\r\n".join(kept) + "\r\n"
    try:
        description = aiortc_sdp.SessionDescription.parse(cleaned)
    except Exception as error:  # aiortc's parser raises assorted errors on bad input
        raise OfferError(f"sdp: cannot parse the offer ({type(error).__name__}: {error})") from None
    videos = [m for m in description.media if m.kind == "video"]
    if not videos:
        raise OfferError("sdp: the offer has no video section (m=video)")
    video = videos[0]
    if video.direction not in (None, "recvonly", "sendrecv"):
        raise OfferError(f"sdp: the video section must be recvonly (got {video.direction})")
    relayable = ("video/h264", "video/h265")
    if not any(codec.mimeType.lower() in relayable for codec in video.rtp.codecs):
        raise OfferError(
            "sdp: the offer has neither H.264 nor H.265 video (cameras are relayed as H.264, "
            "H.265 cameras as they are to a viewer that takes H.265)"
        )
    for media in description.media:
        if media.kind not in ("audio", "video"):
            continue
        ice = media.ice  # session-level ICE/DTLS attributes are copied into each media section
        if ice is None or not ice.usernameFragment or not ice.password:
            raise OfferError(f"sdp: the {media.kind} section has no ICE credentials")
        dtls = media.dtls
        if dtls is None or not dtls.fingerprints:
            raise OfferError(f"sdp: the {media.kind} section has no DTLS fingerprint")
    audio = [
        m for m in description.media
        if m.kind == "audio" and m.direction in (None, "recvonly", "sendrecv")
    ]  # fmt: skip
    codecs = frozenset(c.mimeType.lower() for m in audio[:1] for c in m.rtp.codecs)
    return Offer(
        sdp=cleaned,
        has_audio=bool(audio),
        removed_candidates=removed,
        audio_codecs=codecs,
        video_codecs=frozenset(c.mimeType.lower() for c in video.rtp.codecs),
    )
