"""Exporter defect switches (selftest only, RUN-05): off by default and validated by name; each
changes exactly what it claims in the span mapping or the retry decision, and nothing else. With no
switch on, the service gets the production mapping, decision and sender themselves."""

from __future__ import annotations

import re

import dataclasses
import random

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from testbed.errors import ConfigError
from testbed.exporter.config import parse_config
from testbed.exporter.defects import (
    DEFECTS_ENV, DEPRECATED_ATTRIBUTE_NAMES, GEN_AI_ON_SERVER_SPAN, IGNORE_RETRY_AFTER, LOSE_SPANS_ON_RETRY,
    RETRY_ON_400, WRONG_SPAN_KIND, corrupt_spans, retry_decider, span_mapper, wrap_sender,
)
from testbed.exporter.mapping import map_event
from testbed.exporter.retry import Action, AttemptResult, RetryPolicy, decide
from testbed.exporter.sender import Sender, SenderSettings
from testbed.exporter.spans import KIND_CLIENT, KIND_INTERNAL, KIND_SERVER
from testbed.runner.configs import exporter_config
from testbed.runner.stack import StackSettings
from testbed.selftest.catalogue import by_name
from testbed.selftest.switches import exporter_overrides
from tests.testbed.exporter.clock import FakeClock
from tests.testbed.exporter.events import event
from tests.testbed.exporter.receiver import Receiver, Reply, create_receiver_app


def _decide(result: AttemptResult, *defects: str) -> tuple[Action, float, str]:
    d = retry_decider(frozenset(defects))(result, 0, 30.0, RetryPolicy(), random.Random(3), 1_700_000_000.0)
    return d.action, d.delay_s, d.reason


# --- configuration ---------------------------------------------------------------------------

def test_no_defect_is_on_unless_named() -> None:
    assert parse_config({}, {}).defects == frozenset()


@pytest.mark.parametrize("value", [["retry_on_400", "wrong_span_kind"], {"retry_on_400": True, "wrong_span_kind": True,
                                                                          "ignore_retry_after": False}])
def test_the_defects_section_takes_a_list_or_a_mapping(value: object) -> None:
    config = parse_config({"defects": value}, {})
    assert config.defects == {RETRY_ON_400, WRONG_SPAN_KIND} and config.retry == parse_config({}, {}).retry


def test_the_variable_is_merged_with_the_config() -> None:
    config = parse_config({"defects": ["retry_on_400"]}, {DEFECTS_ENV: "ignore_retry_after, wrong_span_kind"})
    assert config.defects == {RETRY_ON_400, IGNORE_RETRY_AFTER, WRONG_SPAN_KIND}


@pytest.mark.parametrize(("data", "env", "path"), [
    ({"defects": ["retry_on_400", "retry_on_401"]}, {}, "defects[1]"),
    ({"defects": {"retry_on_401": False}}, {}, "defects.retry_on_401"),
    ({"defects": {"retry_on_400": "yes"}}, {}, "defects.retry_on_400"),
    ({"defects": 3}, {}, "defects"),
    ({}, {DEFECTS_ENV: "typo"}, DEFECTS_ENV),
])
def test_an_unknown_or_malformed_defect_is_refused_naming_the_key(data: dict, env: dict, path: str) -> None:
    with pytest.raises(ConfigError, match=rf"^{re.escape(path)}: "):
        parse_config(data, env)


def test_the_selftest_override_survives_the_stacks_section_merge() -> None:
    [defect] = by_name(["lose_spans_on_retry"])
    settings = StackSettings(exporter_overrides=exporter_overrides(defect))
    document = exporter_config(settings, "http://127.0.0.1:1", "nats://127.0.0.1:2", "127.0.0.1")
    assert parse_config(document, {}).defects == {LOSE_SPANS_ON_RETRY}


# --- start-up seams ---------------------------------------------------------------------------

def test_without_defects_the_service_gets_the_production_mapping_decision_and_sender() -> None:
    sender = object()
    assert span_mapper(frozenset()) is map_event
    assert retry_decider(frozenset()) is decide
    assert wrap_sender(sender, frozenset()) is sender  # type: ignore[arg-type]


def test_a_span_defect_leaves_the_decision_alone_and_a_retry_defect_still_tags_the_spans() -> None:
    assert retry_decider(frozenset({WRONG_SPAN_KIND, "lose_spans_on_retry@1/4"})) is decide
    [server, _] = span_mapper(frozenset({RETRY_ON_400}))(event(), "1.0")
    assert server.resource["testbed.defects"] == RETRY_ON_400


# --- span mapping ----------------------------------------------------------------------------

def test_without_defects_the_spans_are_returned_untouched() -> None:
    spans = map_event(event())
    assert corrupt_spans(spans, frozenset()) is spans


def test_wrong_span_kind_turns_only_genai_client_spans_internal() -> None:
    server, client = corrupt_spans(map_event(event()), frozenset({WRONG_SPAN_KIND}))
    assert (server.kind, client.kind) == (KIND_SERVER, KIND_INTERNAL)
    clean_client = map_event(event())[1]
    assert clean_client.kind == KIND_CLIENT and client.attributes == clean_client.attributes


def test_deprecated_attribute_names_rename_provider_and_usage_keeping_values_sem_23() -> None:
    clean = map_event(event())[1]
    [_, client] = corrupt_spans(map_event(event()), frozenset({DEPRECATED_ATTRIBUTE_NAMES}))
    assert "gen_ai.provider.name" not in client.attributes and "gen_ai.usage.input_tokens" not in client.attributes
    assert client.attributes["gen_ai.system"] == clean.attributes["gen_ai.provider.name"]
    assert client.attributes["gen_ai.usage.prompt_tokens"] == clean.attributes["gen_ai.usage.input_tokens"]
    assert client.attributes["gen_ai.usage.completion_tokens"] == clean.attributes["gen_ai.usage.output_tokens"]
    assert len(client.attributes) == len(clean.attributes)


def test_gen_ai_on_server_span_adds_the_requested_model_to_the_server_span_only_gw_01() -> None:
    clean = map_event(event())
    server, client = corrupt_spans(map_event(event()), frozenset({GEN_AI_ON_SERVER_SPAN}))
    assert server.attributes["gen_ai.request.model"] == "fast"
    assert {k: v for k, v in server.attributes.items() if k != "gen_ai.request.model"} == clean[0].attributes
    assert client.attributes == clean[1].attributes


def test_every_span_of_a_defective_exporter_names_the_defects_in_its_resource() -> None:
    spans = map_event(event(resource={"service.name": "gw", "testbed.defects": "wrong_usage"}))
    tagged = corrupt_spans(spans, frozenset({RETRY_ON_400}))
    assert {s.resource["testbed.defects"] for s in tagged} == {"retry_on_400,wrong_usage"}
    assert [dataclasses.replace(s, resource=spans[0].resource) for s in tagged] == spans


# --- retry decisions -------------------------------------------------------------------------

def test_retry_on_400_retries_a_400_and_leaves_every_other_status_alone_otlp_08() -> None:
    assert _decide(AttemptResult(status=400))[0] is Action.DROP
    assert _decide(AttemptResult(status=400), RETRY_ON_400)[0] is Action.RETRY
    for status in (401, 500):
        assert _decide(AttemptResult(status=status), RETRY_ON_400) == _decide(AttemptResult(status=status))


def test_retry_on_400_with_ignore_retry_after_backs_off_a_hinted_400() -> None:
    hinted = AttemptResult(status=400, retry_after="7")
    assert _decide(hinted, RETRY_ON_400)[:2] == (Action.RETRY, 7.0)
    action, delay, reason = _decide(hinted, RETRY_ON_400, IGNORE_RETRY_AFTER)
    assert action is Action.RETRY and 0.4 <= delay <= 0.6 and reason == "status_400"


def test_retry_on_400_leaves_an_oversized_400_answer_dropped_otlp_13() -> None:
    result = AttemptResult(status=400, response_too_large=True)
    assert _decide(result, RETRY_ON_400) == _decide(result) == (Action.DROP, 0.0, "response_too_large")


def test_ignore_retry_after_falls_back_to_backoff_otlp_09() -> None:
    hinted = AttemptResult(status=429, retry_after="7")
    assert _decide(hinted)[1] == 7.0
    action, delay, _ = _decide(hinted, IGNORE_RETRY_AFTER)
    assert action is Action.RETRY and 0.4 <= delay <= 0.6
    assert _decide(AttemptResult(status=503), IGNORE_RETRY_AFTER) == _decide(AttemptResult(status=503))


@pytest.mark.parametrize("result", [AttemptResult(status=503), AttemptResult(status=429, retry_after="45"),
                                    AttemptResult(error="connection_error")])
def test_lose_spans_on_retry_reports_a_retryable_failure_as_exported(result: AttemptResult) -> None:
    assert _decide(result)[0] in (Action.RETRY, Action.NAK)
    assert _decide(result, LOSE_SPANS_ON_RETRY)[0] is Action.EXPORTED


def test_lose_spans_on_retry_leaves_permanent_and_successful_outcomes_alone() -> None:
    for result in (AttemptResult(status=200), AttemptResult(status=400), AttemptResult(status=413)):
        assert _decide(result, LOSE_SPANS_ON_RETRY) == _decide(result)


async def test_a_sender_losing_spans_on_retry_sends_once_and_claims_the_batch_exported_loss_01() -> None:
    receiver = Receiver([Reply(503)])
    server = TestServer(create_receiver_app(receiver), host="127.0.0.1")
    await server.start_server()
    clock = FakeClock()
    try:
        async with aiohttp.ClientSession() as session:
            sender = Sender(session, SenderSettings(endpoint=str(server.make_url("/v1/traces"))),
                            RetryPolicy(), clock=clock, rng=random.Random(1),
                            decider=retry_decider(frozenset({LOSE_SPANS_ON_RETRY})))
            [outcome] = await sender.export([map_event(event())])
    finally:
        await server.close()
    assert len(receiver.received) == 1 and clock.sleeps == []
    assert outcome.exported == 2 and outcome.dropped == {} and outcome.nak_delay_s is None
    assert receiver.accepted_keys() == []
