"""The ``testbed`` command line: argument parsing and exit codes only.

Exit codes: 0 success; 1 a check failed (or a command failed); 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from testbed.errors import ConfigError, TestbedError

if TYPE_CHECKING:
    from testbed.runner.stack import StackSettings

EPILOG = """\
examples:
  testbed run                              the default scenarios on the reference gateway
  testbed run otlp-down redaction-on       chosen scenarios
  testbed run --set cluster                a named scenario set (default, cluster, soak, signals)
  testbed run --gateway profiles/my-gw.yaml   judge another gateway through its profile
  testbed selftest                         prove every check catches its seeded defect
  testbed compare base.json reports/RUN/results.json   CI gate on regressions
  testbed up                               the whole stack, until Ctrl-C
  testbed lint capture.pb.gz dumps/        judge saved OTLP captures
  testbed watch --providers                live-check: point any app's OTLP exporter here
  testbed schema scenario > scenario.json  JSON Schema for editors (docs/schemas.md)
  testbed schema scenario --check          validate the shipped scenarios (or named files)

exit status:
  0  success (every scenario passed; no regression)
  1  a check failed, a scenario was inconclusive or broke, or a regression was found
  2  usage or configuration error (the message names the file and key)
"""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _exporter(args: argparse.Namespace) -> int:
    from testbed.exporter.main import run_exporter

    return run_exporter(args.config)


def _gateway(args: argparse.Namespace) -> int:
    from testbed.gateway.main import run_gateway

    return run_gateway(args.config)


def up_settings(args: argparse.Namespace, environ: Mapping[str, str]) -> StackSettings:
    """``testbed up``'s settings; a key comes from its flag, else its variable, else is generated."""
    from testbed.admin_key import GATEWAY_API_KEY_ENV, MIDDLEWARE_API_KEY_ENV
    from testbed.runner.stack import NATS_URL_ENV, StackSettings

    settings = StackSettings(exclude_request_data=args.exclude_request_data, behaviours_file=args.behaviours,
                             host=args.host, nats_cluster=args.nats_cluster, gateways=args.gateways,
                             exporters=args.exporters, nats_url=args.nats_url or environ.get(NATS_URL_ENV) or None)
    if gateway_key := args.gateway_api_key or environ.get(GATEWAY_API_KEY_ENV):
        settings.gateway_api_key = gateway_key
    if middleware_key := args.middleware_api_key or environ.get(MIDDLEWARE_API_KEY_ENV):
        settings.middleware_api_key = middleware_key
    return settings


def _count(text: str) -> int:
    """A small positive process count (argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value <= 16:
        raise argparse.ArgumentTypeError(f"expected 0 to 16, got {value}")
    return value


def _up(args: argparse.Namespace) -> int:
    from testbed.runner.up import run_up

    return run_up(up_settings(args, os.environ))


def _run(args: argparse.Namespace) -> int:
    from testbed.runner.cli_entry import run_command

    return run_command(list(args.scenarios), args.gateway, args.out, args.set)


def _lint(args: argparse.Namespace) -> int:
    from testbed.lint.command import lint_main

    return lint_main(args)


def _watch(args: argparse.Namespace) -> int:
    from testbed.watch.command import watch_main

    return watch_main(args)


def _selftest(args: argparse.Namespace) -> int:
    from testbed.selftest.run import selftest_main

    return selftest_main(list(args.args))


def _schema(args: argparse.Namespace) -> int:
    from testbed.schema.command import schema_main

    return schema_main(args.kind, args.check)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="testbed",
        description="Observability testbed and conformance suite for AI gateways.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EPILOG,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    exporter = sub.add_parser(
        "exporter", help="run the reference exporter (bus -> OTLP/HTTP) until SIGTERM"
    )
    exporter.add_argument("--config", help="exporter YAML file (default: built-in defaults and OTEL_* variables)")
    exporter.set_defaults(func=_exporter)
    gateway = sub.add_parser("gateway", help="run the reference gateway until SIGTERM")
    gateway.add_argument("--config", required=True, help="gateway YAML file (see docs/gateway.md)")
    gateway.set_defaults(func=_gateway)
    up = sub.add_parser(
        "up", help="start the whole stack (NATS, fakes, gateway, exporter) and print one ready line; Ctrl-C stops it"
    )
    up.add_argument("--host", default="127.0.0.1",
                    help="address every server binds; a non-loopback one turns the fakes' admin key on")
    up.add_argument("--exclude-request-data", action="store_true", help="turn the global exclude switch on")
    up.add_argument("--behaviours", help="fake-provider behaviours YAML file")
    up.add_argument("--gateway-api-key", help="gateway API key, visible in process lists: prefer "
                    "TESTBED_GATEWAY_API_KEY (default: generated)")
    up.add_argument("--middleware-api-key", help="fake Middleware API key, visible in process lists: prefer "
                    "TESTBED_MIDDLEWARE_API_KEY (default: generated)")
    up.add_argument("--nats-cluster", type=_count, default=0, metavar="N",
                    help="start a routed JetStream cluster of N nats-server nodes, the stream with N replicas "
                    "(default: one server)")
    up.add_argument("--nats-url", metavar="URL[,URL...]",
                    help="an existing NATS with JetStream (a cluster: every node's URL, comma-separated) "
                    "instead of an embedded one; with credentials in it, prefer TESTBED_NATS_URL (see docs/scaling.md)")
    up.add_argument("--gateways", type=_count, default=1, metavar="N",
                    help="reference gateways, each on its own cluster node (default: 1)")
    up.add_argument("--exporters", type=_count, default=1, metavar="M",
                    help="exporters sharing the one durable consumer (default: 1)")
    up.set_defaults(func=_up)
    run = sub.add_parser("run", help="run scenarios against a gateway and write reports/<run>/")
    run.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                     help="scenario names (from scenarios/) or YAML files; none runs the default set")
    run.add_argument("--gateway", metavar="PROFILE",
                     help="gateway under test: a profile name in profiles/ or a profile file (default: the reference gateway)")
    run.add_argument("--out", default="reports", help="directory for reports/<run>/ (default: reports)")
    run.add_argument("--set", metavar="NAME",
                     help="run every scenario of a named set: default, cluster, soak, signals (see docs/runner.md)")
    run.set_defaults(func=_run)
    compare = sub.add_parser(
        "compare", add_help=False,
        help="CI gate: compare two results.json files, print a Markdown summary (see 'testbed compare --help')",
    )
    compare.add_argument("args", nargs=argparse.REMAINDER)
    from testbed.lint.command import add_arguments

    lint = sub.add_parser("lint", help="judge saved OTLP trace captures (protobuf or JSON, gzip or not, files or dirs)")
    lint.add_argument("paths", nargs="+", metavar="FILE|DIR", help="captures, or directories of them")
    add_arguments(lint)
    lint.set_defaults(func=_lint)
    watch = sub.add_parser("watch", help="live-check: a fake ingest that judges spans as they arrive; Ctrl-C writes the report")
    watch.add_argument("--host", default="127.0.0.1", help="address the ingest binds (default: 127.0.0.1)")
    watch.add_argument("--port", type=int, default=0, help="ingest port (default: a free one)")
    watch.add_argument("--providers", action="store_true", help="also start the fake providers")
    add_arguments(watch)
    watch.set_defaults(func=_watch)
    from testbed.schema.command import KINDS

    schema = sub.add_parser("schema", help="print the JSON Schema of a configuration file, or --check files against it",
                            description="Kinds: " + "; ".join(f"{k}: {v.help}" for k, v in KINDS.items()))
    schema.add_argument("kind", choices=sorted(KINDS), metavar="KIND", help=", ".join(KINDS))
    schema.add_argument("--check", nargs="*", metavar="FILE", help="load each FILE (none: the shipped files of KIND) "
                        "and print every error; exit 2 if any is invalid")
    schema.set_defaults(func=_schema)
    selftest = sub.add_parser(
        "selftest", add_help=False,
        help="prove each check catches its seeded defect and passes on the clean gateway (see 'testbed selftest --help')",
    )
    selftest.add_argument("args", nargs=argparse.REMAINDER)
    selftest.set_defaults(func=_selftest)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["compare"]:  # its own parser: argparse.REMAINDER cannot pass a leading --help on
        from testbed.report.compare_cli import compare_main

        return compare_main(argv[1:])
    if argv[:1] == ["selftest"]:
        from testbed.selftest.run import selftest_main

        return selftest_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"testbed: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except TestbedError as exc:
        print(f"testbed: {exc}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
