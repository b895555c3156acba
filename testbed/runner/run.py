"""Run scenarios: start the stack and the gateway under test, reset the fakes, drive the load with
the fault timeline, wait for the drain, collect evidence, run the checks, decide the verdict.

One :class:`RunSession` (a stack plus a GUT) serves many scenarios: between scenarios the fakes are
reset and counters are read as deltas; a scenario that needs other gateway knobs restarts the
gateway only. Every wait is a condition with a deadline (RUN-04): the drain ends when the ingest
holds every expected span (less counted drops) and nothing is queued, or at ``drain_timeout_s``.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from testbed import counters
from testbed.checks import Evidence, run_checks, verdict
from testbed.checks.correlate import gateway_entries, genai_call_spans, pair
from testbed.checks.evidence import Budgets, Counters, ScenarioSettings
from testbed.checks.metric_points import point_from_json
from testbed.bus import inspect as bus_inspect
from testbed.runner import collect
from testbed.runner.chaos import IngestFaults, ProviderFaults, adapters
from testbed.runner.gateways import (
    GatewayContext, GatewayProfile, GatewayUnderTest, ProfileGateway, ReferenceGateway, load_profile,
    reference_config_text,
)
from testbed.process import ServerProcess
from testbed.runner.hostile_load import start_hostile
from testbed.runner.loadgen import Target, run_load
from testbed.runner.passthrough import start_comparator
from testbed.runner.results import ScenarioOutcome
from testbed.runner.scenario import Scenario
from testbed.runner.signals_collect import with_signals
from testbed.runner.stack import NATS_URL_ENV, Stack, StackSettings
from testbed.runner.timeline import ProviderRules, execute, plan
from testbed.shipped import shipped_dir
from testbed.waiting import wait_until_async

PROFILES_DIR = shipped_dir("profiles")
REFERENCE_PROFILE = PROFILES_DIR / "reference.yaml"


@dataclass
class RunSession:
    """A running stack and gateway under test, reused across scenarios."""

    stack: Stack
    gut: GatewayUnderTest
    workdir: Path
    knobs: tuple[bool, bool]
    profile: GatewayProfile | None = None
    config_path: Path | None = None
    comparator: ServerProcess | None = None
    """The bare pass-through proxy of the comparator path (LAT-04), started on first use."""

    @property
    def middleware_url(self) -> str:
        assert self.stack.middleware is not None
        return self.stack.middleware.url

    @property
    def admin_url(self) -> str:
        assert self.stack.middleware is not None
        return str(self.stack.middleware.ready.get("admin_url", self.stack.middleware.url))

    def context(self, exclude: bool, capture: bool) -> GatewayContext:
        s = self.stack
        assert s.providers is not None
        return GatewayContext(
            providers_url=s.providers.url, otlp_endpoint=f"{self.middleware_url}/v1/traces",
            otlp_api_key=s.settings.middleware_api_key, nats_url=s.nats_url,
            provider_api_key=s.settings.provider_api_key, gateway_api_key=s.settings.gateway_api_key,
            workdir=str(self.workdir), exclude_request_data=exclude, capture_content=capture,
        )

    def configure(self, exclude: bool, capture: bool) -> None:
        """Restart the gateway with other knobs when they differ from the running ones."""
        if self.knobs == (exclude, capture):
            return
        self.knobs = (exclude, capture)
        if self.profile is None:
            assert self.config_path is not None
            self.stack.settings.exclude_request_data = exclude
            self.config_path.write_text(reference_config_text(_reference_profile(), capture), encoding="utf-8")
            self.gut.restart("TERM")
        else:
            self.gut.stop()
            self.gut.start(self.context(exclude, capture))

    def comparator_url(self) -> str:
        """LAT-04: the pass-through proxy to the fake providers, started when a scenario first asks."""
        if self.comparator is None or not self.comparator.alive():
            assert self.stack.providers is not None
            self.comparator = start_comparator(self.stack.providers.url)
        return self.comparator.url

    def close(self) -> None:
        try:
            self.gut.stop()
            if self.comparator is not None:
                self.comparator.stop()
        finally:
            self.stack.stop()


def _reference_profile() -> GatewayProfile:
    return load_profile(REFERENCE_PROFILE)


def open_session(workdir: Path, profile_path: str | None, exclude: bool = False, capture: bool = True,
                 shape: tuple[int, int, int] = (0, 1, 1)) -> RunSession:
    """Start the stack; with a profile, replace the stack's gateway by the profile's gateway.
    ``shape`` is (NATS cluster nodes, gateways, exporters), as a scenario's ``stack:`` gives it."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "reference-gateway.yaml"
    config_path.write_text(reference_config_text(_reference_profile(), capture), encoding="utf-8")
    profile = load_profile(profile_path) if profile_path is not None else None
    nodes, gateways, exporters = shape
    stack = Stack.start(StackSettings(exclude_request_data=exclude, gateway_config=str(config_path),
                                      with_gateway=profile is None, nats_cluster=nodes, gateways=gateways,
                                      exporters=exporters, nats_url=os.environ.get(NATS_URL_ENV) or None))
    try:
        if profile is None:
            return RunSession(stack, ReferenceGateway(stack), workdir, (exclude, capture), None, config_path)
        sess = RunSession(stack, ProfileGateway(profile), workdir, (exclude, capture), profile)
        sess.gut.start(sess.context(exclude, capture))
        return sess
    except BaseException:
        stack.stop()
        raise


PerSource = dict[str, dict[str, float]]


@dataclass
class _Snapshot:
    counters: PerSource = field(default_factory=dict)
    bus_seq: int = 0


def _metric_urls(sess: RunSession) -> list[str]:
    urls = []
    if sess.gut.is_reference:
        urls += [u for u in (sess.gut.metrics_url,) if u]
        # Every further gateway and every exporter: loss per hop sums over all instances of a hop.
        for name, proc in sess.stack.parts().items():
            if name.startswith("exporter") or (name.startswith("gateway-")):
                urls.append(str(proc.ready.get("metrics", f"{proc.url}/metrics")))
    urls.append(f"{sess.middleware_url}/metrics")
    return urls


async def _counters(http: aiohttp.ClientSession, sess: RunSession) -> PerSource:
    """Samples per source URL: a restarted process has a new URL and counts from zero again."""
    out: PerSource = {}
    for url in _metric_urls(sess):
        pages = await collect.read_metrics(http, [url])
        out[url] = dict(collect.parse_counters(pages).values)
    if sess.gut.is_reference:
        pending = await bus_inspect.pending_events(sess.stack.nats_url)
        out["nats"] = {counters.BUS_PENDING_EVENTS: pending or 0.0}
    return out


def _delta(after: PerSource, before: PerSource) -> dict[str, float]:
    """Counters (``_total``) as increments over the scenario, summed over sources; gauges as
    read at the end. What a killed process counted after the first reading is lost with it. A
    counter lower than before belongs to a process restarted on the same URL (the supervisor
    does that): it counts from zero, so its whole value is the increment (Prometheus' reset rule)."""
    out: dict[str, float] = {}
    for source, samples in after.items():
        prior = before.get(source, {})
        for k, v in samples.items():
            if "_created" in k:
                continue
            was = prior.get(k, 0.0)
            out[k] = out.get(k, 0.0) + ((v - was if v >= was else v) if "_total" in k else v)
    return out


async def _reset(http: aiohttp.ClientSession, sess: RunSession, sc: Scenario) -> ProviderRules:
    assert sess.stack.providers is not None
    async with http.post(f"{sess.stack.providers.url}/_fake/reset") as r:
        r.raise_for_status()
    await IngestFaults(http, sess.admin_url).reset()
    async with http.post(f"{sess.middleware_url}/api/v1/reset") as r:
        r.raise_for_status()
    rules = ProviderRules(base=sc.stack.behaviours)
    await ProviderFaults(http, sess.stack.providers.url, rules).push()
    return rules


async def _heal(http: aiohttp.ClientSession, sess: RunSession, rules: ProviderRules) -> None:
    """After the load every fault is cleared, whatever the timeline managed to do."""
    rules.active.clear()
    assert sess.stack.providers is not None
    await ProviderFaults(http, sess.stack.providers.url, rules).push()
    await IngestFaults(http, sess.admin_url).reset()
    if sess.stack.nats is not None and not sess.stack.nats.running():
        await asyncio.to_thread(sess.stack.nats.start)
    await asyncio.to_thread(sess.stack.heal_processes)


def settings_for(sc: Scenario, sess: RunSession) -> ScenarioSettings:
    th, w = sc.thresholds, sc.workload
    profile = sess.profile
    return ScenarioSettings(
        name=sc.name, convention=sess.gut.convention, exclude_request_data=sc.stack.exclude_request_data,
        capture_content=sc.stack.capture_content, reference_gateway=sess.gut.is_reference,
        expects_server_span=sess.gut.declares_server_spans,
        restart_inbound=bool(profile and profile.restart_inbound), faulted_modes_transient=sc.transient_faults,
        permanent_drop_reasons=sc.permanent_drop_reasons, ingest_api_keys=(sess.stack.settings.middleware_api_key,),
        budgets=Budgets(latency=th.latency, iso_min_samples=th.iso_min_samples,
                        bootstrap_resamples=th.bootstrap_resamples, seed=w.seed, warmup_s=w.warmup_s,
                        backoff_cap_s=th.backoff_cap_s),
    )


async def _drain(http: aiohttp.ClientSession, sess: RunSession, sc: Scenario, expected: int,
                 before: dict[str, float], upstream: int = 0) -> bool:
    """Wait until ingested + counted drops reach ``expected`` with nothing queued (RUN-04). A
    third-party gateway sends spans of its own (framework, auth, routing) and has no counters of
    ours, so for it the wait is until its GenAI call spans reach the ``upstream`` request count."""
    async def drained() -> bool:
        if not sess.gut.is_reference:
            spans = [collect.span_view(d) for d in await collect.read_spans(http, sess.middleware_url)]
            return len(genai_call_spans(spans)) >= upstream
        c = Counters(_delta(await _counters(http, sess), before))
        ingested = c.total(counters.INGEST_SPANS_ACCEPTED)
        dropped = sum(c.total(n) for n in (*counters.SPAN_DROPS, counters.INGEST_SPANS_REJECTED))
        queued = sum(c.total(n) for n in (counters.EXPORTER_SPANS_QUEUED, counters.EXPORTER_MEASUREMENTS_PENDING,
                                          *counters.EVENTS_QUEUED))
        return ingested + dropped >= expected and queued == 0

    try:
        await wait_until_async(drained, sc.drain_timeout_s, what=f"drain of {sc.name}")
        return True
    except Exception:  # the deadline passed: the loss check accounts for what is missing
        return False


async def run_scenario(sc: Scenario, sess: RunSession, run_id: str) -> ScenarioOutcome:
    out = ScenarioOutcome(sc.name, sc.file, sc.description, started_ns=time.time_ns())
    try:
        await asyncio.to_thread(sess.configure, sc.stack.exclude_request_data, sc.stack.capture_content)
        async with aiohttp.ClientSession(headers=sess.stack.admin_headers()) as http:  # the fakes' admin key, if on
            await _run(sc, sess, run_id, http, out)
    except Exception as exc:  # the run broke: recorded as an error, the next scenario still runs
        out.status, out.error = "error", f"{type(exc).__name__}: {exc}"
        out.reasons = (out.error,)
    out.finished_ns = time.time_ns()
    return out


async def _run(sc: Scenario, sess: RunSession, run_id: str, http: aiohttp.ClientSession, out: ScenarioOutcome) -> None:
    rules = await _reset(http, sess, sc)
    before = _Snapshot(await _counters(http, sess))
    if sess.gut.is_reference:
        before.bus_seq = await bus_inspect.stream_position(sess.stack.nats_url)
    assert sess.stack.providers is not None
    comparator = await asyncio.to_thread(sess.comparator_url) if sc.workload.comparator else ""
    spread = sess.gut.is_reference and len(sess.stack.gateways) > 1  # round-robin over the gateways
    target = Target(sess.stack.next_gateway_url if spread else lambda: sess.gut.base_url, lambda: sess.gut.api_key,
                    sess.stack.providers.url,
                    sess.stack.settings.provider_api_key, comparator)
    loop = asyncio.get_running_loop()
    timeline = asyncio.create_task(execute(plan(sc.all_faults(), sc.workload.duration_s),
                                           adapters(http, sess.stack, sess.gut, sess.admin_url, rules),
                                           start_monotonic=loop.time()))
    hostile = start_hostile(sc, target.gateway_url, target.gateway_key, f"{run_id}-{sc.name}")
    load = await run_load(sc, target, f"{run_id}-{sc.name}")
    hostile_records = await hostile
    out.timeline = await timeline
    out.records = load.records
    await _heal(http, sess, rules)
    raw_journal, _, journal_dropped = await collect.read_journal(http, sess.stack.providers.url)
    journal = [collect.journal_entry(d) for d in raw_journal]
    settings = settings_for(sc, sess)
    partial = Evidence(settings=settings, journal=tuple(journal), client=(*load.records, *hostile_records))
    answered = sum(1 for r in load.records if r.path == "gateway" and r.status is not None)
    expected = (answered if settings.expects_server_span else 0) + len(gateway_entries(partial))
    drained = await _drain(http, sess, sc, expected, before.counters, len(gateway_entries(partial)))
    planted = (*load.canaries, *(c for d in raw_journal for c in collect.provider_canaries(d)))
    evidence = await _evidence(http, sess, sc, partial, planted, before)
    evidence = await with_signals(evidence, http, sess.middleware_url, out.timeline)  # SPEC 13
    out.signals = tuple(evidence.signals.signals) if evidence.signals is not None else ()
    results = collect.journal_gate(run_checks(evidence, sc.checks), journal_dropped)
    known = sess.profile.suppressions_for(sc.name) if sess.profile is not None else ()
    v = verdict(results, (*sc.expected_findings, *known), sc.fail_on, sc.name)
    out.verdict, out.status, out.reasons = v, v.status, v.reasons
    out.counters = dict(evidence.counters.values)
    out.pairing = pair(evidence).summary()
    out.topology = await collect.get_json(http, f"{sess.middleware_url}/api/v1/topology")
    out.settings = {**_settings_json(sc, sess, drained), "sender_priority": load.priority,  # LAT-03
                    "background": sess.stack.settings.background}
    out.evidence_counts = {"spans": len(evidence.spans), "journal": len(evidence.journal),
                           "client": len(evidence.client), "ingest_requests": len(evidence.ingest),
                           "canaries": len(evidence.canaries), "hits": len(evidence.hits), "expected_spans": expected}
    out.evidence_counts = {**out.evidence_counts, "journal_dropped": journal_dropped}
    if sess.stack.supervisor is not None:  # what the supervisor restarted, or left down for a fault
        supervision = sess.stack.supervisor.summary(out.started_ns)
        out.settings = {**out.settings, "supervisor": supervision}
        out.evidence_counts = {**out.evidence_counts, "restarts": sum(supervision["restarts"].values())}
    if any(t.error for t in out.timeline):
        out.reasons = (*out.reasons, *(f"timeline: {t.fault} {t.op}: {t.error}" for t in out.timeline if t.error))


async def _evidence(http: aiohttp.ClientSession, sess: RunSession, sc: Scenario, partial: Evidence,
                    canaries: tuple[Any, ...], before: _Snapshot) -> Evidence:
    from dataclasses import replace

    spans = tuple(collect.span_view(d) for d in await collect.read_spans(http, sess.middleware_url))
    retry_after = {f.name: float(f.params["retry_after"]) for f in sc.all_faults()
                   if f.target == "ingest" and isinstance(f.params.get("retry_after"), (int, float))}
    ingest = tuple(collect.ingest_request(d, retry_after) for d in await collect.read_requests(http, sess.middleware_url))
    planted = list(canaries)
    owner = {c.value: c.request_id for c in planted if c.request_id}
    keys = {sess.stack.settings.gateway_api_key: "KEY", sess.stack.settings.provider_api_key: "KEY"}
    needles = {f"CNRY-{slot}-": slot for slot in collect.SLOTS if slot != "KEY"} | keys
    hits = await collect.ingest_hits(http, sess.middleware_url, needles, owner)
    if sess.gut.is_reference:
        messages = [(m.seq, m.raw()) for m in await bus_inspect.stream_messages(sess.stack.nats_url, before.bus_seq)]
        hits += collect.bus_hits(messages, {k.encode(): v for k, v in needles.items()}, owner)
    counters = Counters(_delta(await _counters(http, sess), before.counters)) if sess.gut.is_reference \
        else Counters(available=False)
    metrics = tuple(point_from_json(d) for d in await collect.read_metric_points(http, sess.middleware_url))
    return replace(partial, spans=spans, ingest=ingest, canaries=tuple(planted), hits=tuple(hits), counters=counters,
                   metrics=metrics)


def _settings_json(sc: Scenario, sess: RunSession, drained: bool) -> dict[str, Any]:
    w = sc.workload
    return {"gateway": sess.gut.name, "convention": sess.gut.convention, "reference_stack": sess.gut.is_reference,
            "exclude_request_data": sc.stack.exclude_request_data, "capture_content": sc.stack.capture_content,
            "rate_per_s": w.rate_per_s, "duration_s": w.duration_s, "process": w.process, "seed": w.seed,
            "warmup_s": w.warmup_s, "direct": w.direct, "comparator": w.comparator, "checks": list(sc.checks), "drained": drained,
            "modes": list(sc.modes.sequence) if sc.modes else None,
            "block_s": sc.modes.block_s if sc.modes else None}
