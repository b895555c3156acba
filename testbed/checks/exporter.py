"""Exporter behaviour as seen from the ingest (SPEC 5, 6): OTLP-02/04/05/08/09/10/11/14/15/16 and
MW-02/03/04, from per-request ``IngestRequest`` records (and span scopes for OTLP-16).

A retry is a request whose decoded body hashes like an earlier one (``retry_of``); its gap runs
from the earlier response to its arrival. Backoff (OTLP-10) is judged on retry chains after
503s without Retry-After: no growth when the median ratio of consecutive gaps below the cap is
under 1.2; no jitter when, over at least five chains, the first gaps' coefficient of variation
is under 2%. Judged: OTLP requests and retry chains; a run with one to four chains cannot judge
jitter and is inconclusive (RUN-03).
"""

from __future__ import annotations

from collections.abc import Sequence

from testbed.checks.evidence import Evidence, IngestRequest
from testbed.checks.result import CheckResult, FindingSink, conclude
from testbed.load.stats import coefficient_of_variation, median

NAME = "exporter"
SPEC_IDS = ("OTLP-02", "OTLP-04", "OTLP-05", "OTLP-08", "OTLP-09", "OTLP-10", "OTLP-11", "OTLP-14",
            "OTLP-15", "OTLP-16", "MW-02", "MW-03", "MW-04")
RETRYABLE = frozenset((429, 502, 503, 504))
CONTENT_TYPES = frozenset(("application/x-protobuf", "application/json"))
RETRY_AFTER_SLACK_S = 0.1
MIN_CHAINS_FOR_JITTER = 5


class ExporterCheck:
    name = NAME
    spec_ids = SPEC_IDS

    def run(self, evidence: Evidence) -> CheckResult:
        st = evidence.settings
        sink = FindingSink(NAME, st.convention, st.name)
        for s in {(s.scope_name, s.scope_version): s for s in evidence.spans}.values():
            if not s.scope_name:
                sink.add("OTLP-16", "warning", "missing", "spans under an empty scope name",
                         trace_id=s.trace_id, span_id=s.span_id)
        reqs = sorted(evidence.ingest, key=lambda r: r.arrival_ns)
        if not reqs:
            return conclude(NAME, SPEC_IDS, sink.findings, judged={"requests": 0},
                            inconclusive="no OTLP request reached the ingest")
        for r in reqs:
            check_headers(r, sink)
        check_retries(reqs, sink)
        chains = check_backoff(reqs, st.budgets.backoff_cap_s, sink)
        check_connections(reqs, sink)
        judged = {"requests": len(reqs), "retry_chains": chains}
        reason = ""
        if 0 < chains < MIN_CHAINS_FOR_JITTER:
            # The scenario provoked backoff, but too few chains to judge jitter: say so (RUN-03).
            reason = f"OTLP-10 jitter needs {MIN_CHAINS_FOR_JITTER} retry chains after 503s; the run made {chains}"
        return conclude(NAME, SPEC_IDS, sink.findings, judged=judged, inconclusive=reason, details=judged)


def _media(ct: str) -> str:
    return ct.split(";", 1)[0].strip().lower()


def check_headers(r: IngestRequest, sink: FindingSink) -> None:
    ev = {"request": r.seq}
    ct = _media(r.content_type)
    if ct not in CONTENT_TYPES:
        sink.add("OTLP-02", "violation", "value", "unsupported Content-Type", actual=r.content_type, **ev)
    elif ct == "application/json":
        sink.add("MW-04", "info", "lenient", "JSON encoding, which the vendor does not document", **ev)
    enc = r.content_encoding.strip().lower()
    if enc == "deflate":
        sink.add("OTLP-04", "info", "lenient", "deflate accepted leniently; gzip is the OTLP encoding", **ev)
    elif enc not in ("", "identity", "gzip"):
        sink.add("OTLP-04", "violation", "value", "unsupported Content-Encoding", actual=r.content_encoding, **ev)
    if not r.user_agent.strip():
        sink.add("OTLP-15", "warning", "missing", "no User-Agent naming the exporter", **ev)
    if r.auth_form == "missing":
        sink.add("MW-02", "violation", "missing", "no Authorization header", **ev)
    elif r.auth_form == "bearer":
        sink.add("MW-03", "warning", "lenient", "Authorization uses 'Bearer <key>'; the documented form is the raw key", **ev)
    elif r.auth_form == "other":
        sink.add("MW-02", "violation", "value", "Authorization is not the raw API key", **ev)


def check_retries(reqs: Sequence[IngestRequest], sink: FindingSink) -> None:
    by_seq = {r.seq: r for r in reqs}
    retried = {r.retry_of for r in reqs if r.retry_of is not None}
    for r in reqs:
        prev = by_seq.get(r.retry_of) if r.retry_of is not None else None
        if prev is not None:
            _judge_retry(prev, r, sink)
    for r in reqs:
        if r.seq in retried:
            continue
        if r.status in RETRYABLE:
            sink.add("OTLP-08", "warning", "missing", f"a retryable {r.status} was not retried", request=r.seq)
        elif r.status is None:
            sink.add("OTLP-11", "warning", "missing", "a request closed without a response was not resent",
                     request=r.seq)


def _judge_retry(prev: IngestRequest, r: IngestRequest, sink: FindingSink) -> None:
    ev = {"request": r.seq, "retry_of": prev.seq}
    if prev.status is not None and 200 <= prev.status < 300:
        sink.add("OTLP-05", "violation", "value", "a request that succeeded was sent again", **ev)
    elif prev.status == 401:
        sink.add("OTLP-14", "violation", "value", "a request refused with 401 was retried", **ev)
    elif prev.status is not None and prev.status not in RETRYABLE:
        sink.add("OTLP-08", "violation", "value", f"a non-retryable {prev.status} was retried",
                 actual=prev.status, **ev)
    if prev.retry_after_s is not None and r.gap_ns is not None:
        floor = prev.retry_after_s - RETRY_AFTER_SLACK_S
        if r.gap_ns / 1e9 < floor:
            sink.add("OTLP-09", "warning", "timing", "retried before Retry-After elapsed",
                     expected=f">= {prev.retry_after_s:g} s", actual=f"{r.gap_ns / 1e9:.3f} s", **ev)


def retry_chains(reqs: Sequence[IngestRequest]) -> list[list[IngestRequest]]:
    """Chains of retries (original first) whose every answer but the last was 503 without
    Retry-After: the responses under which backoff alone sets the gaps."""
    by_seq = {r.seq: r for r in reqs}
    next_of = {r.retry_of: r for r in reqs if r.retry_of is not None}
    chains = []
    for r in reqs:
        if r.retry_of is not None and r.retry_of in by_seq:
            continue
        chain = [r]
        while chain[-1].status == 503 and chain[-1].retry_after_s is None and chain[-1].seq in next_of:
            chain.append(next_of[chain[-1].seq])
        if len(chain) > 1:
            chains.append(chain)
    return chains


def check_backoff(reqs: Sequence[IngestRequest], cap_s: float, sink: FindingSink) -> int:
    """OTLP-10 on the 503 retry chains; returns how many chains there were."""
    chains = retry_chains(reqs)
    cap_ns = cap_s * 1e9 * 0.9
    ratios = []
    for chain in chains:
        gaps = [r.gap_ns for r in chain[1:] if r.gap_ns is not None and r.gap_ns < cap_ns]
        ratios += [b / a for a, b in zip(gaps, gaps[1:]) if a > 0]
    if len(ratios) >= 2 and median(ratios) < 1.2:
        sink.add("OTLP-10", "violation", "timing", "retry gaps do not grow (no exponential backoff)",
                 expected="median ratio >= 1.2", actual=round(median(ratios), 3))
    firsts = [c[1].gap_ns for c in chains if c[1].gap_ns is not None]
    if len(firsts) >= MIN_CHAINS_FOR_JITTER and coefficient_of_variation(firsts) < 0.02:
        sink.add("OTLP-10", "violation", "timing", "first retry gaps do not vary (no jitter)",
                 expected="CV >= 2%", actual=round(coefficient_of_variation(firsts), 4))
    return len(chains)


def check_connections(reqs: Sequence[IngestRequest], sink: FindingSink) -> None:
    conns = [r.connection_id for r in reqs if r.connection_id is not None]
    if len(conns) > 1 and len(set(conns)) == len(conns):
        sink.add("OTLP-15", "info", "timing", "one connection per request; reusing connections is recommended",
                 actual=len(conns))
