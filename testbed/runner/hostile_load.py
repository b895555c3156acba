"""The runner's hook for hostile load: send the scenario's hostile requests beside its normal load
and hand their outcomes to the checks as client records on the ``hostile`` path.

Records on that path are judged by the ``hostile`` check only; every other check reads the
``gateway`` path, so hostile requests never change what they expect.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from urllib.parse import urlsplit

from testbed.checks.evidence import ClientRecord
from testbed.load import hostile
from testbed.runner.scenario import Scenario

HOSTILE_TIMEOUT_S = 10.0
"""How long one hostile request may go unanswered before it counts as a hang."""


def start_hostile(sc: Scenario, gateway_url: Callable[[], str], api_key: Callable[[], str],
                  run_id: str) -> asyncio.Future[tuple[ClientRecord, ...]]:
    """A task sending the scenario's hostile requests; an already finished future when it has none."""
    w = sc.workload
    count = round(w.hostile_per_s * w.duration_s)
    if count <= 0:
        done: asyncio.Future[tuple[ClientRecord, ...]] = asyncio.get_running_loop().create_future()
        done.set_result(())
        return done
    return asyncio.ensure_future(_run(gateway_url(), api_key(), run_id, count, w.duration_s))


async def _run(url: str, api_key: str, run_id: str, count: int, duration_s: float) -> tuple[ClientRecord, ...]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    requests = [hostile.build(kind, i, host=parts.netloc, api_key=api_key, run_id=run_id)
                for i, kind in enumerate(hostile.sequence(count))]
    sent = await hostile.drive(host, port, requests, duration_s, HOSTILE_TIMEOUT_S)
    return tuple(record(s) for s in sent)


def record(s: hostile.Sent) -> ClientRecord:
    """A client record of one hostile exchange; ``error`` names a missing answer or a body outside
    the OpenAI error format (OAI-08) for a 4xx or 5xx answer."""
    answer = s.answer
    error = answer.error
    if error is None and answer.status is not None and answer.status >= 400:
        problem = hostile.error_format_problem(answer.body)
        error = f"error body: {problem}" if problem else None
    return ClientRecord(s.request.correlation_id, s.sent_ns, s.sent_ns, path="hostile",  # type: ignore[arg-type]
                        trace_id=s.request.trace_id, status=answer.status, error=error,
                        complete_ns=s.done_ns, first_byte_ns=s.done_ns if answer.status is not None else None)
