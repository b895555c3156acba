"""Plain-HTTP helpers shared by the fake-providers tests (no SDK, no mocks)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from testbed.process import ServerProcess


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 10) -> Reply:
    """A plain HTTP exchange (no SDK); ``body`` may be bytes, str or a JSON value."""
    data = body if isinstance(body, bytes) else body.encode() if isinstance(body, str) else (
        None if body is None else json.dumps(body).encode()
    )  # fmt: skip
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return Reply(resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read())
    except urllib.error.HTTPError as err:
        return Reply(err.code, {k.lower(): v for k, v in err.headers.items()}, err.read())


@dataclass
class FakeServer:
    url: str
    process: ServerProcess

    def put_behaviours(self, rules: list[dict[str, Any]]) -> Reply:
        reply = http("PUT", f"{self.url}/_fake/behaviours", {"behaviours": rules})
        assert reply.status == 200, reply.body
        return reply

    def journal(self, **filters: Any) -> list[dict[str, Any]]:
        query = "&".join(f"{k}={v}" for k, v in filters.items())
        return http("GET", f"{self.url}/_fake/journal?{query}").json()["entries"]

    def errors(self) -> list[dict[str, Any]]:
        return http("GET", f"{self.url}/_fake/errors").json()["errors"]


OPENAI_AUTH = {"Authorization": "Bearer sk-test"}
ANTHROPIC_AUTH = {"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01"}
GEMINI_AUTH = {"x-goog-api-key": "gm-test"}


def sse_events(body: bytes) -> list[tuple[str | None, str]]:
    """(event name, data) per SSE event, split on blank lines as the SDK decoders do."""
    events = []
    for block in body.decode().split("\n\n"):
        if not block.strip():
            continue
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
        events.append((name, "\n".join(data)))
    return events
