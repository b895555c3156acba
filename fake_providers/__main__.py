"""``python -m fake_providers``: serve every provider wire format on one port until SIGINT/SIGTERM.

Prints the ready line ``{"event": "ready", "service": "fake-providers", "url": ...}`` once it
listens. Exit status 0 after a clean shutdown, 2 for bad arguments or an invalid behaviours file.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from fake_providers.app import create_app
from fake_providers.settings import FakeProviderSettings, load_behaviours_file
from testbed.admin_key import read_key_file, resolve_keys
from testbed.errors import ConfigError
from testbed.serving import run_server

SERVICE = "fake-providers"
API_KEYS_ENV = "FAKE_PROVIDERS_API_KEYS"
"""Accepted keys, comma- or newline-separated (default: none, any non-empty key is accepted)."""
ADMIN_KEY_ENV = "FAKE_PROVIDERS_ADMIN_KEY"
"""The admin key of ``/_fake/*`` (default: none, the routes are open)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m fake_providers", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--behaviours", metavar="FILE", help="YAML file with a 'behaviours' rule list")
    parser.add_argument(
        "--api-key", action="append", default=[], metavar="KEY",
        help=f"accept only these keys (repeatable; visible in process lists: prefer --api-key-file or {API_KEYS_ENV}); "
             "without any, any non-empty key is accepted",
    )  # fmt: skip
    parser.add_argument("--api-key-file", metavar="FILE", help="accepted keys, one per line")
    parser.add_argument("--admin-key-file", metavar="FILE", help=f"admin key of /_fake/* (or {ADMIN_KEY_ENV})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the jitter and probability RNG")
    parser.add_argument("--tokens-per-chunk", type=int, default=1)
    parser.add_argument("--journal-capacity", type=int, default=10_000, help="journal entries kept (a ring)")
    parser.add_argument("--journal-body-bytes", type=int, default=64 * 1024,
                        help="a journalled body past this size keeps its head and a truncation marker")
    parser.add_argument("--journal-body-budget", type=int, default=64 * 1024 * 1024,
                        help="bytes of bodies the journal keeps in all (oldest entries leave first)")
    parser.add_argument("--default-retry-after-ms", type=int, default=1000)
    return parser


def _admin_key(args: argparse.Namespace) -> str | None:
    if args.admin_key_file:
        return read_key_file(args.admin_key_file)[0]
    return os.environ.get(ADMIN_KEY_ENV) or None


def settings_from(args: argparse.Namespace) -> FakeProviderSettings:
    rules = load_behaviours_file(args.behaviours) if args.behaviours else ()
    return FakeProviderSettings(
        api_keys=frozenset(resolve_keys(args.api_key, args.api_key_file, os.environ, API_KEYS_ENV)),
        behaviours=rules, seed=args.seed,
        tokens_per_chunk=max(1, args.tokens_per_chunk), journal_capacity=max(1, args.journal_capacity),
        journal_body_bytes=max(0, args.journal_body_bytes), journal_body_budget=max(0, args.journal_body_budget),
        default_retry_after_ms=max(0, args.default_retry_after_ms),
        admin_key=_admin_key(args),
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = settings_from(args)
    except (ConfigError, OSError, ValueError) as exc:
        print(f"fake_providers: {exc}", file=sys.stderr)
        return 2
    return run_server(create_app(settings), args.host, args.port, SERVICE)


if __name__ == "__main__":
    sys.exit(main())
