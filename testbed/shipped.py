"""Where the shipped scenarios and gateway profiles are, in a source tree and in an installed wheel.

In a checkout (or an editable install) they sit next to the packages, in ``scenarios/`` and
``profiles/``. A wheel installs them as data files under ``<prefix>/share/ai-gateway-testbed/``
(pyproject.toml, ``[tool.setuptools.data-files]``), because they are user-facing files, not Python
modules; ``<prefix>`` is the environment's data path (the venv, or the user base for ``--user``).
"""

from __future__ import annotations

import site
import sys
import sysconfig
from pathlib import Path
from typing import Final, Literal

DATA_NAME: Final = "ai-gateway-testbed"
Shipped = Literal["scenarios", "profiles"]


def shipped_dir(kind: Shipped) -> Path:
    """The directory of shipped ``kind``; the source tree's when it exists (so edits show at once)."""
    source = Path(__file__).resolve().parents[1] / kind
    if source.is_dir():
        return source
    for base in _data_prefixes():
        candidate = Path(base) / "share" / DATA_NAME / kind
        if candidate.is_dir():
            return candidate
    return source  # callers report the missing directory with its path


def _data_prefixes() -> list[str]:
    prefixes = [sysconfig.get_path("data"), sys.prefix, sys.base_prefix]
    user = getattr(site, "USER_BASE", None)
    if user:
        prefixes.append(user)
    return [p for p in prefixes if p]
