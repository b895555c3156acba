"""``python -m testbed`` is the ``testbed`` command."""

from __future__ import annotations

import sys

from testbed.cli import main

sys.exit(main())
