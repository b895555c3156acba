"""A bare aiohttp pass-through proxy: the comparator path of the latency check (LAT-04, LAT-07).

It forwards every request to one upstream base URL and streams the answer back, with one shared
keep-alive client session and nothing else: no auth, no routing, no telemetry. What a gateway adds
beyond this is its own overhead, so a budget relative to it (``overhead_p50 ≤ 1.25 × comparator``)
holds on any machine. The runner starts it for scenarios with ``workload.comparator: true``
(:func:`start_comparator`); by hand: ``python -m testbed.runner.passthrough --upstream URL``, which
prints the usual ready line.
"""

from __future__ import annotations

import argparse
import sys

from aiohttp import ClientSession, TCPConnector, web

from testbed.process import ServerProcess, python_module_argv, start_server
from testbed.serving import run_server

UPSTREAM: web.AppKey[str] = web.AppKey("upstream", str)
SESSION: web.AppKey[ClientSession] = web.AppKey("session", ClientSession)
_HOP_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})


async def forward(request: web.Request) -> web.StreamResponse:
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
    body = await request.read()
    url = request.app[UPSTREAM] + request.rel_url.path_qs
    async with request.app[SESSION].request(request.method, url, data=body, headers=headers) as upstream:
        response = web.StreamResponse(status=upstream.status)
        response.content_type = upstream.content_type
        await response.prepare(request)
        async for chunk in upstream.content.iter_any():
            await response.write(chunk)
        await response.write_eof()
        return response


async def _session(app: web.Application):  # type: ignore[no-untyped-def]
    app[SESSION] = ClientSession(connector=TCPConnector(limit=0), auto_decompress=False)
    yield
    await app[SESSION].close()


def create_app(upstream: str) -> web.Application:
    app = web.Application()
    app[UPSTREAM] = upstream.rstrip("/")
    app.cleanup_ctx.append(_session)
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


def start_comparator(upstream: str) -> ServerProcess:
    """Start the proxy in its own process (like the gateway it is compared with) and wait on its
    ready line."""
    return start_server(python_module_argv("testbed.runner.passthrough", "--upstream", upstream))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testbed.runner.passthrough", description=__doc__)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    return run_server(create_app(args.upstream), args.host, args.port, "passthrough-proxy")


if __name__ == "__main__":
    sys.exit(main())
