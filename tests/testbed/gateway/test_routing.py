"""Routing (pure): weighted target order with a seeded RNG, fallback order, re-sends to the same
target carrying ``resend_count`` (GW-02), and which statuses fall back."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from testbed.gateway.config import ModelConfig, TargetConfig
from testbed.gateway.routing import Router, is_retryable_status


def target(tid: str, weight: float = 1.0, retries: int = 0) -> TargetConfig:
    return TargetConfig(id=tid, provider="openai", model=tid, base_url="http://h:1", api_key="k",
                        weight=weight, retries=retries)


def router(*targets: TargetConfig, seed: int = 7) -> Router:
    return Router({"m": ModelConfig("m", tuple(targets))}, random.Random(seed))


def test_an_unknown_model_has_an_empty_plan() -> None:
    assert router(target("a")).plan("other") == []


def test_every_target_appears_once_so_all_are_fallbacks() -> None:
    r = router(target("a"), target("b"), target("c"))
    for _ in range(50):
        assert sorted(p.target.id for p in r.plan("m")) == ["a", "b", "c"]


def test_the_first_choice_follows_the_weights() -> None:
    r = router(target("heavy", 3.0), target("light", 1.0), seed=1)
    firsts = Counter(r.plan("m")[0].target.id for _ in range(4000))
    share = firsts["heavy"] / 4000
    assert 0.70 < share < 0.80, share


def test_weight_zero_targets_are_only_fallbacks_in_config_order() -> None:
    r = router(target("z1", 0), target("main", 1), target("z2", 0))
    for _ in range(20):
        assert [p.target.id for p in r.plan("m")] == ["main", "z1", "z2"]


def test_the_same_seed_gives_the_same_order() -> None:
    targets = [target(str(i)) for i in range(5)]
    a = [[p.target.id for p in router(*targets, seed=3).plan("m")] for _ in range(1)]
    b = [[p.target.id for p in router(*targets, seed=3).plan("m")] for _ in range(1)]
    assert a == b


def test_retries_resend_to_the_same_target_before_falling_back() -> None:
    r = router(target("a", 1, retries=2), target("b", 0))
    assert [(p.target.id, p.resend_count) for p in r.plan("m")] == [("a", 0), ("a", 1), ("a", 2), ("b", 0)]


@pytest.mark.parametrize(("status", "retry"), [(429, True), (500, True), (503, True), (529, True), (408, True),
                                               (400, False), (401, False), (404, False), (413, False)])
def test_only_throttling_timeouts_and_server_errors_fall_back(status: int, retry: bool) -> None:
    assert is_retryable_status(status) is retry
