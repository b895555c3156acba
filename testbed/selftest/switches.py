"""Turning one seeded defect on (or all off) in a running selftest session.

Gateway defects travel in the gateway's environment (``StackSettings.gateway_env``,
``TESTBED_GATEWAY_DEFECTS``) and exporter defects in its config (``StackSettings.exporter_overrides``,
section ``defects`` in its mapping form, which the stack's section merge accepts). Only the
component whose switches change is restarted, so one stack serves the whole selftest.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

from testbed.errors import ConfigError
from testbed.exporter.defects import DEFECTS_ENV as EXPORTER_ENV
from testbed.gateway.defects import DEFECTS_ENV as GATEWAY_ENV
from testbed.gateway.defects import PUBLISH_IN_REQUEST_PATH
from testbed.selftest.catalogue import Defect
from testbed.exporter.otel_env import OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_HEADERS

if TYPE_CHECKING:
    from testbed.runner.run import RunSession

SWITCH_VARIABLES: Final = (GATEWAY_ENV, EXPORTER_ENV)


def refuse_inherited_switches(environ: Mapping[str, str] | None = None) -> None:
    """The clean runs must be clean: a defect variable in our own environment would reach the
    child processes, so it is refused rather than silently inherited."""
    env = os.environ if environ is None else environ
    for name in SWITCH_VARIABLES:
        if env.get(name):
            raise ConfigError(f"{name} is set in the environment; unset it, the selftest sets defects itself")


def gateway_env(defect: Defect | None, ingest_url: str, ingest_key: str, grade: str = "") -> dict[str, str]:
    """The gateway's environment for ``defect`` switched on (``name@grade`` when graded)."""
    if defect is None or not defect.in_component("gateway"):
        return {}
    env = {GATEWAY_ENV: with_grade(defect.name, grade)}
    if defect.name == PUBLISH_IN_REQUEST_PATH:  # its blocking export goes to the fake ingest
        env[OTEL_EXPORTER_OTLP_TRACES_ENDPOINT] = f"{ingest_url}/v1/traces"
        env[OTEL_EXPORTER_OTLP_TRACES_HEADERS] = f"authorization={quote(ingest_key, safe='')}"
    return env


def exporter_overrides(defect: Defect | None, grade: str = "") -> dict[str, Any]:
    """The exporter's config overrides for ``defect``; a ``both`` defect's grade is the gateway's."""
    if defect is None or not defect.in_component("exporter"):
        return {}
    return {"defects": {with_grade(defect.name, "" if defect.component == "both" else grade): True}}


def with_grade(name: str, grade: str) -> str:
    return f"{name}@{grade}" if grade else name


def switch(sess: RunSession, defect: Defect | None, grade: str = "") -> None:
    """Blocking: restart the gateway and/or exporter so exactly ``defect`` is on (None: all off)."""
    stack = sess.stack
    env = gateway_env(defect, sess.middleware_url, stack.settings.middleware_api_key, grade)
    if stack.settings.gateway_env != env:
        stack.settings.gateway_env = env
        sess.gut.restart("TERM")
    overrides = exporter_overrides(defect, grade)
    if stack.settings.exporter_overrides != overrides:
        stack.settings.exporter_overrides = overrides
        if stack.exporter is not None:
            stack.exporter.stop()
        stack.start_exporter()
