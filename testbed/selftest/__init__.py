"""``testbed selftest``: the seeded-defect catalogue and the run that proves every check catches
its defect and passes on the clean reference gateway (RUN-05). docs/selftest.md describes it."""

from __future__ import annotations

from testbed.selftest.catalogue import CATALOGUE, Defect
from testbed.selftest.run import selftest_main

__all__ = ["CATALOGUE", "Defect", "selftest_main"]
