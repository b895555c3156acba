"""junit.xml (RUN-06): one testcase per (scenario, check); a failed check carries its findings,
inconclusive is skipped (RUN-03: never a pass), a broken check or run is an error."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from testbed.report import junit_xml
from tests.testbed.report.sample import HOSTILE, results


def _cases(doc: dict) -> dict[tuple[str, str], ET.Element]:
    root = ET.fromstring(junit_xml(doc))
    return {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}


def test_each_check_of_each_scenario_is_a_testcase() -> None:
    cases = _cases(results())
    assert set(cases) == {("chat", "semconv"), ("chat", "loss"), ("chat", "streaming"), ("chat", "isolation"),
                          ("chat", "latency"), ("broken", "run")}


def test_failed_check_carries_the_first_violation_and_every_finding() -> None:
    failure = _cases(results())[("chat", "semconv")].find("failure")
    assert failure is not None
    assert failure.get("message") == "SEM-03: gen_ai.request.model differs from the request"
    assert "SEM-24 [warning/value]" in failure.text
    assert HOSTILE in failure.text  # the XML escaping carried it through intact


def test_inconclusive_is_skipped_with_its_reason_and_errors_are_errors() -> None:
    cases = _cases(results())
    skipped = cases[("chat", "isolation")].find("skipped")
    assert skipped is not None and "ISO-03" in skipped.get("message")
    assert cases[("chat", "latency")].find("error").get("message") == "KeyError: 'direct'"
    assert cases[("broken", "run")].find("error").get("message") == "RuntimeError: stack died"
    assert [e.tag for e in cases[("chat", "loss")]] == ["system-out"]


def test_suite_totals_add_up() -> None:
    root = ET.fromstring(junit_xml(results()))
    assert (root.get("tests"), root.get("failures"), root.get("skipped"), root.get("errors")) == ("6", "1", "2", "2")
    chat = root.find("testsuite[@name='chat']")
    assert chat.get("tests") == "5" and chat.get("time") == "4.000"


def test_not_applicable_is_a_skipped_testcase_never_a_pass_RUN_03() -> None:
    case = _cases(results())[("chat", "streaming")]
    skipped = case.find("skipped")
    assert skipped is not None and skipped.get("message").startswith("not applicable: no request")
    assert case.find("failure") is None and case.find("error") is None


def test_each_testcase_says_what_its_check_judged() -> None:
    cases = _cases(results())
    assert cases[("chat", "loss")].find("system-out").text == "judged: 40 expected spans, 40 spans"
    assert cases[("chat", "streaming")].find("system-out").text == "judged: 0 streams"


@settings(max_examples=50, deadline=None)
@given(text=st.text())
def test_any_string_in_a_finding_still_parses(text: str) -> None:
    doc = results()
    doc["scenarios"][0]["checks"][0]["findings"][0]["message"] = text
    doc["scenarios"][0]["checks"][0]["findings"][0]["evidence"]["actual"] = text
    doc["scenarios"][0]["name"] = text
    ET.fromstring(junit_xml(doc))
