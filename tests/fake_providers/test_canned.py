"""Deterministic completions: canaries echoed and planted, tool calls, stop sequences, max tokens."""

from __future__ import annotations

import json
from dataclasses import replace

from fake_providers import canaries, canned
from fake_providers.tokens import count_tokens

USR = "CNRY-USR-0123456789abcdef0123"
SYS = "CNRY-SYS-aaaaaaaaaabbbbbbbbbb"


def prompt(**overrides: object) -> canned.Prompt:
    fields = {"messages": [{"role": "system", "content": f"be brief {SYS}"}, {"role": "user", "content": f"hi {USR}"}]}
    base = canned.Prompt(endpoint="t", model="m", fields=fields, strings=tuple(canned.walk_strings(fields)))
    return replace(base, **overrides)  # type: ignore[arg-type]


def test_the_same_prompt_gives_the_same_text_and_counts() -> None:
    assert canned.generate(prompt()) == canned.generate(prompt())


def test_a_different_seed_or_model_changes_the_answer() -> None:
    base = canned.generate(prompt()).choices[0].text
    assert canned.generate(prompt(seed=7)).choices[0].text != base
    assert canned.generate(prompt(model="other")).choices[0].text != base


def test_text_starts_with_the_out_canary_and_echoes_prompt_canaries_in_order() -> None:
    gen = canned.generate(prompt())
    choice = gen.choices[0]
    assert choice.out_canary == canaries.derive("OUT", gen.fingerprint, "out", "0")
    assert choice.text.startswith(f"{choice.out_canary} {SYS} {USR} ")
    assert choice.text.endswith(".")
    assert gen.echoes == (SYS, USR)


def test_prompt_tokens_count_every_string_value() -> None:
    gen = canned.generate(prompt())
    assert gen.prompt_tokens == count_tokens(f"system be brief {SYS} user hi {USR}")


def test_each_choice_has_its_own_out_canary() -> None:
    gen = canned.generate(prompt(choices=3))
    assert len({c.out_canary for c in gen.choices}) == 3


def test_max_tokens_truncates_and_reports_length() -> None:
    choice = canned.generate(prompt(max_tokens=7)).choices[0]
    assert count_tokens(choice.text) == 7
    assert choice.finish == "length"


def test_a_stop_sequence_cuts_before_its_first_occurrence() -> None:
    full = canned.generate(prompt()).choices[0].text
    word = full.split()[3]
    choice = canned.generate(prompt(stop=(word,))).choices[0]
    assert choice.text == full[: full.index(word)]
    assert (choice.finish, choice.stop_sequence) == ("stop_sequence", word)


def test_offered_tools_are_called_with_the_otc_canary_in_the_first_string_argument() -> None:
    tools = (canned.ToolSpec("get_weather", "location"), canned.ToolSpec("other"))
    choice = canned.generate(prompt(tools=tools)).choices[0]
    assert choice.finish == "tool" and choice.tool_call is not None
    assert choice.tool_call.name == "get_weather"
    assert json.loads(choice.tool_call.arguments) == {"location": choice.tool_call.canary}
    assert choice.tool_call.canary.startswith("CNRY-OTC-")


def test_tools_are_not_called_when_forbidden_or_after_a_tool_result() -> None:
    tools = (canned.ToolSpec("f"),)
    assert canned.generate(prompt(tools=tools, tool_mode="none")).choices[0].tool_call is None
    assert canned.generate(prompt(tools=tools, after_tool_result=True)).choices[0].tool_call is None


def test_a_forced_tool_is_the_one_called() -> None:
    tools = (canned.ToolSpec("a"), canned.ToolSpec("b", "q"))
    call = canned.generate(prompt(tools=tools, forced_tool="b")).choices[0].tool_call
    assert call is not None and call.name == "b" and "q" in json.loads(call.arguments)


def test_the_out_canary_break_falls_between_the_two_hex_halves() -> None:
    choice = canned.generate(prompt()).choices[0]
    (at,) = choice.text_breaks
    first, second = canaries.fragments(choice.out_canary)
    assert choice.text[at - 10 : at] == first and choice.text[at : at + 10] == second


def test_string_property_picks_the_first_string_typed_property() -> None:
    schema = {"properties": {"n": {"type": "integer"}, "city": {"type": "string"}}}
    assert canned.string_property(schema) == "city"
    assert canned.string_property({"properties": {}}) == "input"
    assert canned.string_property(None) == "input"
