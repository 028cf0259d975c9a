"""The settings schema: a strict pydantic tree validated from YAML.

Every field has a description and bounds; unknown keys are errors (``extra="forbid"``).
``configs/default.yaml`` documents every key with its default, and a test keeps the two equal.
Secrets (RTSP passwords) may be given by the name of an environment variable instead of inline.
"""

from __future__ import annotations

import enum
import os
import re
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Annotated, Any, Self
from urllib.parse import quote, unquote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

IDENTIFIER_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
"""Site and camera ids: lower-case letters, digits, '-' and '_'; they appear in file paths."""

Identifier = Annotated[
    str,
    Field(
        pattern=IDENTIFIER_PATTERN,
        description="lower-case letters, digits, '-' and '_', at most 63 characters",
    ),
]

ORIGIN = re.compile(r"^https?://(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:[0-9]{1,5})?$")
"""A web origin as browsers send it in ``Origin``: scheme, lower-case host, optional port."""


class Strict(BaseModel):
    """Base of every settings model: unknown keys are errors, values are not coerced silently."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Area(enum.StrEnum):
    """The kind of room a camera watches (DOMAIN.md)."""

    CASE_ROOM = "case_room"
    INTERROGATION = "interrogation"
    INQUIRY = "inquiry"
    WAITING = "waiting"
    PROPERTY = "property"
    HANDLING = "handling"
    CORRIDOR = "corridor"
    OTHER = "other"


class StorageSettings(Strict):
    """Where and how footage is written."""

    path: Path = Field(
        default=Path("data/recordings"),
        description="directory of the recording volume; created if missing",
    )
    segment_seconds: float = Field(
        default=60.0,
        ge=2.0,
        le=3600.0,
        description="target segment length; a segment is cut at the first keyframe after it",
    )
    fragment_seconds: float = Field(
        default=1.0,
        ge=0.1,
        le=10.0,
        description="fMP4 fragment length: the most footage a process crash can lose",
    )
    fsync_interval_seconds: float = Field(
        default=1.0,
        ge=0.0,
        le=600.0,
        description="fdatasync the open segment at most this often (0 = after every fragment); "
        "bounds loss on power failure. Every closed segment is fsynced regardless",
    )
    write_backlog_seconds: float = Field(
        default=20.0,
        ge=1.0,
        le=300.0,
        description="how far a camera's recorder may fall behind a slow disk (packets held in "
        "memory, at most 64 MB) before packets are dropped and the gap is recorded as "
        "storage_stalled",
    )


class RetentionSettings(Strict):
    """Which footage may be deleted, and when. Held footage is never deleted."""

    max_age_days: float | None = Field(
        default=90.0,
        gt=0,
        le=36500,
        description="delete unheld segments older than this; null keeps footage forever",
    )
    max_bytes: int | None = Field(
        default=None,
        gt=0,
        description="quota for all footage on the volume; oldest unheld segments go first",
    )
    min_free_bytes: int = Field(
        default=1_000_000_000,
        ge=0,
        description="keep at least this much free space on the volume (disk-full clean-up)",
    )
    interval_seconds: float = Field(
        default=60.0, ge=1.0, le=86400.0, description="how often retention runs"
    )
    log_keep_days: float = Field(
        default=400.0,
        ge=1,
        le=36500,
        description="camera events, cleared alarms, recorder starts and the tombstones of "
        "deleted footage older than this are removed (gaps older than this lose their cause)",
    )


class DatabaseSettings(Strict):
    """The footage catalog."""

    url: str = Field(
        default="sqlite:///data/casewatch.db",
        description="SQLAlchemy URL: sqlite:///PATH (default) or postgresql+psycopg://...",
    )
    url_env: str | None = Field(
        default=None,
        pattern=r"^[A-Z_][A-Z0-9_]*$",
        description="name of an environment variable holding the URL (overrides url); "
        "use it when the URL carries a password",
    )

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
            raise ValueError("must start with sqlite://, postgresql:// or postgresql+psycopg://")
        return value

    def resolved_url(self) -> str:
        """The URL to connect with: from the environment variable when one is named."""
        if self.url_env is None:
            return self.url
        value = os.environ.get(self.url_env)
        if not value:
            raise ValueError(f"database.url_env: environment variable {self.url_env} is not set")
        return value


class TlsSettings(Strict):
    """HTTPS: the server's certificate chain and private key (PEM files)."""

    cert: Path = Field(description="certificate chain (PEM)")
    key: Path = Field(description="private key (PEM), readable by casewatch only")


class ServerSettings(Strict):
    """The HTTP API and pages."""

    host: str = Field(default="127.0.0.1", min_length=1, description="address to listen on")
    port: int = Field(default=8080, ge=1, le=65535, description="TCP port to listen on")
    allowed_hosts: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="host names the pages and API answer to (the Host header; DNS rebinding "
        "protection); empty: localhost names when host is a loopback address, any otherwise",
    )
    tls: TlsSettings | None = Field(
        default=None,
        description="serve HTTPS with this certificate and key (cookies become Secure, HSTS is "
        "sent); null serves plain HTTP (loopback or behind a TLS proxy only)",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="origins (scheme://host[:port], as browsers send them) whose pages may call "
        "the API and WHEP with a bearer token, e.g. a third-party WHEP player; none by default "
        "(the wall's own pages need none); cookies never cross origins",
    )

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if not ORIGIN.match(origin):
                raise ValueError(
                    f"{origin!r} is not an origin: give scheme://host[:port] in lower case, "
                    "without a path (e.g. https://player.example)"
                )
        return origins


class BackoffSettings(Strict):
    """Reconnect delays after a camera fails: grow with each failure, reset after uptime."""

    initial_seconds: float = Field(default=0.5, gt=0, le=60, description="first retry delay")
    factor: float = Field(default=1.5, ge=1.0, le=10.0, description="growth per failure")
    max_seconds: float = Field(default=10.0, gt=0, le=600, description="largest retry delay")
    reset_after_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="healthy uptime that resets the delay"
    )

    @model_validator(mode="after")
    def _initial_not_above_max(self) -> Self:
        if self.initial_seconds > self.max_seconds:
            raise ValueError("initial_seconds must not exceed max_seconds")
        return self


class IngestSettings(Strict):
    """How cameras are read."""

    connect_timeout_seconds: float = Field(
        default=8.0, gt=0, le=120, description="RTSP open (DESCRIBE/SETUP/PLAY + probe)"
    )
    stall_seconds: float = Field(
        default=5.0,
        ge=0.5,
        le=120,
        description="no video packet for this long marks the camera stalled and reconnects",
    )
    max_clock_drift_seconds: float = Field(
        default=5.0,
        ge=0.5,
        le=600,
        description="media time and receive time may differ by this much before the "
        "recording run is closed as a clock discontinuity",
    )
    max_timestamp_jump_seconds: float = Field(
        default=10.0,
        ge=0.5,
        le=600,
        description="a DTS jump larger than this (either way) is a discontinuity",
    )
    gop_cache_max_packets: int = Field(
        default=1500,
        ge=10,
        le=100_000,
        description="upper bound on packets kept from the last keyframe on, per camera",
    )
    backoff: BackoffSettings = Field(default_factory=BackoffSettings)


class RecorderSettings(Strict):
    """Where cameras are recorded: worker processes that each own a share of them, so that a
    crash in one camera's demuxer costs only that worker's cameras a restart."""

    workers: int | None = Field(
        default=None,
        ge=0,
        le=64,
        description="worker processes that own the cameras (null: one per CPU core; 0: the "
        "cameras run inside the server process, with no isolation)",
    )
    worker_memory_mb: int = Field(
        default=2048,
        ge=64,
        le=1_048_576,
        description="a worker whose resident memory grows beyond this is restarted (a leak "
        "costs a restart, not an outage)",
    )
    worker_max_open_files: int = Field(
        default=4096,
        ge=64,
        le=1_048_576,
        description="the open-file limit a worker sets for itself",
    )
    heartbeat_timeout_seconds: float = Field(
        default=5.0,
        ge=1.0,
        le=120,
        description="a worker silent this long is killed and restarted (it beats every second)",
    )

    def worker_count(self) -> int:
        """The number of worker processes (0: in the server)."""
        if self.workers is not None:
            return self.workers
        return max(1, len(os.sched_getaffinity(0)))


class RelaySettings(Strict):
    """Live view over WebRTC (WHEP): caps, network, and how idle viewers are reaped."""

    max_peers: int = Field(
        default=64, ge=1, le=2000, description="live viewer sessions on this node at once"
    )
    max_peers_per_camera: int = Field(
        default=32, ge=1, le=1000, description="live viewer sessions of one camera at once"
    )
    ice_host_addresses: list[IPv4Address | IPv6Address] = Field(
        default_factory=list,
        description="addresses offered to browsers as ICE host candidates; empty = every "
        "address of this host except loopback (set [127.0.0.1] for a single-machine setup)",
    )
    connect_timeout_seconds: float = Field(
        default=15.0,
        ge=1.0,
        le=300.0,
        description="a viewer whose connection is not up this long after its offer is reaped",
    )
    queue_packets: int = Field(
        default=300,
        ge=20,
        le=10_000,
        description="packets buffered per viewer; a viewer that falls behind resyncs at the "
        "next keyframe",
    )
    substream_idle_seconds: float = Field(
        default=30.0,
        ge=0.0,
        le=3600.0,
        description="a sub-stream connection with no viewer is closed after this long",
    )


class AlarmSettings(Strict):
    """When the command center is alarmed."""

    offline_after_seconds: float = Field(
        default=0.0,
        ge=0.0,
        le=600.0,
        description="a camera down this long raises an alarm (0: at once); a shorter flap is "
        "only an event",
    )
    recording_stopped_after_seconds: float = Field(
        default=5.0,
        ge=0.0,
        le=600.0,
        description="a camera that should record and has not for this long raises an alarm",
    )


class CheckThresholds(Strict):
    """What a patrol's automatic checks hold each camera to (DOMAIN.md: the equipment works).

    Given per camera, only the keys set there replace the node's (``patrol.thresholds``). A
    *reference picture* is the camera's view as it should be, kept from its first passing
    patrol; the comparisons with it are stricter than the absolute checks without one."""

    recording_max_age_seconds: float = Field(
        default=60.0, ge=5.0, le=86_400.0, description="recording: newest footage at most this old"
    )
    coverage_min_percent: float = Field(
        default=99.0, ge=0.0, le=100.0, description="coverage: share of the window recorded"
    )
    coverage_window_hours: float = Field(
        default=24.0, gt=0.0, le=24.0 * 31, description="coverage: the window, back from now"
    )
    audio_min_dbfs: float = Field(
        default=-60.0, ge=-120.0, le=0.0, description="audio: RMS level of the room at least"
    )
    clock_max_offset_seconds: float = Field(
        default=10.0, gt=0.0, le=86_400.0, description="clock: camera clock vs server at most"
    )
    black_min_bright_luma: float = Field(
        default=20.0, ge=0.0, le=255.0, description="black: the brightest 1 % at least this luma"
    )
    dark_min_mean_luma: float = Field(
        default=25.0, ge=0.0, le=255.0, description="dark: mean luma at least"
    )
    overexposed_max_mean_luma: float = Field(
        default=200.0, ge=0.0, le=255.0, description="overexposed: mean luma at most"
    )
    blur_min_sharpness: float = Field(
        default=30.0, ge=0.0, le=100_000.0, description="blurred: Laplacian variance at least"
    )
    blur_min_ratio: float = Field(
        default=0.3, gt=0.0, le=1.0, description="blurred: sharpness vs the reference at least"
    )
    covered_max_share: float = Field(
        default=0.55, gt=0.0, le=1.0, description="covered: largest flat region's share at most"
    )
    covered_dark_max_share: float = Field(
        default=0.35,
        gt=0.0,
        le=1.0,
        description="covered: largest flat region darker than the rest of the view, at most",
    )
    covered_max_share_vs_reference: float = Field(
        default=0.25, gt=0.0, le=1.0, description="covered: detail lost vs the reference at most"
    )
    colour_cast_max_from_grey: float = Field(
        default=0.12,
        gt=0.0,
        le=1.0,
        description="colour cast without a reference: the mean colour's and the highlights' "
        "distance from grey (the nearer) at most",
    )
    colour_cast_max_shift: float = Field(
        default=0.08, gt=0.0, le=1.0, description="colour cast: its shift from the reference's"
    )
    noise_max_sigma: float = Field(
        default=4.0, gt=0.0, le=128.0, description="noisy: noise σ in luma levels at most"
    )
    frozen_max_changed_ppm: float = Field(
        default=100.0,
        ge=0.0,
        le=1_000_000.0,
        description="frozen: frames with at most this many changed pixels per million are the same",
    )
    frozen_min_span_seconds: float = Field(
        default=0.4,
        gt=0.0,
        le=60.0,
        description="frozen: compared frames at least this far apart (within one GOP)",
    )
    scene_min_similarity: float = Field(
        default=0.5, ge=0.0, le=1.0, description="scene changed: structure vs reference at least"
    )

    def overridden_by(self, overrides: CheckThresholds | None) -> CheckThresholds:
        """These thresholds with the keys set in ``overrides`` (a camera's) replacing them."""
        if overrides is None or not overrides.model_fields_set:
            return self
        return self.model_copy(
            update={key: getattr(overrides, key) for key in overrides.model_fields_set}
        )


class PatrolSettings(Strict):
    """Spot-check patrols (巡查)."""

    thresholds: CheckThresholds = Field(
        default_factory=CheckThresholds, description="the automatic checks' thresholds"
    )
    path: Path = Field(
        default=Path("data/patrol"),
        description="snapshots, clips and reference pictures (relative to the config file)",
    )


CRIMINAL_PATTERN = r"^A(?P<unit>\d{12})(?P<year>\d{4})(?P<month>\d{2})(?P<serial>\d{4})$"
ADMINISTRATIVE_PATTERN = r"^B(?P<unit>\d{12})(?P<year>\d{4})(?P<month>\d{2})(?P<serial>\d{4})$"
INCIDENT_PATTERN = r"^J(?P<unit>\d{12})(?P<year>\d{4})(?P<month>\d{2})(?P<serial>\d{4})$"


class CaseNumberPatterns(Strict):
    """Regular expressions of the case numbers by type. Named groups are checked too: ``unit``
    (the 12-digit unit code), ``year`` and ``month`` (a real month), ``serial``."""

    criminal: str = Field(default=CRIMINAL_PATTERN, description="刑事 case numbers (A…)")
    administrative: str = Field(
        default=ADMINISTRATIVE_PATTERN, description="行政 case numbers (B…)"
    )
    incident: str = Field(default=INCIDENT_PATTERN, description="警情 incident numbers (J…)")

    @field_validator("criminal", "administrative", "incident")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as error:
            raise ValueError(f"not a regular expression ({error})") from None
        return value


class CaseSettings(Strict):
    """Cases, tags and interrogation sessions."""

    number_patterns: CaseNumberPatterns = Field(default_factory=CaseNumberPatterns)
    session_max_hours: float = Field(
        default=12.0,
        gt=0,
        le=168,
        description="an interrogation session open longer than this raises an alarm",
    )
    close_wait_seconds: float = Field(
        default=10.0,
        ge=0,
        le=120,
        description="closing a session waits this long for its cameras' last segments to be "
        "written, so the report carries every hash",
    )


class ExportSettings(Strict):
    """Verifiable exports of case footage."""

    path: Path = Field(default=Path("data/exports"), description="where packages are built")
    signing_key: Path = Field(
        default=Path("data/keys/export-signing-key.pem"),
        description="Ed25519 private key (PEM) that signs manifests; created at first start "
        "if missing (keep it safe; publish its public key for verification)",
    )
    keep_days: float = Field(
        default=30.0, gt=0, le=3650, description="finished packages are deleted after this"
    )


class CameraSettings(Strict):
    """One RTSP camera."""

    id: Identifier
    name: str = Field(min_length=1, max_length=100, description="label shown to people")
    area: Area = Field(default=Area.OTHER, description="kind of room")
    room: str | None = Field(
        default=None,
        max_length=100,
        description="room the camera belongs to (cameras of one room are reviewed together); "
        "defaults to the camera's name",
    )
    url: str = Field(min_length=1, description="rtsp:// or rtsps:// URL of the main stream")
    substream_url: str | None = Field(
        default=None, description="optional low-resolution stream for grid tiles"
    )
    username: str | None = Field(default=None, max_length=128, description="RTSP user")
    password: SecretStr | None = Field(default=None, description="RTSP password (prefer env)")
    password_env: str | None = Field(
        default=None,
        pattern=r"^[A-Z_][A-Z0-9_]*$",
        description="environment variable holding the RTSP password",
    )
    enabled: bool = Field(default=True, description="read this camera at all")
    record: bool = Field(default=True, description="record this camera continuously")
    patrol: CheckThresholds | None = Field(
        default=None, description="this camera's own patrol thresholds (only the keys given)"
    )

    @field_validator("url", "substream_url")
    @classmethod
    def _rtsp_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("rtsp", "rtsps"):
            raise ValueError(f"URL scheme must be rtsp or rtsps (got {parts.scheme or 'none'!r})")
        if not parts.hostname:
            raise ValueError("URL has no host")
        try:
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            raise ValueError("URL has an invalid port") from None
        return value

    @model_validator(mode="after")
    def _one_password_source(self) -> Self:
        if self.password is not None and self.password_env is not None:
            raise ValueError("give password or password_env, not both")
        return self

    def room_name(self) -> str:
        """The room this camera belongs to."""
        return self.room or self.name

    def credentials(self) -> tuple[str | None, str | None]:
        """User and password from config/environment, falling back to those in the URL."""
        parts = urlsplit(self.url)
        user = (
            self.username
            if self.username is not None
            else (unquote(parts.username) if parts.username else None)
        )
        if self.password is not None:
            return user, self.password.get_secret_value()
        if self.password_env is not None:
            return user, os.environ.get(self.password_env)
        return user, unquote(parts.password) if parts.password else None

    def connect_url(self, *, substream: bool = False) -> str:
        """The URL to open, with credentials filled in. Never log or return it."""
        base = self.substream_url if substream and self.substream_url else self.url
        user, password = self.credentials()
        parts = urlsplit(base)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = host if parts.port is None else f"{host}:{parts.port}"
        if user:
            auth = quote(user, safe="")
            if password:
                auth += ":" + quote(password, safe="")
            netloc = f"{auth}@{netloc}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class SiteSettings(Strict):
    """A station or squad with its rooms."""

    id: Identifier
    name: str = Field(min_length=1, max_length=100, description="the station's name")
    unit_code: str | None = Field(
        default=None, pattern=r"^\d{12}$", description="12-digit unit code of the station"
    )
    cameras: list[CameraSettings] = Field(default_factory=list, description="its cameras")


class AccessSettings(Strict):
    """Sign-in: sessions, lock-out after failed attempts, the password policy."""

    session_idle_minutes: float = Field(
        default=30.0, ge=1, le=24 * 60, description="a session unused this long ends"
    )
    session_max_hours: float = Field(
        default=12.0, ge=0.1, le=24 * 30, description="a session ends this long after sign-in"
    )
    max_failed_signins: int = Field(
        default=5, ge=1, le=100, description="failed sign-ins of one account before it locks"
    )
    max_failed_signins_per_address: int = Field(
        default=20, ge=1, le=10_000, description="failed sign-ins from one address before it locks"
    )
    lockout_minutes: float = Field(
        default=15.0, ge=0.1, le=24 * 60, description="how long a lock-out lasts"
    )
    password_min_length: int = Field(default=12, ge=8, le=128, description="password policy")
    four_eyes: bool = Field(
        default=True,
        description="exports of interrogation footage and hold releases wait for a second "
        "user's approval (an inspector or admin other than the requester)",
    )


class LoggingSettings(Strict):
    """Log output."""

    level: str = Field(
        default="info",
        pattern=r"^(debug|info|warning|error)$",
        description="debug, info, warning or error",
    )


class PlaybackSettings(Strict):
    """Recorded playback."""

    rendition_cache: Path = Field(
        default=Path("data/renditions"),
        description="where H.264 renditions of H.265 segments are kept for browsers that cannot "
        "decode H.265 (never evidence: exports use the recorded files)",
    )
    rendition_cache_gb: float = Field(
        default=20.0, ge=0, le=100_000, description="their size at most (0: keep none)"
    )


class Settings(Strict):
    """The whole configuration of one casewatch node."""

    storage: StorageSettings = Field(default_factory=StorageSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    recorder: RecorderSettings = Field(default_factory=RecorderSettings)
    relay: RelaySettings = Field(default_factory=RelaySettings)
    alarms: AlarmSettings = Field(default_factory=AlarmSettings)
    cases: CaseSettings = Field(default_factory=CaseSettings)
    export: ExportSettings = Field(default_factory=ExportSettings)
    playback: PlaybackSettings = Field(default_factory=PlaybackSettings)
    access: AccessSettings = Field(default_factory=AccessSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    patrol: PatrolSettings = Field(default_factory=PatrolSettings)
    timezone: str = Field(
        default="Asia/Shanghai",
        description="the branch's time zone (IANA name): schedules, periods, days and every "
        "time shown; storage stays UTC",
    )
    sites: list[SiteSettings] = Field(default_factory=list, description="stations and cameras")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name: Asia/Shanghai)") from None
        return value

    def zone(self) -> ZoneInfo:
        """The branch's time zone."""
        return ZoneInfo(self.timezone)

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        seen_sites: set[str] = set()
        seen_cameras: dict[str, str] = {}
        for site in self.sites:
            if site.id in seen_sites:
                raise ValueError(f"site id {site.id!r} is used twice")
            seen_sites.add(site.id)
            for camera in site.cameras:
                if camera.id in seen_cameras:
                    raise ValueError(
                        f"camera id {camera.id!r} is used twice "
                        f"(sites {seen_cameras[camera.id]!r} and {site.id!r})"
                    )
                seen_cameras[camera.id] = site.id
        return self

    def cameras(self) -> list[tuple[SiteSettings, CameraSettings]]:
        """Every camera with its site, in config order."""
        return [(site, camera) for site in self.sites for camera in site.cameras]

    def relative_to(self, base: Path) -> Settings:
        """Resolve the relative paths (storage, SQLite, exports, keys, TLS, renditions, patrol)
        against ``base``."""
        storage = self.storage.model_copy(update={"path": _resolve(base, self.storage.path)})
        url = self.database.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            url = prefix + str(_resolve(base, Path(url.removeprefix(prefix))))
        database = self.database.model_copy(update={"url": url})
        export = self.export.model_copy(
            update={
                "path": _resolve(base, self.export.path),
                "signing_key": _resolve(base, self.export.signing_key),
            }
        )
        server = self.server
        if server.tls is not None:
            tls = TlsSettings(
                cert=_resolve(base, server.tls.cert), key=_resolve(base, server.tls.key)
            )
            server = server.model_copy(update={"tls": tls})
        playback = self.playback.model_copy(
            update={"rendition_cache": _resolve(base, self.playback.rendition_cache)}
        )
        patrol = self.patrol.model_copy(update={"path": _resolve(base, self.patrol.path)})
        return self.model_copy(
            update={
                "storage": storage,
                "database": database,
                "export": export,
                "server": server,
                "playback": playback,
                "patrol": patrol,
            }
        )


def _resolve(base: Path, path: Path) -> Path:
    return path if path.is_absolute() else (base / path).resolve()


def settings_from_mapping(data: Any) -> Settings:
    """Validate a mapping (parsed YAML) into settings; raises pydantic.ValidationError."""
    return Settings.model_validate(data)
