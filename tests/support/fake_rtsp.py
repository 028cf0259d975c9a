"""A scripted RTSP responder for faults a real camera simulator cannot produce."""

from __future__ import annotations

import re
import socket
import threading

AUDIO_ONLY_SDP = (
    "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=audio only\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/48000/1\r\n"
    "a=fmtp:97 streamtype=5;profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;"
    "indexdeltalength=3;config=1188\r\na=control:track1\r\n"
)


class FakeRtspServer:
    """Mode ``unauthorized``: every request gets 401; ``audio_only``: an SDP without video."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen()
        self.port = int(self._sock.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str = "live", user: str = "") -> str:
        auth = f"{user}@" if user else ""
        return f"rtsp://{auth}127.0.0.1:{self.port}/{path}"

    def close(self) -> None:
        self._sock.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        with conn:
            while True:
                try:
                    data = conn.recv(4096)
                except OSError:
                    return
                if not data:
                    return
                buffer += data
                while b"\r\n\r\n" in buffer:
                    head, buffer = buffer.split(b"\r\n\r\n", 1)
                    conn.sendall(self._answer(head.decode("latin-1")))

    def _answer(self, request: str) -> bytes:
        method = request.split(" ", 1)[0]
        match = re.search(r"CSeq:\s*(\d+)", request, re.IGNORECASE)
        cseq = match.group(1) if match else "0"
        if self.mode == "unauthorized" and method != "OPTIONS":
            return (
                f"RTSP/1.0 401 Unauthorized\r\nCSeq: {cseq}\r\n"
                'WWW-Authenticate: Basic realm="camera"\r\n\r\n'
            ).encode()
        if method == "OPTIONS":
            return (
                f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n"
                "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n"
            ).encode()
        if method == "DESCRIBE":
            body = AUDIO_ONLY_SDP.encode()
            return (
                f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nContent-Type: application/sdp\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode() + body
        if method == "SETUP":
            return (
                f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nSession: 1234\r\n"
                "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n"
            ).encode()
        return f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nSession: 1234\r\n\r\n".encode()
