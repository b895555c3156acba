"""Pieces every front handler shares: the gateway's own OAI-08 errors and whole-response delivery.

Handlers deliver through ``state.deliver`` (:class:`~testbed.gateway.state.GatewayState`), which is
:func:`deliver` unless a seeded defect put a wrapper in its place at start.
"""

from __future__ import annotations

import time
from typing import Final

from aiohttp import web

from testbed.gateway.events import RequestRecord
from testbed.gateway.providers.base import openai_error_body

JSON_TYPE: Final = "application/json"


class FrontError(Exception):
    """A request the gateway itself refuses, answered with an OAI-08 body."""

    def __init__(self, status: int, message: str, kind: str, code: str | None = None, param: str | None = None):
        super().__init__(message)
        self.status, self.kind, self.code, self.param = status, kind, code, param

    def response(self) -> web.Response:
        body = openai_error_body(str(self), self.kind, self.code, self.param)
        return web.Response(status=self.status, body=body, content_type=JSON_TYPE)


async def deliver(request: web.Request, response: web.StreamResponse, record: RequestRecord) -> web.StreamResponse:
    """Write a whole response now, so the SERVER span ends after its last byte (GW-03)."""
    record.status_code = response.status
    try:
        await response.prepare(request)
        record.first_byte_ns = time.time_ns()
        await response.write_eof()
    except ConnectionResetError:
        record.error_type = "cancelled"
    record.end_ns = time.time_ns()
    return response
