"""How fast a SIGKILLed exporter is back under ``testbed up`` (target: within 2 s).

Each round starts the real ``testbed up``, SIGKILLs the exporter by the pid its ready line gives,
and times, from the kill, until the exporter's advertised ``/metrics`` URL answers again (the
supervisor restarts it on the same port). The supervisor's own ``down_s`` (from the exit it saw to
the new ready line) is kept beside it. A fresh stack per round, because quick deaths in a row
back off on purpose and the figure wanted is the first restart's.

    python bench/restart.py [--rounds 5]

Writes ``bench/results/restart.json``. On a machine shared with other work, start-up times vary;
the figures are from one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from testbed.percentiles import percentile
from testbed.process import python_module_argv, start_server
from testbed.waiting import wait_until

RESULTS = Path(__file__).resolve().parent / "results" / "restart.json"
TARGET_S = 2.0


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - a loopback URL we started
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def one_round() -> dict[str, Any]:
    up = start_server(python_module_argv("testbed", "up"), timeout=120)
    try:
        ready = up.ready
        url = ready["metrics"]["exporter"]
        killed = time.monotonic()
        os.kill(ready["pids"]["exporter"], signal.SIGKILL)
        # The old process may answer for a moment while it dies; wait for the supervisor's event too.
        event, _ = up.wait_for_event("restarted", 60, part="exporter")
        wait_until(lambda: answers(url), 60, what="the exporter answering again")
        back_s = time.monotonic() - killed
    finally:
        up.stop(timeout=60)
    return {"back_s": round(back_s, 3), "supervisor_down_s": event["down_s"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    rounds = [one_round() for _ in range(args.rounds)]
    back = [r["back_s"] for r in rounds]
    result = {
        "benchmark": "supervised exporter restart under testbed up", "target_s": TARGET_S,
        "rounds": rounds, "back_s": {"p50": percentile(back, 50), "max": max(back)},
        "pass": max(back) <= TARGET_S,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "note": "one run; a machine shared with other work makes start-up times noisy"},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("back_s", "pass", "target_s")} | {"out": str(args.out)}))
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
