"""The RTSP side of the simulator: gst-rtsp-server mounts and their run-time faults.

`SimulatorServer` owns the GstRTSPServer and one `_Mount` per `MountSpec`. Each served mount has
a shared media factory whose media is a `LoopPipeline` over the mount's pre-encoded loop file.
Faults (stop / start / flap / video / audio) act on the mount and on every live media of it.

Authentication: when some mount has `auth`, the server gets a `_MountAuth` (otherwise none at
all, exactly as before). Each credential is a token whose media-factory role is
"<method>:<user>"; clients without valid credentials get a default token with the role
"anonymous". Every factory lets every role *access* it (gst-rtsp-server answers a denied
access with 404, unlike a camera), but only a mount's own role may *construct* its media
(denied: 401 with a challenge); a mount without auth lets every role construct.

Threads: the mounts' faults and lifecycle run on the GLib main loop thread (the default main
context); `call`, `quit` and the `ControlBackend` methods of `LoopBackend` hand work to it from
other threads (the HTTP control server). RTSP clients, and with them media creation and teardown
(`_LoopFactory`), run on gst-rtsp-server's thread pool (see `SimulatorServer.__init__`).
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ._gi import GLib, Gst, GstRtsp, GstRtspServer
from .errors import MountConflictError, SimulatorError, UnknownMountError
from .pipeline import LoopPipeline
from .spec import AudioMode, AuthMethod, MountSpec, VideoMode

logger = logging.getLogger(__name__)

T = TypeVar("T")
CALL_TIMEOUT_S = 10.0
_media_ids = itertools.count(1)

ANONYMOUS_ROLE = "anonymous"
"""The media-factory role of clients without valid credentials."""
AUTH_REALM = "casewatch-sim"
_GST_AUTH_METHODS: dict[AuthMethod, Any] = {
    AuthMethod.BASIC: GstRtsp.RTSPAuthMethod.BASIC,
    AuthMethod.DIGEST: GstRtsp.RTSPAuthMethod.DIGEST,
}


@dataclass
class MountSetup:
    """A mount to serve: its spec, its loop file and the loop length."""

    spec: MountSpec
    file: Path
    loop_ns: int


@dataclass
class _Mount:
    setup: MountSetup
    video: VideoMode = VideoMode.NORMAL
    audio: AudioMode = AudioMode.TONE
    served: bool = False
    factory: Any = None
    pipelines: dict[str, LoopPipeline] = field(default_factory=dict)
    medias: dict[str, Any] = field(default_factory=dict)
    flap_source: int | None = None
    stall_source: int | None = None
    """While set, the mount's media send nothing (the GLib timeout that ends the stall)."""
    clock: Any = None
    """The mount's own clock (``Gst.SystemClock``): its media are paced by it, so a clock
    calibrated N ppm fast is a camera whose media clock runs N ppm fast."""
    clock_ppm: float = 0.0
    clock_offset_ns: int = 0
    """How far the camera's wall clock (its RTCP sender reports) is off, in nanoseconds."""

    @property
    def spec(self) -> MountSpec:
        return self.setup.spec

    def status(self) -> dict[str, object]:
        spec = self.spec
        return {
            "name": spec.name,
            "path": spec.path,
            "served": self.served,
            "flapping": self.flap_source is not None,
            "stalled": self.stall_source is not None,
            "video": self.video.value,
            "audio": self.audio.value if spec.audio else None,
            "has_audio": spec.audio,
            "width": spec.width,
            "height": spec.height,
            "fps": spec.fps,
            "gop": spec.gop,
            "bitrate": spec.bitrate,
            "label": spec.ident_text,
            "medias": len(self.pipelines),
            "clock_ppm": self.clock_ppm,
            "clock_offset_seconds": self.clock_offset_ns / 1e9,
            "video_codec": spec.video_codec.value,
            "bframes": spec.bframes,
            "audio_codec": spec.audio_codec.value if spec.audio else None,
            "auth": spec.auth.value,
            "user": spec.user,
            "picture_faults": spec.picture_faults,
        }


def _role(spec: MountSpec) -> str:
    """The media-factory role of the credentials of `spec` (a mount with auth)."""
    return f"{spec.auth.value}:{spec.user}"


def _token(role: str) -> Any:
    token = GstRtspServer.RTSPToken()
    token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, role)
    return token


class _MountAuth(GstRtspServer.RTSPAuth):  # type: ignore[misc]
    """The credentials of every mount with auth, and challenges naming only the mount's method.

    gst-rtsp-server's supported methods are server-wide, so with a Basic and a Digest mount
    every 401 would offer both, and clients (ffmpeg, GStreamer) then answer with Digest: a
    Basic mount would never see Basic credentials. So the challenge of a mount is built with
    the supported methods set to that mount's method. (They only matter for challenges:
    credentials of either kind are always checked. And PyGObject cannot pass the union
    BASIC|DIGEST, GstRTSPAuthMethod being an enum to it: a challenge offering several
    methods is built one method at a time.) Clients are handled on several threads, so a lock
    keeps any other request from seeing the methods switched. Which credentials a mount
    accepts is decided by roles (`permissions`), not by the challenge.
    """

    def __init__(self, specs: Sequence[MountSpec]) -> None:
        super().__init__()
        self.set_realm(AUTH_REALM)
        self._roles = [ANONYMOUS_ROLE]
        self._methods: list[AuthMethod] = []
        self._challenge_lock = threading.Lock()
        passwords: dict[str, tuple[str, str]] = {}  # role -> (password, mount name)
        for spec in specs:
            if spec.auth is AuthMethod.NONE or spec.user is None or spec.password is None:
                continue
            role = _role(spec)
            known = passwords.get(role)
            if known is not None:
                if known[0] != spec.password:
                    raise SimulatorError(
                        f"mount {spec.name!r}: user {spec.user!r} has another password on "
                        f"mount {known[1]!r}"
                    )
                continue
            passwords[role] = (spec.password, spec.name)
            self._roles.append(role)
            if spec.auth not in self._methods:
                self._methods.append(spec.auth)
            token = _token(role)
            if spec.auth is AuthMethod.BASIC:
                self.add_basic(GstRtspServer.RTSPAuth.make_basic(spec.user, spec.password), token)
            else:
                self.add_digest(spec.user, spec.password, token)
        self._methods.sort()  # a fixed order: Basic, then Digest
        self.set_default_token(_token(ANONYMOUS_ROLE))

    def permissions(self, spec: MountSpec) -> Any:
        """The RTSPPermissions of a factory serving `spec`."""
        permissions = GstRtspServer.RTSPPermissions()
        own = _role(spec) if spec.auth is not AuthMethod.NONE else None
        for role in self._roles:
            permissions.add_permission_for_role(
                role, GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS, True
            )
            permissions.add_permission_for_role(
                role, GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, own in (None, role)
            )
        return permissions

    def do_generate_authenticate_header(self, ctx: Any) -> None:
        factory = ctx.factory
        methods = self._methods
        if isinstance(factory, _LoopFactory) and factory.mount.spec.auth is not AuthMethod.NONE:
            methods = [factory.mount.spec.auth]
        with self._challenge_lock:  # client threads: one challenge built at a time
            for method in methods:
                self.set_supported_methods(_GST_AUTH_METHODS[method])
                GstRtspServer.RTSPAuth.do_generate_authenticate_header(self, ctx)


class _LoopFactory(GstRtspServer.RTSPMediaFactory):  # type: ignore[misc]
    """A shared media factory whose media element is a `LoopPipeline` of one mount."""

    def __init__(self, mount: _Mount, permissions: Any = None) -> None:
        super().__init__()
        self.mount = mount
        self.set_shared(True)
        if permissions is not None:
            self.set_permissions(permissions)
        self.connect("media-configure", self._on_media_configure)

    def do_create_element(self, _url: Any) -> Any:
        mount = self.mount
        spec = mount.spec
        name = f"sim{next(_media_ids)}"
        pipeline = LoopPipeline(
            name,
            mount.setup.file,
            loop_ns=mount.setup.loop_ns,
            video=mount.video,
            audio=mount.audio if spec.audio else None,
            video_codec=spec.video_codec,
            audio_codec=spec.audio_codec,
            picture_faults=spec.picture_faults,
        )
        mount.pipelines[name] = pipeline
        logger.info("%s: new media %s", mount.spec.name, name)
        return pipeline.bin

    def _on_media_configure(self, _factory: Any, media: Any) -> None:
        name = media.get_element().get_name()
        mount = self.mount
        if name not in mount.pipelines:
            return
        mount.medias[name] = media
        if mount.clock is not None:  # only a mount given a clock rate leaves the system clock
            media.set_clock(mount.clock)
        media.connect("unprepared", self._on_media_unprepared, name)
        media.connect("prepared", self._on_media_prepared)

    def _on_media_prepared(self, media: Any) -> None:
        """Every RTCP packet the media sends passes `_shift_sender_report` first."""
        for index in range(media.n_streams()):
            session = media.get_stream(index).get_rtpsession()
            if session is not None:
                session.connect("on-sending-rtcp", self._shift_sender_report)

    def _shift_sender_report(self, _session: Any, buffer: Any, _early: bool) -> bool:
        """Write the mount's clock offset into the NTP timestamp of a sender report: the
        camera's wall clock as RTCP carries it (RFC 3550 §6.4.1), where receivers read it."""
        offset_ns = self.mount.clock_offset_ns
        if offset_ns:
            rewrite_sender_report(buffer, offset_ns)
        return False

    def _on_media_unprepared(self, _media: Any, name: str) -> None:
        mount = self.mount
        pipeline = mount.pipelines.pop(name, None)
        mount.medias.pop(name, None)
        if pipeline is not None:
            pipeline.close()
            logger.info("%s: media %s ended", mount.spec.name, name)


NTP_FRACTION = 1 << 32
"""An NTP timestamp is seconds and 2⁻³² fractions of a second, in 64 bits."""


def rewrite_sender_report(buffer: Any, offset_ns: int) -> None:
    """Shift the NTP timestamp of the sender report that starts a compound RTCP ``buffer``
    (still being built, so writable)."""
    head = buffer.extract_dup(0, 16)
    if len(head) < 16 or head[1] != 200:  # RTCP packet type SR
        return
    ntp = int.from_bytes(head[8:16], "big")
    shifted = (ntp + offset_ns * NTP_FRACTION // 1_000_000_000) % (1 << 64)
    buffer.fill(8, shifted.to_bytes(8, "big"))


class SimulatorServer:
    """gst-rtsp-server serving every mount, with per-mount faults on demand."""

    def __init__(self, host: str, port: int, setups: Sequence[MountSetup]) -> None:
        self.host = host
        self.port = port
        self.ready = False
        self._loop: Any = GLib.MainLoop()
        self._server: Any = GstRtspServer.RTSPServer()
        self._server.set_address(host)
        self._server.set_service(str(port))
        # Clients are served on gst-rtsp-server's own thread pool (its default), not on the
        # main loop: with every client on the main context (max threads 0), gst-rtsp-server
        # 1.22 corrupts its heap when several clients close at once (an abort in free() under
        # gst_rtsp_connection_close, within two rounds of eight clients killed together; none
        # in 25 rounds with the pool). So media creation and teardown run on client threads:
        # the mount's dicts are only ever updated by single operations and read as copies.
        self._mount_points: Any = self._server.get_mount_points()
        self._mounts: dict[str, _Mount] = {s.spec.name: _Mount(setup=s) for s in setups}
        self._auth: _MountAuth | None = None
        if any(s.spec.auth is not AuthMethod.NONE for s in setups):
            # Only then: an RTSPAuth changes how every request is handled.
            self._auth = _MountAuth([s.spec for s in setups])
            self._server.set_auth(self._auth)
        self._source_id = 0

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Bind the RTSP port and serve every mount."""
        self._source_id = self._server.attach(None)
        if not self._source_id:
            raise SimulatorError(f"cannot listen for RTSP on {self.host}:{self.port}")
        self.port = int(self._server.get_bound_port())
        for name in self._mounts:
            self.start_mount(name)
        self.ready = True

    def quit_on_signals(self, signals: Sequence[int]) -> None:
        """Quit the main loop when one of `signals` arrives."""
        for signum in signals:
            GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, self._on_signal, signum)

    def _on_signal(self, signum: int) -> bool:
        logger.info("signal %d: quitting", signum)
        self._loop.quit()
        return True

    def run(self) -> None:
        """Run the GLib main loop until `quit`."""
        self._loop.run()

    def quit(self) -> None:
        """Stop the main loop (thread-safe; also fine from a signal handler callback)."""
        GLib.idle_add(self._quit_now)

    def _quit_now(self) -> bool:
        self._loop.quit()
        return False

    def close(self) -> None:
        """Stop every mount and release the port (main loop thread, after `run` returned)."""
        self.ready = False
        for name in self._mounts:
            self.stop_mount(name)
        if self._source_id:
            GLib.source_remove(self._source_id)
            self._source_id = 0

    def call(self, fn: Callable[[], T], timeout: float = CALL_TIMEOUT_S) -> T:
        """Run `fn` on the main loop thread and return its result (from any other thread)."""
        future: Future[T] = Future()

        def run() -> bool:
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn())
                except BaseException as exc:
                    future.set_exception(exc)
            return False

        GLib.idle_add(run)
        return future.result(timeout)

    # -- mounts (main loop thread) -----------------------------------------------------------

    def _mount(self, name: str) -> _Mount:
        mount = self._mounts.get(name)
        if mount is None:
            raise UnknownMountError(name)
        return mount

    def names(self) -> list[str]:
        """The configured mount names."""
        return list(self._mounts)

    def status(self, name: str) -> dict[str, object]:
        """The state of one mount as a JSON-able dict."""
        return self._mount(name).status()

    def statuses(self) -> list[dict[str, object]]:
        """The state of every mount."""
        return [mount.status() for mount in self._mounts.values()]

    def start_mount(self, name: str) -> dict[str, object]:
        """Serve the mount (again); new media start at the loop's first keyframe."""
        mount = self._mount(name)
        self._cancel_flap(mount)
        if not mount.served:
            permissions = self._auth.permissions(mount.spec) if self._auth is not None else None
            mount.factory = _LoopFactory(mount, permissions)
            self._mount_points.add_factory(mount.spec.path, mount.factory)
            mount.served = True
            logger.info("%s: serving at %s", name, mount.spec.path)
        return mount.status()

    def stop_mount(self, name: str) -> dict[str, object]:
        """Remove the mount and drop its clients: they see the stream end, new ones get 404."""
        mount = self._mount(name)
        self._cancel_flap(mount)
        self._stop(mount)
        return mount.status()

    def flap(self, name: str, seconds: float) -> dict[str, object]:
        """Stop the mount now and serve it again after `seconds`."""
        mount = self._mount(name)
        self._cancel_flap(mount)
        self._stop(mount)
        mount.flap_source = GLib.timeout_add(max(1, round(seconds * 1000)), self._end_flap, name)
        return mount.status()

    def stall(self, name: str, seconds: float) -> dict[str, object]:
        """Send no media on the sessions open now for ``seconds`` while they stay up (a camera
        whose encoder hangs), then resume where the clock is. A client that reconnects meanwhile
        gets a fresh media that plays (a media torn down without ever sending a buffer can crash
        gst-rtsp-server)."""
        mount = self._mount(name)
        if mount.stall_source is not None:
            GLib.source_remove(mount.stall_source)
        for pipeline in list(mount.pipelines.values()):
            pipeline.set_stalled(True)
        mount.stall_source = GLib.timeout_add(max(1, round(seconds * 1000)), self._end_stall, name)
        logger.info("%s: stalled for %g s", name, seconds)
        return mount.status()

    def _end_stall(self, name: str) -> bool:
        mount = self._mounts[name]
        mount.stall_source = None
        for pipeline in list(mount.pipelines.values()):
            pipeline.set_stalled(False)
        logger.info("%s: stall over", name)
        return False

    def set_video(self, name: str, mode: VideoMode) -> dict[str, object]:
        """Switch the mount's video variant (at the next keyframe)."""
        mount = self._mount(name)
        if mode.is_picture_fault and not mount.spec.picture_faults:
            raise MountConflictError(
                f"mount {name!r} has no {mode.value!r} variant (start it with picture_faults)"
            )
        mount.video = mode
        for pipeline in list(mount.pipelines.values()):
            pipeline.set_video(mode)
        logger.info("%s: video %s", name, mode.value)
        return mount.status()

    def set_clock_rate(self, name: str, ppm: float) -> dict[str, object]:
        """Make the mount's media clock run ``ppm`` parts per million fast (negative: slow),
        from now on, without a jump."""
        mount = self._mount(name)
        if mount.clock is None:
            mount.clock = Gst.SystemClock()
        clock = mount.clock
        clock.set_calibration(
            clock.get_internal_time(), clock.get_time(), 1_000_000 + round(ppm), 1_000_000
        )
        mount.clock_ppm = ppm
        logger.info("%s: media clock %+g ppm", name, ppm)
        return mount.status()

    def set_clock_offset(self, name: str, seconds: float) -> dict[str, object]:
        """Set the mount's wall clock ``seconds`` off (its RTCP sender reports, from the next
        one on); media timing is untouched, as when a camera's clock is set wrong."""
        mount = self._mount(name)
        mount.clock_offset_ns = round(seconds * 1_000_000_000)
        logger.info("%s: wall clock %+g s", name, seconds)
        return mount.status()

    def set_audio(self, name: str, mode: AudioMode) -> dict[str, object]:
        """Switch the mount's audio variant."""
        mount = self._mount(name)
        if not mount.spec.audio:
            raise MountConflictError(f"mount {name!r} has no audio")
        mount.audio = mode
        for pipeline in list(mount.pipelines.values()):
            pipeline.set_audio(mode)
        logger.info("%s: audio %s", name, mode.value)
        return mount.status()

    def _end_flap(self, name: str) -> bool:
        mount = self._mounts[name]
        mount.flap_source = None
        self.start_mount(name)
        return False

    def _cancel_flap(self, mount: _Mount) -> None:
        if mount.flap_source is not None:
            GLib.source_remove(mount.flap_source)
            mount.flap_source = None

    def _stop(self, mount: _Mount) -> None:
        if mount.served:
            self._mount_points.remove_factory(mount.spec.path)
            mount.served = False
            mount.factory = None
            logger.info("%s: stopped", mount.spec.name)
        names = set(mount.medias)
        if not names:
            return

        def uses_mount(session: Any) -> bool:
            return any(
                sm.get_media().get_element().get_name() in names for sm in session.filter(None)
            )

        def drop_client(_server: Any, client: Any, *_args: Any) -> Any:
            if any(uses_mount(session) for session in client.session_filter(None)):
                return GstRtspServer.RTSPFilterResult.REMOVE
            return GstRtspServer.RTSPFilterResult.KEEP

        def drop_session(_pool: Any, session: Any, *_args: Any) -> Any:
            if uses_mount(session):
                return GstRtspServer.RTSPFilterResult.REMOVE
            return GstRtspServer.RTSPFilterResult.KEEP

        self._server.client_filter(drop_client)
        self._server.get_session_pool().filter(drop_session)
        for media in list(mount.medias.values()):
            media.unprepare()


class LoopBackend:
    """The control API's view of a `SimulatorServer`: thread-safe, marshals onto the loop."""

    def __init__(self, server: SimulatorServer) -> None:
        self._server = server

    def is_ready(self) -> bool:
        return self._server.ready

    def mount_names(self) -> list[str]:
        return self._server.call(self._server.names)

    def list_mounts(self) -> list[dict[str, object]]:
        return self._server.call(self._server.statuses)

    def get_mount(self, name: str) -> dict[str, object]:
        return self._server.call(lambda: self._server.status(name))

    def stop_mount(self, name: str) -> dict[str, object]:
        return self._server.call(lambda: self._server.stop_mount(name))

    def start_mount(self, name: str) -> dict[str, object]:
        return self._server.call(lambda: self._server.start_mount(name))

    def flap(self, name: str, seconds: float) -> dict[str, object]:
        return self._server.call(lambda: self._server.flap(name, seconds))

    def stall(self, name: str, seconds: float) -> dict[str, object]:
        return self._server.call(lambda: self._server.stall(name, seconds))

    def set_video(self, name: str, mode: VideoMode) -> dict[str, object]:
        return self._server.call(lambda: self._server.set_video(name, mode))

    def set_audio(self, name: str, mode: AudioMode) -> dict[str, object]:
        return self._server.call(lambda: self._server.set_audio(name, mode))

    def set_clock_rate(self, name: str, ppm: float) -> dict[str, object]:
        return self._server.call(lambda: self._server.set_clock_rate(name, ppm))

    def set_clock_offset(self, name: str, seconds: float) -> dict[str, object]:
        return self._server.call(lambda: self._server.set_clock_offset(name, seconds))
