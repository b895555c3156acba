"""The optional admin key of the fakes' admin routes, and keys read from the environment or a file.

Admin routes (the ingest's query, fault and reset routes; the providers' ``/_fake/*``) change or
reveal what a run judges. With an admin key configured, a request to them must carry it in
``X-Admin-Key``; without one they stay open, as a loopback test bed expects. ``testbed up``
turns the key on when it binds a non-loopback address.

Keys never travel on a command line (``ps`` shows every argument to every user): servers read
them from an environment variable or a file (one key per line, ``#`` comments and blank lines
ignored). Comparison is in constant time.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

ADMIN_HEADER: Final = "X-Admin-Key"

GATEWAY_API_KEY_ENV: Final = "TESTBED_GATEWAY_API_KEY"
"""``testbed up``'s gateway key when ``--gateway-api-key`` is not given. Default: generated."""

MIDDLEWARE_API_KEY_ENV: Final = "TESTBED_MIDDLEWARE_API_KEY"
"""``testbed up``'s ingest key when ``--middleware-api-key`` is not given. Default: generated."""


def admin_allowed(presented: str | None, key: str | None) -> bool:
    """True when no admin key is set, or ``presented`` is that key."""
    if not key:
        return True
    return presented is not None and hmac.compare_digest(presented.encode("utf-8", "surrogateescape"),
                                                         key.encode("utf-8"))


def is_loopback(host: str) -> bool:
    """``127.0.0.0/8``, ``::1`` and ``localhost`` are loopback; anything else (``0.0.0.0`` too) is not."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def read_key_file(path: str | os.PathLike[str]) -> list[str]:
    """The keys in a file, one per line; OSError or ValueError (empty file) with the path named."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    keys = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not keys:
        raise ValueError(f"{path}: no key in the file")
    return keys


def env_keys(environ: Mapping[str, str], name: str) -> list[str]:
    """The keys in an environment variable: comma- or newline-separated, blanks ignored."""
    raw = environ.get(name, "")
    return [part.strip() for part in raw.replace("\n", ",").split(",") if part.strip()]


def resolve_keys(from_args: list[str], key_file: str | None, environ: Mapping[str, str], env_name: str) -> list[str]:
    """One precedence for every server: explicit keys (the file's, then command-line values), else the
    environment variable's."""
    explicit = (read_key_file(key_file) if key_file else []) + list(from_args)
    return explicit or env_keys(environ, env_name)
