"""Counter names defined once and read typed: a page parses into (name, labels) keys, the string
form results.json keeps round-trips with escaped label values, and the hops define their metrics
with the same names the readers use."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter, generate_latest

from testbed import counters
from testbed.checks.evidence import Counters
from testbed.counters import SampleKey, parse_key, parse_text

AWKWARD = 'a "quoted", {braced}\\ value\nwith a newline'


def _page(reason: str) -> str:
    registry = CollectorRegistry()
    c = Counter(counters.EXPORTER_SPANS_DROPPED, "drops", ["reason"], registry=registry)
    c.labels(reason).inc(3)
    c.labels("too_large").inc(2)
    return generate_latest(registry).decode()


def test_a_page_parses_into_typed_keys_without_rebuilding_strings() -> None:
    samples = parse_text(_page(AWKWARD))
    assert samples[SampleKey.of(counters.EXPORTER_SPANS_DROPPED, {"reason": AWKWARD})] == 3
    assert counters.total(samples, counters.EXPORTER_SPANS_DROPPED) == 5
    assert counters.by_label(samples, "reason", counters.EXPORTER_SPANS_DROPPED) == {AWKWARD: 3, "too_large": 2}


def test_the_text_form_escapes_label_values_and_reads_back() -> None:
    key = SampleKey.of("x_total", {"reason": AWKWARD, "hop": "gw"})
    assert "\n" not in key.text() and parse_key(key.text()) == key
    assert parse_key('x_total{b="2",a="1"}') == SampleKey("x_total", (("a", "1"), ("b", "2")))
    assert parse_key("plain") == SampleKey("plain")


def test_counters_from_a_page_keep_awkward_labels_through_results_json_keys() -> None:
    typed = Counters(parse_text(_page(AWKWARD)))
    again = Counters(dict(typed.values))  # what results.json holds, read back
    assert again.by_label(counters.EXPORTER_SPANS_DROPPED, "reason") == {AWKWARD: 3, "too_large": 2}
    assert again.total(counters.EXPORTER_SPANS_DROPPED, reason=AWKWARD) == 3


def test_found_tells_a_missing_counter_from_a_zero() -> None:
    samples = parse_text(_page("queue_full"))
    assert counters.found(samples, [counters.EXPORTER_SPANS_DROPPED]) == 5
    assert counters.found(samples, [counters.GATEWAY_SPANS_DROPPED]) is None


@pytest.mark.parametrize(("page_of", "names"), [
    ("gateway", (counters.GATEWAY_REQUESTS, counters.GATEWAY_EVENTS_PUBLISHED, counters.GATEWAY_EVENTS_DROPPED,
                 counters.GATEWAY_SPANS_DROPPED, counters.GATEWAY_QUEUE_DEPTH)),
    ("exporter", (counters.EXPORTER_EVENTS_CONSUMED, counters.EXPORTER_EVENTS_DROPPED,
                  counters.EXPORTER_SPANS_EXPORTED, counters.EXPORTER_SPANS_DROPPED, counters.EXPORTER_RETRIES,
                  counters.EXPORTER_SPANS_QUEUED)),
    ("ingest", (counters.INGEST_SPANS_ACCEPTED, counters.INGEST_SPANS_REJECTED, counters.INGEST_SPANS_DUPLICATE,
                counters.INGEST_SPANS_STORED, counters.INGEST_RETRIES)),
])
def test_every_hop_page_carries_the_names_the_readers_use(page_of: str, names: tuple[str, ...]) -> None:
    on_page = {k.name for k in parse_text(_hop_page(page_of))}
    assert set(names) <= on_page, set(names) - on_page


def _hop_page(hop: str) -> str:
    if hop == "gateway":
        from testbed.gateway.metrics import GatewayMetrics

        g = GatewayMetrics()
        g.requests.labels("chat", "200").inc()
        return g.render().decode()
    if hop == "exporter":
        from testbed.exporter.metrics import ExporterMetrics

        return ExporterMetrics().render().decode()
    from fake_middleware.faults import FaultSet
    from fake_middleware.metrics import make_registry
    from fake_middleware.store import SpanStore

    return generate_latest(make_registry(SpanStore(), FaultSet())).decode()
