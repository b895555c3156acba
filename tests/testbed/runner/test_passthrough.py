"""The comparator path (LAT-04): the bare pass-through proxy the runner starts forwards a chat
request to the fake providers unchanged, answers with the provider's bytes and status, and starts
as its own process with the usual ready line."""

from __future__ import annotations

import asyncio
import json

import aiohttp

from testbed.runner.passthrough import start_comparator

BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 8}


async def post(base: str, key: str = "sk-test") -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/v1/chat/completions", data=json.dumps(BODY),
                             headers={"authorization": f"Bearer {key}", "content-type": "application/json"}) as r:
            return r.status, await r.read()


async def test_the_comparator_forwards_to_the_providers_unchanged_LAT_04(providers_url: str) -> None:
    proxy = await asyncio.to_thread(start_comparator, providers_url)
    try:
        assert proxy.ready["event"] == "ready" and proxy.url.startswith("http://127.0.0.1:")
        direct_status, direct_body = await post(providers_url)
        via_status, via_body = await post(proxy.url)
        assert via_status == direct_status == 200
        direct, via = json.loads(direct_body), json.loads(via_body)
        assert via["choices"] == direct["choices"] and via["usage"] == direct["usage"]
        assert (await post(proxy.url, key=""))[0] == (await post(providers_url, key=""))[0] != 200
    finally:
        proxy.stop()
    assert not proxy.alive()
