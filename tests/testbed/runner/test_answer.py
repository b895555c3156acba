"""What the client was told (finish reasons, usage, model) read from OpenAI-format answers, whole
or streamed chunk by chunk, so the checks can compare it with the provider and the span; bad input
yields nothing rather than an exception."""

from __future__ import annotations

import json

from testbed.runner.answer import Answer, read_answer


def test_a_json_body_gives_finish_reasons_usage_and_model() -> None:
    a = Answer()
    a.feed_bytes(json.dumps({"model": "gpt-4o-mini-2024-07-18", "choices": [
        {"index": 1, "finish_reason": "length"}, {"index": 0, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7}}).encode())
    assert a.fields(streamed=False) == {"finish_reasons": ("stop", "length"), "prompt_tokens": 11,
                                         "completion_tokens": 7, "response_model": "gpt-4o-mini-2024-07-18",
                                         "streamed": False}


def test_streamed_chunks_accumulate_the_final_finish_reason_and_the_usage_chunk() -> None:
    chunks = [{"model": "m", "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}]},
              {"model": "m", "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]},
              {"model": "m", "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 2}}]
    f = read_answer(chunks).fields(streamed=True)
    assert f["finish_reasons"] == ("length",) and (f["prompt_tokens"], f["completion_tokens"]) == (10, 2)


def test_malformed_answers_yield_nothing() -> None:
    a = Answer()
    for raw in (b"not json", b"[1, 2]", json.dumps({"choices": "x", "usage": {"prompt_tokens": "9"}}).encode(),
                json.dumps({"choices": [{"finish_reason": 3}], "usage": {"completion_tokens": True}}).encode()):
        a.feed_bytes(raw)
    assert a.fields(streamed=False) == {"finish_reasons": (), "prompt_tokens": None, "completion_tokens": None,
                                         "response_model": None, "streamed": False}
