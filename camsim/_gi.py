"""The only module that imports PyGObject; the rest of the simulator uses these names.

PyGObject is untyped, so everything re-exported here is `Any` to mypy. Importing this module
initialises GStreamer. Never import it together with PyAV in one process (their bundled FFmpeg
libraries clash).
"""

from typing import Any

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")

from gi.repository import GLib as _GLib  # noqa: E402
from gi.repository import Gst as _Gst  # noqa: E402
from gi.repository import GstRtsp as _GstRtsp  # noqa: E402
from gi.repository import GstRtspServer as _GstRtspServer  # noqa: E402

GLib: Any = _GLib
Gst: Any = _Gst
GstRtsp: Any = _GstRtsp
GstRtspServer: Any = _GstRtspServer

Gst.init(None)
