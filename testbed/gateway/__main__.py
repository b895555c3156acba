"""``python -m testbed.gateway --config FILE``: the gateway as a process (same as ``testbed gateway``)."""

from __future__ import annotations

import argparse
import sys

from testbed.errors import ConfigError
from testbed.gateway.main import run_gateway


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testbed.gateway", description="Run the reference gateway.")
    parser.add_argument("--config", required=True, help="gateway YAML config file")
    args = parser.parse_args(argv)
    try:
        return run_gateway(args.config)
    except ConfigError as exc:
        print(f"gateway: configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
