"""Build the simulator's mount list from CLI defaults, `--mount` names and a YAML file.

The YAML file is a list of mounts, each a mapping of `MountSpec` fields; fields left out take the
CLI defaults (`--size`, `--fps`, `--gop`, `--bitrate`, `--video-codec`, `--bframes`,
`--audio-codec`, `--auth`, `--user`, `--password`)::

    - name: qingjiang/int-1
      label: Interrogation 1
    - name: qingjiang/corridor
      width: 640
      height: 360
      audio: false
    - name: qingjiang/hik-1          # what a Hikvision camera sends by default
      video_codec: h265
      audio_codec: pcma
      auth: digest
      user: admin
      password: Hik12345

Default credentials (`--user`, `--password`) only go to mounts that end up with auth, so a
mount may say `auth: none` under a CLI-wide `--auth digest`.

Errors raise `ConfigError` with a message naming the file, the mount index and the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .errors import ConfigError
from .spec import AuthMethod, MountSpec

CREDENTIAL_FIELDS = ("user", "password")


def format_validation_error(exc: ValidationError, where: str) -> str:
    """One line per problem: `where.field: message (got value)`."""
    lines = []
    for err in exc.errors():
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
        got = f" (got {err['input']!r})" if "input" in err and err["type"] != "missing" else ""
        if err["type"] == "extra_forbidden":
            got = ""
        lines.append(f"{where}{loc}: {err['msg']}{got}")
    return "\n".join(lines)


def build_mount(entry: Mapping[str, Any], defaults: Mapping[str, Any], where: str) -> MountSpec:
    """Validate one mount mapping on top of `defaults`; raises ConfigError."""
    merged = {**defaults, **entry}
    if merged.get("auth", AuthMethod.NONE.value) == AuthMethod.NONE.value:
        for key in CREDENTIAL_FIELDS:
            if key not in entry:
                merged.pop(key, None)
    try:
        return MountSpec.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, where)) from exc


def load_config(path: Path, defaults: Mapping[str, Any]) -> list[MountSpec]:
    """Read a YAML list of mounts; raises ConfigError on any problem."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from exc
    if not isinstance(data, list) or not data:
        raise ConfigError(f"{path}: expected a non-empty YAML list of mounts")
    mounts = []
    problems = []
    for index, entry in enumerate(data):
        where = f"{path}: mounts[{index}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: expected a mapping of mount fields")
            continue
        try:
            mounts.append(build_mount(entry, defaults, where))
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError("\n".join(problems))
    return mounts


def check_unique(mounts: Iterable[MountSpec]) -> list[MountSpec]:
    """Return the mounts as a list; raises ConfigError on duplicate names, or on a user name
    given different passwords for one auth method (the server keeps one password per user
    and method, as a camera does)."""
    seen: set[str] = set()
    passwords: dict[tuple[AuthMethod, str], tuple[str, str]] = {}
    result = []
    for mount in mounts:
        if mount.name in seen:
            raise ConfigError(f"duplicate mount name {mount.name!r}")
        seen.add(mount.name)
        if mount.user is not None and mount.password is not None:
            known = passwords.setdefault((mount.auth, mount.user), (mount.password, mount.name))
            if known[0] != mount.password:
                raise ConfigError(
                    f"mount {mount.name!r}.password: user {mount.user!r} has another "
                    f"{mount.auth.value} password on mount {known[1]!r}"
                )
        result.append(mount)
    return result
