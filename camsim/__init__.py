"""Camera simulator: an RTSP server (gst-rtsp-server) serving looped camera streams.

Each mount sends H.264 or H.265 video and AAC or G.711 audio, optionally behind RTSP Basic or
Digest authentication, as the Hikvision / Dahua cameras of a station do. Loops are pre-encoded
once per parameter set (`encode`), served by GStreamer (`server`, imported lazily because it
needs `gi`), controlled over a loopback HTTP JSON API (`control`) and driven from tests through
`harness.SimulatorProcess`.
"""

from .spec import AudioCodec, AudioMode, AuthMethod, MountSpec, VideoCodec, VideoMode

__all__ = ["AudioCodec", "AudioMode", "AuthMethod", "MountSpec", "VideoCodec", "VideoMode"]
