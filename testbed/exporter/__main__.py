"""``python -m testbed.exporter --config FILE``: the exporter without the ``testbed`` CLI."""

from __future__ import annotations

import argparse
import sys

from testbed.errors import ConfigError, TestbedError
from testbed.exporter.main import run_exporter


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testbed.exporter", description="Run the reference exporter.")
    parser.add_argument("--config", default=None, help="exporter YAML config (default: the packaged one)")
    args = parser.parse_args(argv)
    try:
        return run_exporter(args.config)
    except ConfigError as exc:
        print(f"testbed exporter: configuration error: {exc}", file=sys.stderr)
        return 2
    except TestbedError as exc:
        print(f"testbed exporter: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
