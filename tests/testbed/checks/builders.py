"""Hand-made evidence for the check tests: a conforming span/journal pair per provider, which
each test then breaks in exactly one way."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from testbed.checks.evidence import (
    ClientRecord, Evidence, JournalEntry, ScenarioSettings, SpanView, TypedValue,
)

T0 = 1_700_000_000_000_000_000
RESOURCE = {"service.name": "gw", "service.version": "1.0", "service.instance.id": "6f1c0e5e-1",
            "host.name": "box"}


def tv(v: Any) -> TypedValue:
    if isinstance(v, TypedValue):
        return v
    if isinstance(v, bool):
        return TypedValue("bool", v)
    if isinstance(v, int):
        return TypedValue("int", v)
    if isinstance(v, float):
        return TypedValue("double", v)
    if isinstance(v, (list, tuple)):
        return TypedValue("array", tuple(tv(x) for x in v))
    if isinstance(v, dict):
        return TypedValue("kvlist", tuple((k, tv(x)) for k, x in v.items()))
    return TypedValue("string", str(v))


def attrs(d: dict[str, Any]) -> dict[str, TypedValue]:
    return {k: tv(v) for k, v in d.items()}


def trace_id(n: int) -> str:
    return f"{n + 1:032x}"


def span_id(n: int) -> str:
    return f"{n + 1:016x}"


def span(n: int = 0, **kw: Any) -> SpanView:
    a = kw.pop("attributes", {})
    r = kw.pop("resource", RESOURCE)
    base = dict(trace_id=trace_id(n), span_id=span_id(100 + n), name="chat gpt-4o-mini", kind=3,
                start_ns=T0 + n * 10**9, end_ns=T0 + n * 10**9 + 50_000_000, parent_span_id=span_id(200 + n),
                attributes=attrs(a), resource=attrs(r), scope_name="testbed.gateway")
    base.update(kw)
    return SpanView(**base)


PROVIDERS: dict[str, dict[str, Any]] = {
    "openai": dict(path="/v1/chat/completions", model="gpt-4o-mini", provider_name="openai", op="chat",
                   usage={"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18,
                          "prompt_tokens_details": {"cached_tokens": 0}},
                   finish=("stop",), response_model="gpt-4o-mini-2024-07-18", in_tokens=11, out_tokens=7),
    "anthropic": dict(path="/v1/messages", model="claude-sonnet-4", provider_name="anthropic", op="chat",
                      usage={"input_tokens": 5, "output_tokens": 9, "cache_read_input_tokens": 3,
                             "cache_creation_input_tokens": 2},
                      finish=("end_turn",), response_model="claude-sonnet-4-20250514", in_tokens=10, out_tokens=9),
    "gemini": dict(path="/v1beta/models/gemini-2.0-flash:generateContent", model="gemini-2.0-flash",
                   provider_name="gcp.gemini", op="generate_content",
                   usage={"promptTokenCount": 8, "candidatesTokenCount": 4, "thoughtsTokenCount": 2,
                          "totalTokenCount": 14},
                   finish=("STOP",), response_model="gemini-2.0-flash-001", in_tokens=8, out_tokens=6),
}


def pair(n: int = 0, provider: str = "openai", stream: bool = False) -> tuple[SpanView, JournalEntry]:
    """A conforming GenAI CLIENT span and the journal entry it produced."""
    p = PROVIDERS[provider]
    s0 = T0 + n * 10**9
    a: dict[str, Any] = {
        "gen_ai.operation.name": p["op"], "gen_ai.provider.name": p["provider_name"],
        "gen_ai.request.model": p["model"], "server.address": "127.0.0.1", "server.port": 8001,
        "gen_ai.response.id": f"resp-{n}", "gen_ai.response.model": p["response_model"],
        "gen_ai.response.finish_reasons": list(p["finish"]),
        "gen_ai.usage.input_tokens": p["in_tokens"], "gen_ai.usage.output_tokens": p["out_tokens"],
        "gen_ai.request.max_tokens": 64, "http.response.status_code": 200,
    }
    if provider == "anthropic":
        a["gen_ai.usage.cache_read.input_tokens"] = 3
        a["gen_ai.usage.cache_creation.input_tokens"] = 2
    if provider == "gemini":
        a["gen_ai.usage.reasoning.output_tokens"] = 2
    if stream:
        a["gen_ai.request.stream"] = True
        a["gen_ai.response.time_to_first_chunk"] = 0.025
    sp = span(n, name=f"{p['op']} {p['model']}", attributes=a, start_ns=s0, end_ns=s0 + 60_000_000)
    entry = JournalEntry(
        time_ns=s0 + 1_000_000, provider=provider, path=p["path"], model=p["model"],
        headers={"traceparent": f"00-{sp.trace_id}-{sp.span_id}-01", "x-testbed-correlation-id": f"req-{n}"},
        body={"model": p["model"], "max_tokens": 64, "stream": stream}, status=200,
        response_id=f"resp-{n}", response_model=p["response_model"], usage=p["usage"],
        finish_reasons=p["finish"], stream=stream, first_byte_ns=s0 + 21_000_000,
        last_byte_ns=s0 + 55_000_000, ttft_ms=20.0 if stream else None,
    )
    return sp, entry


def server_span(n: int = 0, **kw: Any) -> SpanView:
    a = {"http.request.method": "POST", "url.path": "/v1/chat/completions", "url.scheme": "http",
         "http.route": "/v1/chat/completions", "http.response.status_code": 200, "server.address": "127.0.0.1",
         "server.port": 8080, "network.protocol.version": "1.1", "user_agent.original": "OpenAI/Python",
         "client.address": "127.0.0.1", "gw.correlation_id": f"req-{n}"}
    a.update(kw.pop("attributes", {}))
    s0 = T0 + n * 10**9
    return span(n, name="POST /v1/chat/completions", kind=2, span_id=span_id(200 + n),
                parent_span_id=span_id(300 + n), start_ns=s0 - 1_000_000, end_ns=s0 + 70_000_000,
                attributes=a, **kw)


def client_record(n: int = 0, **kw: Any) -> ClientRecord:
    s0 = T0 + n * 10**9
    base = dict(correlation_id=f"req-{n}", intended_ns=s0 - 2_000_000, sent_ns=s0 - 1_990_000,
                trace_id=trace_id(n), traceparent=f"00-{trace_id(n)}-{span_id(300 + n)}-01",
                first_byte_ns=s0 + 30_000_000, complete_ns=s0 + 71_000_000, status=200)
    base.update(kw)
    return ClientRecord(**base)


FRONT = {"openai": ("stop", 11, 7), "anthropic": ("stop", 10, 9), "gemini": ("stop", 8, 6)}


def answered(provider: str, stream: bool) -> dict[str, Any]:
    """What the client was told for ``pair``'s answer, in the OpenAI format (SPEC 9.5)."""
    finish, prompt, completion = FRONT[provider]
    return dict(finish_reasons=(finish,), prompt_tokens=prompt, completion_tokens=completion,
                response_model=PROVIDERS[provider]["response_model"], streamed=stream)


def evidence(n: int = 3, provider: str = "openai", stream: bool = False, **settings: Any) -> Evidence:
    """A whole conforming run: n requests, each a SERVER + CLIENT span and one upstream request."""
    spans, journal, client = [], [], []
    for i in range(n):
        sp, e = pair(i, provider, stream)
        spans += [sp, server_span(i)]
        journal.append(e)
        client.append(client_record(i, stream=stream, **answered(provider, stream)))
    st = ScenarioSettings(name="unit", expects_server_span=True, **settings)
    return Evidence(settings=st, spans=tuple(spans), journal=tuple(journal), client=tuple(client))


def with_span_attrs(ev: Evidence, index: int, drop: tuple[str, ...] = (), put: dict[str, Any] | None = None,
                    **span_fields: Any) -> Evidence:
    """Evidence whose index-th span has attributes removed and/or replaced, or other fields changed."""
    spans = list(ev.spans)
    s = spans[index]
    a = {k: v for k, v in s.attributes.items() if k not in drop}
    a.update({k: tv(v) for k, v in (put or {}).items()})
    spans[index] = replace(s, attributes=a, **span_fields)
    return replace(ev, spans=tuple(spans))


def ids(result: Any) -> set[tuple[str, str]]:
    return {(f.spec_id, f.severity) for f in result.findings}
