"""wait_until: returns the first truthy value, honours its deadline and its abort reason."""

from __future__ import annotations

import itertools

import pytest

from testbed.errors import WaitTimeout
from testbed.waiting import wait_until, wait_until_async


def test_returns_the_first_truthy_value() -> None:
    counter = itertools.count()
    assert wait_until(lambda: next(counter) >= 3 and "done", timeout=5) == "done"


def test_raises_after_the_deadline() -> None:
    with pytest.raises(WaitTimeout, match="never"):
        wait_until(lambda: False, timeout=0.05, what="never")


def test_abort_reason_ends_the_wait_early() -> None:
    with pytest.raises(WaitTimeout, match="process exited"):
        wait_until(lambda: False, timeout=30, abort=lambda: "process exited")


async def test_async_variant_accepts_coroutine_conditions() -> None:
    counter = itertools.count()

    async def cond() -> bool:
        return next(counter) >= 2

    assert await wait_until_async(cond, timeout=5) is True
    with pytest.raises(WaitTimeout):
        await wait_until_async(lambda: 0, timeout=0.05)
