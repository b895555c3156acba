"""Behaviour rules: strict parsing naming the bad field and what was expected (with "did you mean" for a
misspelt key or header), model matching, x-fake headers, gating, and the behaviours file."""

from __future__ import annotations

import pytest

from fake_providers.behaviour_store import BehaviourStore
from fake_providers.behaviours import (
    HEADER_FIELDS,
    BEHAVIOURS_MODEL,
    BehaviourError,
    MidStreamError,
    Truncate,
    header_overrides,
    parse_rules,
    select,
)
from fake_providers.settings import load_behaviours_file
from fake_providers.wire import Provider
from testbed.errors import ConfigError
from testbed.schema import SchemaError


def test_a_full_rule_parses_into_typed_fields() -> None:
    (rule,) = parse_rules([{
        "name": "r", "model": "gpt-*", "provider": "openai", "latency_ms": 5, "ttft_ms": 1.5,
        "status": 429, "times": 2, "retry_after_ms": 20, "mid_stream_error": {"after_chunks": 3},
        "truncate": {"after_bytes": 100}, "finish_reason": "length", "usage_chunk": False,
    }])  # fmt: skip
    assert rule.provider is Provider.OPENAI and rule.status == 429 and rule.times == 2
    assert rule.mid_stream_error == MidStreamError(after_chunks=3)
    assert rule.truncate == Truncate(after_bytes=100)
    assert rule.to_dict()["model"] == "gpt-*"


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ({"model": "x"}, "behaviours"),
        ([{"statuss": 500}], "behaviours[0].statuss"),
        ([{"status": 200}], "behaviours[0].status"),
        ([{}, {"status": "500"}], "behaviours[1].status"),
        ([{"probability": 1.5}], "behaviours[0].probability"),
        ([{"latency_ms": True}], "behaviours[0].latency_ms"),
        ([{"provider": "cohere"}], "behaviours[0].provider"),
        ([{"finish_reason": "bored"}], "behaviours[0].finish_reason"),
        ([{"mid_stream_error": {"after": 1}}], "behaviours[0].mid_stream_error.after"),
        ([{"truncate": {}}], "behaviours[0].truncate"),
        ([{"slow_body": {"chunk_bytes": 4}}], "behaviours[0].slow_body.bytes_per_s"),
        ([{"times": 1.5}], "behaviours[0].times"),
        ([{"retry_after": "a\nb"}], "behaviours[0].retry_after"),
    ],
    ids=["not-a-list", "unknown-key", "status-out-of-range", "status-as-string", "probability-over-1",
         "bool-as-number", "unknown-provider", "unknown-finish", "unknown-group-key", "truncate-needs-one",
         "slow-body-needs-rate", "fractional-times", "header-injection"],
)  # fmt: skip
def test_a_bad_rule_is_rejected_with_its_field_path(rules: object, field: str) -> None:
    with pytest.raises(BehaviourError) as info:
        parse_rules(rules)
    assert info.value.field == field


def test_the_first_rule_matching_model_and_provider_wins() -> None:
    rules = parse_rules([
        {"name": "anthropic-only", "model": "*", "provider": "anthropic"},
        {"name": "gpt", "model": "gpt-4o*"},
        {"name": "all", "model": "*"},
    ])  # fmt: skip
    assert select(rules, "gpt-4o-mini", Provider.OPENAI).name == "gpt"
    assert select(rules, "claude", Provider.ANTHROPIC).name == "anthropic-only"
    assert select(rules, "gemini-2.0-flash", Provider.GEMINI).name == "all"
    assert select(rules[:2], "GPT-4O", Provider.OPENAI) is None


def test_every_rule_field_has_an_x_fake_header() -> None:
    assert "x-fake-status" in HEADER_FIELDS and "x-fake-mid-stream-error-after-chunks" in HEADER_FIELDS
    assert HEADER_FIELDS["x-fake-slow-body-bytes-per-s"] == ("slow_body", "bytes_per_s")
    assert header_overrides({"x-fake-status": "503", "x-fake-usage-chunk": "off", "accept": "*/*"}) == {
        "status": 503, "usage_chunk": False,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("headers", "field"),
    [({"x-fake-status": "abc"}, "x-fake-status"), ({"x-fake-nope": "1"}, "x-fake-nope"),
     ({"x-fake-usage-chunk": "maybe"}, "x-fake-usage-chunk"), ({"x-fake-status": "700"}, "x-fake-status")],
    ids=["not-a-number", "unknown-header", "not-a-bool", "out-of-range"],
)  # fmt: skip
def test_a_bad_x_fake_header_names_the_header(headers: dict[str, str], field: str) -> None:
    with pytest.raises(BehaviourError) as info:
        header_overrides(headers)
    assert info.value.field == field


def test_times_fires_the_fault_for_the_first_n_requests_then_serves_normally() -> None:
    store = BehaviourStore(parse_rules([{"model": "m", "status": 503, "times": 2}]), seed=0)
    fired = [store.decide("m", Provider.OPENAI, False, {}).fire for _ in range(4)]
    assert fired == [True, True, False, False]
    store.reset()
    assert store.decide("m", Provider.OPENAI, False, {}).fire


def test_stream_only_faults_do_not_consume_times_on_plain_requests() -> None:
    store = BehaviourStore(parse_rules([{"model": "m", "mid_stream_error": {}, "times": 1}]), seed=0)
    assert not store.decide("m", Provider.OPENAI, False, {}).fire
    assert store.decide("m", Provider.OPENAI, True, {}).fire
    assert not store.decide("m", Provider.OPENAI, True, {}).fire


def test_probability_draws_from_the_seeded_rng_reproducibly() -> None:
    def draws(seed: int) -> list[bool]:
        store = BehaviourStore(parse_rules([{"model": "*", "status": 500, "probability": 0.5}]), seed=seed)
        return [store.decide("m", Provider.OPENAI, False, {}).fire for _ in range(40)]

    assert draws(1) == draws(1)
    assert 5 < sum(draws(1)) < 35
    assert draws(1) != draws(2)


def test_header_faults_share_a_counter_across_retries_of_the_same_request() -> None:
    store = BehaviourStore((), seed=0)
    headers = {"x-fake-status": "429", "x-fake-times": "1"}
    assert store.decide("m", Provider.OPENAI, False, headers).fire
    assert not store.decide("m", Provider.OPENAI, False, headers).fire


def test_headers_override_the_matched_rule_field_by_field() -> None:
    store = BehaviourStore(parse_rules([{"model": "m", "latency_ms": 50, "ttft_ms": 7}]), seed=0)
    rule = store.decide("m", Provider.OPENAI, False, {"x-fake-latency-ms": "1"}).rule
    assert (rule.latency_ms, rule.ttft_ms) == (1.0, 7.0)


def test_the_behaviours_file_uses_the_same_schema(tmp_path) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "good.yaml"
    good.write_text("behaviours:\n  - {model: 'gpt-*', status: 503, times: 1}\n")
    assert load_behaviours_file(good)[0].status == 503
    bad = tmp_path / "bad.yaml"
    bad.write_text("behaviours:\n  - {model: 'gpt-*', status: 'x'}\n")
    with pytest.raises(SchemaError) as info:
        load_behaviours_file(bad)
    assert (info.value.file, info.value.path) == (str(bad), "behaviours[0].status")
    assert info.value.detail == "expected an integer, got a string 'x'" and isinstance(info.value, ConfigError)
    extra = tmp_path / "extra.yaml"
    extra.write_text("rules: []\n")
    with pytest.raises(SchemaError, match="rules: unknown key 'rules'"):
        load_behaviours_file(extra)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert load_behaviours_file(empty) == ()


def test_a_misspelt_key_gets_a_did_you_mean_in_the_file_and_the_api(tmp_path) -> None:  # type: ignore[no-untyped-def]
    typo = tmp_path / "typo.yaml"
    typo.write_text("behaviour:\n  - {model: x}\n")
    with pytest.raises(SchemaError, match=r"behaviour: unknown key 'behaviour'; did you mean 'behaviours'\?"):
        load_behaviours_file(typo)
    with pytest.raises(BehaviourError) as info:
        parse_rules([{"model": "x", "hang": {"hold": 5}}])
    assert info.value.field == "behaviours[0].hang.hold"
    assert info.value.message.startswith("unknown key 'hold'; did you mean 'hold_ms'?")


def test_a_misspelt_x_fake_header_gets_a_did_you_mean() -> None:
    with pytest.raises(BehaviourError) as info:
        header_overrides({"x-fake-stauts": "503"})
    assert info.value.field == "x-fake-stauts" and "did you mean 'x-fake-status'?" in info.value.message


def test_null_means_not_set_but_an_unknown_key_is_refused_even_when_null() -> None:
    (rule,) = parse_rules([{"model": "m", "latency_ms": None, "status": None}])
    assert rule.latency_ms == 0.0 and rule.status is None and rule.to_dict() == {"model": "m"}
    with pytest.raises(BehaviourError) as info:
        parse_rules([{"model": "m", "statsu": None}])
    assert info.value.field == "behaviours[0].statsu"


def test_the_behaviours_schema_is_exported_for_the_schema_command() -> None:
    schema = BEHAVIOURS_MODEL.model_json_schema()
    assert schema["additionalProperties"] is False and "behaviours" in schema["properties"]
    rule = schema["$defs"]["BehaviourRule"]
    assert rule["additionalProperties"] is False and "stop" in rule["properties"]["finish_reason"]["anyOf"][0]["enum"]
