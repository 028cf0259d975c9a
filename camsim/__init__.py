"""Camera simulator: an RTSP server (gst-rtsp-server) serving looped H.264 + AAC mounts.

Loops are pre-encoded once per parameter set (`encode`), served by GStreamer (`server`, imported
lazily because it needs `gi`), controlled over a loopback HTTP JSON API (`control`) and driven
from tests through `harness.SimulatorProcess`.
"""

from .spec import AudioMode, MountSpec, VideoMode

__all__ = ["AudioMode", "MountSpec", "VideoMode"]
