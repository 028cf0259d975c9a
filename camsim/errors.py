"""Exceptions of the camera simulator, shared by the server, the control API and the CLI."""


class SimulatorError(Exception):
    """Base class of simulator errors."""


class ConfigError(SimulatorError):
    """The simulator configuration (CLI options or YAML file) is invalid."""


class EncodeError(SimulatorError):
    """ffmpeg failed to produce a loop file."""


class UnknownMountError(SimulatorError, KeyError):
    """No mount has the requested name."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"unknown mount {self.name!r}"


class MountConflictError(SimulatorError):
    """The request does not apply to this mount (e.g. audio fault on a mount without audio)."""
