"""The check registry and the never-raise guarantee: every check is registered with its SPEC ids,
a bug inside a check becomes an ``error`` result, and random evidence never makes a check raise."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testbed.checks import REGISTRY, run_check, run_checks
from testbed.checks.evidence import (
    Canary, CanaryHit, ClientRecord, Counters, Evidence, IngestRequest, JournalEntry, ScenarioSettings,
    SpanView, TypedValue,
)
from testbed.checks.result import CheckResult
from tests.testbed.checks.builders import evidence


def test_registry_holds_every_check_with_spec_ids() -> None:
    assert set(REGISTRY) == {"semconv", "semconv-values", "gateway-spans", "streaming", "propagation",
                             "redaction", "loss", "isolation", "latency", "exporter", "metrics", "signals",
                             "client-view", "hostile", "duplicates"}
    assert all(c.spec_ids and all("-" in s for s in c.spec_ids) for c in REGISTRY.values())


class Broken:
    name = "broken"
    spec_ids = ("RUN-03",)

    def run(self, evidence: Evidence) -> CheckResult:
        raise KeyError("missing")


def test_an_exception_inside_a_check_becomes_an_error_result() -> None:
    result = run_check(Broken(), Evidence())
    assert result.outcome == "error" and "KeyError" in result.reason


def test_unknown_check_name_is_an_error_result() -> None:
    assert run_checks(Evidence(), ["nope"])[0].outcome == "error"


hexid = lambda n: st.text("0123456789abcdef", min_size=n, max_size=n)  # noqa: E731
scalar = st.one_of(
    st.builds(TypedValue, st.just("string"), st.text(max_size=20)),
    st.builds(TypedValue, st.just("int"), st.integers(-5, 10**6)),
    st.builds(TypedValue, st.just("double"), st.floats(allow_nan=True)),
    st.builds(TypedValue, st.just("bool"), st.booleans()),
)
value = st.one_of(scalar, st.builds(TypedValue, st.just("array"), st.lists(scalar, max_size=3).map(tuple)))
names = st.sampled_from(["gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "gen_ai.system",
                         "gen_ai.usage.input_tokens", "gen_ai.response.finish_reasons", "error.type", "server.address",
                         "gen_ai.request.stream", "gen_ai.response.time_to_first_chunk", "http.response.status_code",
                         "gw.attempt", "url.query", "gen_ai.input.messages", "gen_ai.x", "llm.is_streaming"])
spans = st.builds(
    SpanView, trace_id=hexid(32), span_id=hexid(16), name=st.text(max_size=10), kind=st.integers(0, 6),
    start_ns=st.integers(0, 10**12), end_ns=st.integers(0, 10**12), parent_span_id=st.none() | hexid(16),
    status_code=st.integers(0, 2), status_message=st.text(max_size=10),
    attributes=st.dictionaries(names, value, max_size=8), resource=st.dictionaries(names, value, max_size=3),
    received_ns=st.none() | st.integers(0, 10**12),
)
headers = st.fixed_dictionaries({}, optional={"traceparent": st.text(max_size=60), "tracestate": st.text(max_size=20),
                                              "x-testbed-correlation-id": st.sampled_from(["req-0", "req-1"])})
journal = st.builds(JournalEntry, time_ns=st.integers(0, 10**12), provider=st.sampled_from(["openai", "anthropic", "gemini", "x"]),
                    path=st.text(max_size=20), model=st.none() | st.text(max_size=5), headers=headers,
                    body=st.none() | st.dictionaries(st.sampled_from(["n", "seed", "generationConfig", "response_format"]),
                                                     st.integers() | st.text(max_size=3), max_size=3),
                    status=st.integers(100, 600), usage=st.dictionaries(st.text(max_size=15), st.integers() | st.text(max_size=3), max_size=3),
                    finish_reasons=st.lists(st.text(max_size=5), max_size=2).map(tuple), stream=st.booleans(),
                    last_byte_ns=st.none() | st.integers(0, 10**12), ttft_ms=st.none() | st.floats(0, 1e4),
                    mid_stream_error=st.booleans())
client = st.builds(ClientRecord, correlation_id=st.sampled_from(["req-0", "req-1", "req-2"]), intended_ns=st.integers(0, 10**10),
                   sent_ns=st.integers(0, 10**10), path=st.sampled_from(["gateway", "direct", "comparator"]),
                   mode=st.sampled_from(["healthy", "down"]), trace_id=st.none() | hexid(32),
                   traceparent=st.none() | st.text(max_size=60), tracestate=st.none() | st.text(max_size=20),
                   first_byte_ns=st.none() | st.integers(0, 10**10), complete_ns=st.none() | st.integers(0, 10**10),
                   status=st.none() | st.integers(100, 600), stream=st.booleans(), cap_hit=st.booleans())
ingest = st.builds(IngestRequest, seq=st.integers(0, 6), arrival_ns=st.integers(0, 10**10), status=st.none() | st.integers(100, 600),
                   content_type=st.text(max_size=20), content_encoding=st.text(max_size=8),
                   retry_of=st.none() | st.integers(0, 6), gap_ns=st.none() | st.integers(-10, 10**10),
                   retry_after_s=st.none() | st.floats(allow_nan=True), connection_id=st.none() | st.text(max_size=2))
slots = st.sampled_from(["USR", "OUT", "KEY", "HDR", "ERR", "SYS"])
canaries = st.builds(Canary, st.text(max_size=12), slots, st.none() | st.sampled_from(["req-0", "req-1"]))
hits = st.builds(CanaryHit, st.text(max_size=12), slots, st.sampled_from(["bus", "ingest", "log"]), st.none() | st.just("req-0"),
                 st.text(max_size=20))
scenario = st.builds(ScenarioSettings, convention=st.sampled_from(["genai-1.41", "legacy", "openinference"]),
                     exclude_request_data=st.booleans(), reference_gateway=st.booleans(),
                     expects_server_span=st.booleans(), restart_inbound=st.booleans(),
                     faulted_modes_transient=st.booleans())
counters = st.builds(Counters, st.dictionaries(st.sampled_from([
    'testbed_exporter_spans_dropped_total{reason="x"}', "testbed_gateway_event_queue_depth", "junk{", "a{b=\"c\"}"]),
    st.floats(0, 100), max_size=3), st.booleans())
evidences = st.builds(Evidence, settings=scenario, spans=st.lists(spans, max_size=5).map(tuple),
                      journal=st.lists(journal, max_size=4).map(tuple), client=st.lists(client, max_size=6).map(tuple),
                      ingest=st.lists(ingest, max_size=5).map(tuple), canaries=st.lists(canaries, max_size=3).map(tuple),
                      hits=st.lists(hits, max_size=3).map(tuple), counters=counters)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(evidences)
def test_random_evidence_never_makes_a_check_raise(ev: Evidence) -> None:
    for check in REGISTRY.values():
        result = check.run(ev)
        assert result.outcome in ("passed", "failed", "inconclusive", "not_applicable")


@settings(max_examples=60, deadline=None)
@given(st.lists(spans, max_size=4))
def test_random_spans_added_to_a_conforming_run_never_make_a_check_raise(extra: list[SpanView]) -> None:
    ev = evidence(2)
    for result in run_checks(replace(ev, spans=ev.spans + tuple(extra))):
        assert result.outcome != "error", result.reason
