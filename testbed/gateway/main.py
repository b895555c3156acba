"""``run_gateway(config_path)``: the blocking entry point behind ``testbed gateway --config FILE``.

Prints the ready line ``{"event": "ready", "service": "gateway", "url": ..., "metrics": ...}``
once listening, and serves until SIGINT/SIGTERM; the exit status is 0 after a clean stop.
"""

from __future__ import annotations

import gc

from testbed.gateway.app import create_app
from testbed.gateway.config import load_config
from testbed.serving import ready_line, run_process, start_site, wait_for_stop_signal


async def serve(config_path: str) -> None:
    config = load_config(config_path)
    app = create_app(config)
    runner, url = await start_site(app, config.host, config.port)
    # Everything allocated at start lives for the whole process: keep it out of the collector's
    # scans, and collect young objects less often, so collections do not land in request latency.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    try:
        print(ready_line("gateway", url, metrics=f"{url}/metrics"), flush=True)
        await wait_for_stop_signal()
    finally:
        await runner.cleanup()


def run_gateway(config_path: str) -> int:
    """Blocking: load the config (ConfigError propagates), serve until a stop signal."""
    return run_process(serve(config_path))
