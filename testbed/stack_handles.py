"""What the pytest plugin's session fixtures hand a test: where the stack's parts are, the
gateway under test's SDK-ready URL, and the ingest's spans with a wait on arrival (RUN-04).
Thin I/O over a :class:`~testbed.runner.run.RunSession`; no pytest import, so usable elsewhere."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from testbed.runner.run import RunSession


@dataclass(frozen=True)
class GatewayHandle:
    """The gateway under test as a test uses it; the URL is read live (a restart may change it)."""

    session: RunSession

    @property
    def name(self) -> str:
        return str(self.session.gut.name)

    @property
    def base_url(self) -> str:
        return str(self.session.gut.base_url)

    @property
    def openai_base_url(self) -> str:
        """What an OpenAI SDK takes as ``base_url`` as it is."""
        return f"{self.base_url}/v1"

    @property
    def api_key(self) -> str:
        return str(self.session.gut.api_key)


@dataclass(frozen=True)
class StackHandle:
    """Where the session's parts are, and the ingest's spans with a wait on arrival."""

    session: RunSession

    @property
    def stack(self) -> Any:
        return self.session.stack

    @property
    def middleware_url(self) -> str:
        return self.session.middleware_url

    @property
    def middleware_api_key(self) -> str:
        return str(self.session.stack.settings.middleware_api_key)

    @property
    def providers_url(self) -> str:
        return str(self.session.stack.providers.url)

    @property
    def openai_base_url(self) -> str:
        return GatewayHandle(self.session).openai_base_url

    @property
    def gateway_api_key(self) -> str:
        return GatewayHandle(self.session).api_key

    def spans(self, trace_id: str | None = None) -> list[dict[str, Any]]:
        """Spans stored at the ingest (the query API's JSON form), optionally of one trace."""
        query = f"?trace_id={trace_id}" if trace_id else ""
        with urllib.request.urlopen(f"{self.middleware_url}/api/v1/spans{query}", timeout=30) as resp:
            return list(json.load(resp)["spans"])

    def wait_for_spans(self, trace_id: str | None = None, count: int = 1, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Wait (a condition with a deadline, RUN-04) until ``count`` spans of the trace are stored."""
        from testbed.waiting import wait_until

        found: list[dict[str, Any]] = []

        def enough() -> bool:
            found[:] = self.spans(trace_id)
            return len(found) >= count

        wait_until(enough, timeout, what=f"{count} span(s){f' of trace {trace_id}' if trace_id else ''}")
        return list(found)
