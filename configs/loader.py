"""Load settings from a YAML file with errors that name the key path and the reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from configs.schema import Settings

PACKAGE_DIR = Path(__file__).resolve().parent


class ConfigError(Exception):
    """A configuration that cannot be used; ``str()`` is the message for the user."""


def format_location(location: tuple[int | str, ...]) -> str:
    """``('sites', 0, 'cameras', 1, 'url')`` → ``sites[0].cameras[1].url``."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def describe_validation_error(error: ValidationError) -> str:
    """One line per problem: ``key.path: reason``."""
    lines = []
    for item in error.errors(include_url=False):
        location = tuple(
            part
            for part in item["loc"]
            if not (isinstance(part, str) and part.startswith("function-"))
        )
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        lines.append(f"{format_location(location)}: {message}")
    return "\n".join(lines)


def parse_settings(data: Any, *, source: str = "config") -> Settings:
    """Validate parsed YAML into settings or raise ConfigError."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of keys")
    try:
        return Settings.model_validate(data)
    except ValidationError as error:
        raise ConfigError(
            f"{source}: invalid configuration\n{describe_validation_error(error)}"
        ) from None


def load_settings(path: Path, *, base: Path | None = None) -> Settings:
    """Read, validate and resolve a YAML settings file.

    Relative paths in the file (storage, SQLite database) are resolved against ``base``,
    the current directory by default.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read ({error})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "malformed YAML"
        raise ConfigError(f"{path}: not valid YAML{where}: {problem}") from None
    settings = parse_settings(data, source=str(path))
    return settings.relative_to(base or Path.cwd())
