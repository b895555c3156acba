"""Exclude Request Data end to end (SPEC section 4): canaries planted in every content slot of
the prompt, and the canaries the fake provider puts in its completion, tool-call arguments and
error messages, appear in no raw byte on the bus or at the ingest (RED-01, RED-03..06), on
plain, streamed, error, mid-stream-error and fallback paths; tokens, model and finish reasons
are still there (RED-02). The same requests with the switch off are the positive control: their
canaries are found (RED-07), which proves the search can fail."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from fake_middleware.canary import search
from testbed.bus.inspect import stream_messages
from testbed.runner.stack import Stack, StackSettings
from tests.e2e.helpers import StackClient, attr, canary, new_traceparent

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REDACTED_KEY = "sk-testbed-redacted"  # the shipped config's per-key exclude override
CANARY_RE = re.compile(r"CNRY-[A-Z]+-[0-9a-f]{20}")
CONTENT_ATTRIBUTES = (
    "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions", "gen_ai.tool.definitions",
)


def planted_messages() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """A conversation with a canary in every content slot, the tools, and the planted canaries."""
    c = {slot: canary(slot) for slot in ("SYS", "USR", "AST", "TDF", "TCA", "TCR")}
    messages = [
        {"role": "system", "content": f"You are terse. {c['SYS']}"},
        {"role": "user", "content": f"Weather? {c['USR']}"},
        {"role": "assistant", "content": f"Let me look. {c['AST']}", "tool_calls": [{
            "id": "call_1", "type": "function",
            "function": {"name": "get_weather", "arguments": f'{{"city": "{c["TCA"]}"}}'},
        }]},
        {"role": "tool", "tool_call_id": "call_1", "content": f"sunny {c['TCR']}"},
        {"role": "user", "content": f"Thanks, and tomorrow? {canary('USR')}"},
    ]
    tools = [{"type": "function", "function": {
        "name": "get_weather", "description": f"Weather for a city {c['TDF']}",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    }}]
    return messages, tools, [*c.values(), CANARY_RE.findall(messages[-1]["content"])[0]]


def send(client: StackClient, api_key: str, path: str) -> tuple[str, list[str], int, list[str]]:
    """One request down ``path``: its trace id, every canary in play, the span count, and the
    canaries the client itself received."""
    traceparent, trace_id, _ = new_traceparent()
    sdk = client.openai(api_key=api_key, default_headers={"traceparent": traceparent})
    messages, tools, planted = planted_messages()
    seen: list[str] = []
    model, spans = "gpt-4o-mini", 2
    if path in ("error", "mid_stream_error"):
        model = "claude-sonnet-4"
        rule: dict[str, Any] = {"model": "claude-sonnet-4-*"}
        rule.update({"status": 500} if path == "error" else {"mid_stream_error": {"after_chunks": 2}})
        client.behaviours([rule])
    if path == "fallback":
        client.behaviours([{"model": "gpt-4o-mini", "status": 429, "times": 1}])
        model, spans = "fast", 3
    try:
        if path in ("stream", "mid_stream_error"):
            parts: list[str] = []  # canaries are split across chunks: join the fragments first
            for chunk in sdk.chat.completions.create(model=model, messages=messages, tools=tools, stream=True):
                for choice in chunk.choices:
                    parts.append(choice.delta.content or "")
                    parts += [tc.function.arguments or "" for tc in choice.delta.tool_calls or [] if tc.function]
            seen += CANARY_RE.findall("".join(parts))
        else:
            seen += CANARY_RE.findall(sdk.chat.completions.create(model=model, messages=messages).model_dump_json())
    except openai.APIError as exc:
        seen += CANARY_RE.findall(str(exc.body) + str(exc))
    received = sorted(set(seen))
    for entry in client.journal_for_trace(trace_id):
        seen += CANARY_RE.findall(str(entry["response"]))
    return trace_id, sorted(set(planted + seen)), spans, received


def hits_anywhere(client: StackClient, nats_url: str, canaries: list[str]) -> dict[str, list[str]]:
    """Where each canary was found: at the ingest (raw request bytes) and on the bus."""
    messages = asyncio.run(stream_messages(nats_url))
    found: dict[str, list[str]] = {}
    for needle in canaries:
        places = [f"ingest:{h['where']}:{h['encoding']}" for h in client.canary_hits(needle)]
        for msg in messages:
            places += [f"bus:{h.where}:{h.encoding}" for h in search(needle.encode(), msg.seq, msg.data, msg.headers.items())]
        if places:
            found[needle] = places
    return found


PATHS = ["plain", "stream", "error", "mid_stream_error", "fallback"]


@pytest.mark.parametrize("path", PATHS)
def test_excluded_requests_leave_no_canary_on_the_bus_or_at_the_ingest(client: StackClient, path: str) -> None:
    trace_id, canaries, count, _ = send(client, REDACTED_KEY, path)
    assert any(c.startswith("CNRY-OUT-") or c.startswith("CNRY-ERR-") for c in canaries), canaries
    spans = client.trace(trace_id, count=count)
    assert hits_anywhere(client, client.stack.nats_url, canaries) == {}
    for span in spans:
        assert not set(CONTENT_ATTRIBUTES) & set(span["attributes"])
        assert not CANARY_RE.search(span["status"].get("message") or "")
    for span in (s for s in spans if s["kind"] == 3 and s["status"]["code"] == 0):  # RED-02: metadata kept
        assert attr(span, "gen_ai.request.model") and attr(span, "gen_ai.response.model")
        assert attr(span, "gen_ai.usage.input_tokens") > 0 and attr(span, "gen_ai.usage.output_tokens") > 0
        assert attr(span, "gen_ai.response.finish_reasons")


@pytest.mark.parametrize("path", ["plain", "stream"])
def test_without_exclusion_the_same_canaries_are_found(client: StackClient, path: str) -> None:
    trace_id, canaries, count, received = send(client, client.stack.settings.gateway_api_key, path)
    spans = client.trace(trace_id, count=count)
    found = hits_anywhere(client, client.stack.nats_url, canaries)
    usr = next(c for c in canaries if c.startswith("CNRY-USR-"))
    generated = [c for c in received if c.startswith(("CNRY-OUT-", "CNRY-OTC-"))]
    assert generated, received
    for needle in (usr, *generated):
        assert {p.split(":")[0] for p in found.get(needle, [])} == {"bus", "ingest"}, needle
    span = next(s for s in spans if s["kind"] == 3)
    assert usr in attr(span, "gen_ai.input.messages")
    assert all(c in attr(span, "gen_ai.output.messages") for c in generated)


@pytest.fixture(scope="module")
def excluded_stack() -> Iterator[Stack]:
    stack = Stack.start(StackSettings(exclude_request_data=True))
    yield stack
    stack.stop()


@pytest.mark.parametrize("path", ["plain", "stream"])
def test_the_global_switch_without_a_key_override_strips_content(excluded_stack: Stack, path: str) -> None:
    client = StackClient(excluded_stack)
    trace_id, canaries, count, _ = send(client, excluded_stack.settings.gateway_api_key, path)
    client.trace(trace_id, count=count)
    assert hits_anywhere(client, excluded_stack.nats_url, canaries) == {}


@pytest.mark.parametrize("path", ["plain", "error", "mid_stream_error"])
def test_no_process_logs_prompt_content_or_a_key(client: StackClient, path: str) -> None:
    """Logs never carry content or keys, whatever the switch (the stack's key has content on)."""
    stack = client.stack
    trace_id, canaries, count, _ = send(client, stack.settings.gateway_api_key, path)
    client.trace(trace_id, count=count)
    secrets_ = [*canaries, stack.settings.gateway_api_key, stack.settings.provider_api_key,
                stack.settings.middleware_api_key]
    for proc in (stack.gateway, stack.exporter, stack.providers, stack.middleware):
        assert proc is not None
        logs = proc.stderr_text() + "".join(proc.lines)
        leaked = [s for s in secrets_ if s in logs]
        assert not leaked, f"{proc.argv[2:4]} logged {leaked}"
