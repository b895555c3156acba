"""Properties of the GenAI metric aggregation (SPEC 12, MET-04, MET-05): whatever the order of
records, failed sends and deliveries, a delta stream delivers every measurement exactly once over
non-overlapping windows, and a cumulative series never decreases."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from testbed.exporter.genai_metrics import DURATION, DURATION_BUCKETS, GenAiAggregator, HistogramState

RESOURCE = (("service.name", "gw"),)
ATTRS = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai"}

steps = st.lists(st.one_of(
    st.tuples(st.just("record"), st.floats(min_value=0.0, max_value=100.0)),
    st.tuples(st.just("send"), st.booleans()),
), max_size=40)


@settings(max_examples=200, deadline=None)
@given(steps)
def test_delta_windows_deliver_every_measurement_once_without_overlap(plan: list[tuple[str, object]]) -> None:
    agg = GenAiAggregator("delta", start_ns=0)
    recorded, delivered, windows, now = 0, 0, [], 1
    for op, arg in plan + [("send", True)]:
        now += 1
        if op == "record":
            agg.record(RESOURCE, DURATION, ATTRS, float(arg))  # type: ignore[arg-type]
            recorded += 1
            continue
        snap = agg.take(now)
        if arg:
            agg.delivered(snap)
            delivered += sum(s.count for s in snap.series.values())
            windows.append((snap.start_ns, snap.time_ns))
        else:
            agg.restore(snap)
    assert delivered == recorded and agg.pending == 0
    assert all(b[0] >= a[1] for a, b in zip(windows, windows[1:]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=1000.0), max_size=60))
def test_a_cumulative_series_never_decreases_and_its_buckets_add_up(values: list[float]) -> None:
    agg = GenAiAggregator("cumulative", start_ns=0)
    last = (0, 0.0)
    for i, v in enumerate(values):
        agg.record(RESOURCE, DURATION, ATTRS, v)
        (state,) = agg.take(i + 1).series.values()
        assert (state.count, state.total) >= last and sum(state.counts) == state.count
        last = (state.count, state.total)


@given(st.lists(st.floats(min_value=0.0, max_value=200.0), min_size=1, max_size=50))
def test_every_value_lands_in_the_bucket_whose_bound_is_the_first_at_or_above_it(values: list[float]) -> None:
    h = HistogramState(DURATION_BUCKETS)
    for v in values:
        h.add(v)
    for i, count in enumerate(h.counts):
        low = DURATION_BUCKETS[i - 1] if i else float("-inf")
        high = DURATION_BUCKETS[i] if i < len(DURATION_BUCKETS) else float("inf")
        assert count == sum(1 for v in values if low < v <= high)
