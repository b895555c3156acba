"""``python -m fake_middleware``: serve the ingest, print the ready line, stop on SIGINT/SIGTERM.

    FAKE_MIDDLEWARE_API_KEYS=KEY[,TENANT=KEY...] python -m fake_middleware --host 127.0.0.1 --port 0
    python -m fake_middleware --api-key-file FILE [--admin-key-file FILE]

Keys come from a file or the environment: a command line is visible to every user in ``ps``.
``--api-key`` still works, for a quick try on a private machine.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from testbed.admin_key import read_key_file, resolve_keys
from testbed.serving import ready_line, run_process, wait_for_stop_signal

from fake_middleware.auth import AUTH_MODES
from fake_middleware.otlp import DEFAULT_MAX_REQUEST_BYTES
from fake_middleware.server import MiddlewareServer
from fake_middleware.settings import Settings, parse_keys
from fake_middleware.store import DEFAULT_RAW_BYTES_LIMIT

SERVICE = "fake-middleware"
API_KEYS_ENV = "FAKE_MIDDLEWARE_API_KEYS"
"""Accepted keys, ``KEY`` or ``TENANT=KEY``, comma- or newline-separated (default: none, an open ingest)."""
ADMIN_KEY_ENV = "FAKE_MIDDLEWARE_ADMIN_KEY"
"""The admin key of the query, fault and reset routes (default: none, the routes are open)."""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m fake_middleware", description="Fake Middleware OTLP/HTTP ingest.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4318, help="0 picks a free port")
    parser.add_argument("--admin-port", type=int, default=None,
                        help="also serve the query and fault API here; it stays up while a 'down' fault holds --port closed")
    parser.add_argument("--api-key", action="append", default=[], metavar="KEY|TENANT=KEY",
                        help="accepted key, repeatable; visible in process lists, so prefer --api-key-file "
                             f"or {API_KEYS_ENV}; without any, the ingest is open")
    parser.add_argument("--api-key-file", metavar="FILE", help="accepted keys, one KEY or TENANT=KEY per line")
    parser.add_argument("--admin-key-file", metavar="FILE",
                        help=f"admin key of the query, fault and reset routes (or {ADMIN_KEY_ENV})")
    parser.add_argument("--auth-mode", choices=AUTH_MODES, default="raw_or_bearer")
    parser.add_argument("--max-request-bytes", type=int, default=DEFAULT_MAX_REQUEST_BYTES)
    parser.add_argument("--raw-bytes-limit", type=int, default=DEFAULT_RAW_BYTES_LIMIT)
    parser.add_argument("--fault-seed", type=int, default=0)
    return parser.parse_args(argv)


def _keys(args: argparse.Namespace) -> dict[str, str]:
    return parse_keys(resolve_keys(args.api_key, args.api_key_file, os.environ, API_KEYS_ENV))


def _admin_key(args: argparse.Namespace) -> str | None:
    if args.admin_key_file:
        return read_key_file(args.admin_key_file)[0]
    return os.environ.get(ADMIN_KEY_ENV) or None


async def serve(args: argparse.Namespace) -> None:
    settings = Settings(keys=_keys(args), auth_mode=args.auth_mode,
                        max_request_bytes=args.max_request_bytes, raw_bytes_limit=args.raw_bytes_limit,
                        fault_seed=args.fault_seed, admin_key=_admin_key(args))
    server = MiddlewareServer(settings, args.host, args.port, args.admin_port)
    await server.start()
    extra = {"admin_url": server.admin_url} if server.admin_url else {}
    try:
        print(ready_line(SERVICE, server.url, tenants=sorted(settings.keys), **extra), flush=True)
        await wait_for_stop_signal()
    finally:
        await server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        _keys(args)
        _admin_key(args)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return run_process(serve(args))


if __name__ == "__main__":
    sys.exit(main())
