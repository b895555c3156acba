"""``testbed exporter --config FILE``: run the exporter until SIGTERM/SIGINT, then drain.

Prints the ready line ``{"event": "ready", "service": "exporter", "url": ..., "metrics": ...}``
once it consumes from the bus and serves ``/metrics``. A configuration problem raises
:class:`~testbed.errors.ConfigError` before anything starts (exit status 2 from the CLI).
"""

from __future__ import annotations


from testbed.exporter.config import load_config
from testbed.exporter.service import ExporterService
from testbed.serving import ready_line, run_process, wait_for_stop_signal


async def serve(config_path: str | None) -> None:
    config = load_config(config_path)
    service = ExporterService(config)
    await service.start()
    try:
        url = service.metrics_url or ""
        print(ready_line("exporter", url, metrics=f"{url}/metrics"), flush=True)
        await wait_for_stop_signal()
    finally:
        await service.stop()


def run_exporter(config_path: str | None) -> int:
    """Blocking entry point; returns the process exit status (0 after a clean drain)."""
    return run_process(serve(config_path))
