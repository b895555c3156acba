"""The testbed pytest plugin, driven by pytester: it stays inert unless used; its fake fixtures work
in a user's own test file; a scenario directory is collected as one item per scenario and one per
(scenario, check); a real tiny scenario runs and the report is written at session end (RUN-06)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

pytest_plugins = ["pytester"]
PLUGIN: tuple[str, ...] = ()  # loaded through its pytest11 entry point, as users get it

TINY = """\
name: tiny
description: A one-second healthy run.
workload: {rate_per_s: 10, duration_s: 1, mix: [{model: gpt-4o-mini}]}
checks: [semconv, loss]
"""


@pytest.fixture(autouse=True)
def _quiet_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")


def test_plugin_is_inert_when_its_options_and_fixtures_are_unused(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain():\n    assert 1 + 1 == 2\n")
    result = pytester.runpytest(*PLUGIN)
    result.assert_outcomes(passed=1)
    assert not (pytester.path / "reports").exists()
    assert "testbed report" not in result.stdout.str()


def test_options_are_documented_in_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(*PLUGIN, "--help")
    result.stdout.fnmatch_lines(["*--testbed-scenarios=DIR*", "*--testbed-gateway=PROFILE*", "*--testbed-report=DIR*"])


def test_fake_fixtures_work_in_a_user_test_file(pytester: pytest.Pytester) -> None:
    pytester.makepyfile('''
        import json, urllib.request
        import openai

        def test_fake_providers_answer_the_openai_sdk(fake_providers):
            client = openai.OpenAI(base_url=fake_providers.openai_base_url, api_key=fake_providers.api_key)
            reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
            assert reply.choices[0].message.content
            assert [e["model"] for e in fake_providers.journal()] == ["gpt-4o-mini"]

        def test_fake_middleware_stores_spans_sent_with_its_key(fake_middleware):
            span = {"traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "spanId": "00f067aa0ba902b7", "name": "chat x",
                    "kind": 3, "startTimeUnixNano": "1", "endTimeUnixNano": "2"}
            body = {"resourceSpans": [{"resource": {"attributes": [
                        {"key": "service.name", "value": {"stringValue": "my-gw"}}]},
                     "scopeSpans": [{"spans": [span]}]}]}
            req = urllib.request.Request(fake_middleware.otlp_endpoint, json.dumps(body).encode(),
                                         {"Content-Type": "application/json", "Authorization": fake_middleware.api_key})
            with urllib.request.urlopen(req, timeout=30) as resp:
                assert resp.status == 200
            spans = fake_middleware.wait_for_spans(1, timeout=10, service="my-gw")
            assert [s.name for s in spans] == ["chat x"]
    ''')
    result = pytester.runpytest(*PLUGIN)
    result.assert_outcomes(passed=2)


def test_scenario_directory_is_collected_as_scenario_and_check_items(pytester: pytest.Pytester) -> None:
    (pytester.path / "scen").mkdir()
    (pytester.path / "scen" / "tiny.yaml").write_text(TINY, encoding="utf-8")
    result = pytester.runpytest(*PLUGIN, "--collect-only", "-q", "--testbed-scenarios", "scen")
    result.stdout.fnmatch_lines(["*tiny.yaml::tiny::scenario", "*tiny.yaml::tiny::semconv", "*tiny.yaml::tiny::loss"])
    assert not (pytester.path / "reports").exists()


def test_a_broken_scenario_file_is_a_collection_error_naming_it(pytester: pytest.Pytester) -> None:
    (pytester.path / "scen").mkdir()
    (pytester.path / "scen" / "bad.yaml").write_text("name: bad\nworkload: {rate_per_s: 1}\nbogus: 1\n", encoding="utf-8")
    result = pytester.runpytest(*PLUGIN, "--collect-only", "--testbed-scenarios", "scen")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*bad.yaml*"])


@pytest.mark.e2e
@pytest.mark.slow
def test_a_tiny_scenario_runs_and_the_report_is_written_at_session_end(pytester: pytest.Pytester) -> None:
    (pytester.path / "scen").mkdir()
    (pytester.path / "scen" / "tiny.yaml").write_text(TINY, encoding="utf-8")
    out = pytester.path / "out"
    result = pytester.runpytest_subprocess(*PLUGIN, "--testbed-scenarios", "scen", "--testbed-report", str(out),
                                           f"--junitxml={pytester.path / 'pytest-junit.xml'}", timeout=120)
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["testbed report: *index.html"])
    (run,) = list(out.iterdir())
    assert {p.name for p in run.iterdir()} == {"results.json", "index.html", "junit.xml"}
    cases = {c.get("name") for c in ET.parse(run / "junit.xml").getroot().iter("testcase")}
    assert cases == {"semconv", "loss"}
    assert "tiny" in (run / "index.html").read_text(encoding="utf-8")


def _two_scenarios(pytester: pytest.Pytester) -> None:
    (pytester.path / "scen").mkdir()
    (pytester.path / "scen" / "tiny.yaml").write_text(TINY, encoding="utf-8")
    (pytester.path / "scen" / "other.yaml").write_text(TINY.replace("name: tiny", "name: other"), encoding="utf-8")


def test_collection_counts_add_up_with_k_deselection(pytester: pytest.Pytester) -> None:
    _two_scenarios(pytester)
    pytester.makepyfile("def test_plain():\n    assert True\n")
    result = pytester.runpytest(*PLUGIN, "--collect-only", "--testbed-scenarios", "scen", "-k", "tiny")
    result.stdout.fnmatch_lines(["collected 7 items / 4 deselected / 3 selected"])
    assert "-" not in result.stdout.str().split("collected", 1)[1].split("items", 1)[0]


def test_scenario_items_are_selectable_by_node_id(pytester: pytest.Pytester) -> None:
    _two_scenarios(pytester)
    result = pytester.runpytest(*PLUGIN, "--collect-only", "-q", "--testbed-scenarios", "scen",
                                "scen/tiny.yaml::tiny::loss")
    result.stdout.fnmatch_lines(["scen/tiny.yaml::tiny::loss", "1 test collected*"])
    assert "other" not in result.stdout.str() and "semconv" not in result.stdout.str()


@pytest.mark.e2e
@pytest.mark.slow
def test_stack_fixture_gives_an_sdk_ready_url_and_waits_for_a_traces_spans(pytester: pytest.Pytester) -> None:
    pytester.makepyfile('''
        import openai

        def test_one_request_leaves_its_spans(testbed_stack, testbed_gateway):
            assert testbed_stack.openai_base_url == testbed_gateway.openai_base_url
            assert testbed_gateway.openai_base_url.endswith("/v1")
            client = openai.OpenAI(base_url=testbed_stack.openai_base_url, api_key=testbed_stack.gateway_api_key)
            trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
                                           extra_headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
            spans = testbed_stack.wait_for_spans(trace_id=trace_id, count=2)
            assert sorted(s["kind"] for s in spans) == [2, 3]
            assert testbed_stack.middleware_url.startswith("http://")
    ''')
    result = pytester.runpytest_subprocess(*PLUGIN, timeout=120)
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize("status", ["inconclusive", "not_applicable"])
def test_a_check_that_is_not_a_pass_or_a_failure_skips_its_item_RUN_03(status: str) -> None:
    from testbed.pytest_plugin import _judge

    with pytest.raises(pytest.skip.Exception, match=status.replace("_", " ")):
        _judge(status, "why")


def test_a_failed_check_fails_its_item_and_a_passed_one_does_not() -> None:
    from testbed.pytest_plugin import ScenarioFailed, _judge

    _judge("passed", "")
    with pytest.raises(ScenarioFailed):
        _judge("failed", "SEM-03")
