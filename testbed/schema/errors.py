"""The error a configuration file raises when it does not fit its schema.

Every message reads ``FILE: KEY.PATH: what was expected, got what`` so a user can go straight to
the line; an unknown key adds ``did you mean 'KEY'?`` when a known key is close to it.
"""

from __future__ import annotations

from testbed.errors import ConfigError

__all__ = ["KeyPathError", "SchemaError", "join_path"]


def join_path(path: str, key: str | int) -> str:
    """``workload`` + ``mix`` -> ``workload.mix``; ``workload.mix`` + 2 -> ``workload.mix[2]``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class SchemaError(ConfigError):
    """A configuration file is invalid; ``file``, ``path`` (of the first problem) and ``detail``
    are kept apart for callers that show them apart. An empty ``file`` (a mapping that came from
    no file) leaves the message starting with the key path."""

    def __init__(self, file: str, path: str, detail: str, more: tuple[str, ...] = ()) -> None:
        where = ": ".join(part for part in (file, path) if part)
        text = f"{where}: {detail}" if where else detail
        if more:
            text += "".join(f"\n  also {line}" for line in more)
        super().__init__(text)
        self.file = file
        self.path = path
        self.detail = detail
        self.more = more


class KeyPathError(ValueError):
    """Raised inside a model validator to name a key below the model, e.g. ``faults[2].name``
    for a duplicate found while checking the whole list; the path is relative to the model."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message
