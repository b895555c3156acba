"""``testbed up``'s ready line gives an OpenAI base URL (ending in ``/v1``) that the openai SDK
takes as printed, as the README's example does; the span of that call reaches the ingest."""

from __future__ import annotations

import openai
import pytest
import requests

from testbed.process import python_module_argv, start_server

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_the_printed_openai_base_url_works_as_is_with_the_sdk() -> None:
    up = start_server(python_module_argv("testbed", "up"), timeout=120)
    try:
        ready = up.ready
        assert ready["openai_base_url"] == f"{ready['gateway']}/v1"
        client = openai.OpenAI(base_url=ready["openai_base_url"], api_key=ready["gateway_api_key"], max_retries=0)
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        assert reply.choices[0].message.content
        body = requests.get(f"{ready['middleware_admin']}/api/v1/spans",
                            params={"wait_count": 2, "wait_timeout_s": 30}, timeout=60).json()
        assert {s["kind"] for s in body["spans"]} == {2, 3}
    finally:
        assert up.stop(timeout=60) == 0
