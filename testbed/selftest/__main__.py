"""``python -m testbed.selftest [--defect NAME] [--list]``: the same as ``testbed selftest``."""

from __future__ import annotations

import sys

from testbed.selftest.run import selftest_main

if __name__ == "__main__":
    sys.exit(selftest_main())
