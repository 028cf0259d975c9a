"""Offer validation: clear messages for bad offers; mDNS candidates removed."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from relay.errors import OfferError
from relay.ice import restrict_host_addresses
from relay.sdp import check_offer

HEAD = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
ICE = (
    "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijklmn\r\n"
    "a=fingerprint:sha-256 " + ":".join(["AB"] * 32) + "\r\na=setup:actpass\r\n"
)
VIDEO = (
    "m=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=recvonly\r\n"
    "a=rtcp-mux\r\na=rtpmap:102 H264/90000\r\n"
    "a=fmtp:102 packetization-mode=1;profile-level-id=42e01f\r\n" + ICE
)


def test_a_good_offer_keeps_only_candidates_on_the_relays_networks() -> None:
    """mDNS names are never resolved, and an address off the relay's networks is never sent
    connectivity checks (an anonymous offer cannot aim the server at other hosts)."""
    restrict_host_addresses([IPv4Address("127.0.0.1")])
    mdns = "a=candidate:1 1 udp 2113937151 3f1c.local 50000 typ host\r\n"
    host = "a=candidate:2 1 udp 2113937151 127.0.0.1 50001 typ host\r\n"
    elsewhere = "a=candidate:3 1 udp 2113937151 203.0.113.7 50002 typ host\r\n"
    broken = "a=candidate:4 1 udp\r\n"
    offer = check_offer(HEAD + VIDEO + mdns + host + elsewhere + broken)
    assert offer.removed_candidates == 3 and ".local" not in offer.sdp
    assert "203.0.113.7" not in offer.sdp
    assert "127.0.0.1 50001" in offer.sdp and not offer.has_audio


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("hello", "must start with 'v=0'"),
        (HEAD, "no video section"),
        (HEAD + VIDEO.replace("H264", "VP8"), "neither H.264 nor H.265"),
        (HEAD + VIDEO.replace("a=recvonly", "a=sendonly"), "must be recvonly"),
        (HEAD + VIDEO.replace("a=ice-ufrag:abcd\r\n", ""), "no ICE credentials"),
        (HEAD + VIDEO.replace("a=fingerprint", "a=x-fingerprint"), "no DTLS fingerprint"),
        ("v=0\r\n" + "a=x\r\n" * 20000, "larger than"),
    ],
)
def test_bad_offers_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(OfferError) as caught:
        check_offer(text)
    assert message in caught.value.message and caught.value.message.startswith("sdp:")
