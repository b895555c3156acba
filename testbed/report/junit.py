"""``junit.xml`` from a results dict, pure (RUN-06).

One ``<testsuite>`` per scenario and one ``<testcase>`` per (scenario, check): ``classname`` is
the scenario, ``name`` the check. A ``failed`` check carries ``<failure>`` whose message names the
first violation and whose text lists every finding (SPEC id, severity, message, evidence);
``inconclusive`` and ``not_applicable`` are ``<skipped>`` with the outcome and reason (RUN-03:
never a pass); ``error`` is ``<error>``. Every testcase's ``<system-out>`` opens with what the check
judged (``judged: 42 spans, 20 streams``).
A scenario whose run broke before any check ran gets one ``run`` testcase with ``<error>``.
Warnings and info findings of a passing check go to ``<system-out>``. Characters that XML 1.0
cannot carry are replaced, since span content may hold any string.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any, Final

from testbed.checks.result import judged_text
from testbed.report._data import as_dict, as_dicts, as_float, as_str, show

SKIPPED: Final = ("inconclusive", "not_applicable")
_INVALID_XML: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def finding_text(f: dict[str, Any]) -> str:
    ev = as_dict(f.get("evidence"))
    head = f"{as_str(f.get('spec_id'), '?')} [{as_str(f.get('severity'), '?')}/{as_str(f.get('category'))}] {as_str(f.get('message'))}"
    return "\n".join([head, *(f"    {k}: {show(v)}" for k, v in ev.items())])


def _failure_message(findings: list[dict[str, Any]], reason: str) -> str:
    violations = [f for f in findings if f.get("severity") == "violation"] or findings
    if not violations:
        return reason or "failed"
    first = violations[0]
    more = f" (+{len(violations) - 1} more)" if len(violations) > 1 else ""
    return f"{as_str(first.get('spec_id'), '?')}: {as_str(first.get('message'))}{more}"


def _testcase(suite: ET.Element, scenario: str, check: dict[str, Any]) -> str:
    case = ET.SubElement(suite, "testcase", classname=clean(scenario), name=clean(as_str(check.get("check"), "?")))
    outcome = as_str(check.get("outcome"), "error")
    findings = as_dicts(check.get("findings"))
    body = clean("\n\n".join(finding_text(f) for f in findings))
    reason = clean(as_str(check.get("reason")))
    if outcome == "failed":
        ET.SubElement(case, "failure", message=clean(_failure_message(findings, reason)), type="violation").text = body
    elif outcome in SKIPPED:
        label = outcome.replace("_", " ")
        ET.SubElement(case, "skipped", message=f"{label}: {reason}" if reason else label).text = body or None
    elif outcome != "passed":
        ET.SubElement(case, "error", message=reason or outcome, type=outcome).text = body or None
    out = _judged_line(check) + (body if outcome == "passed" else "")
    if out.strip():
        ET.SubElement(case, "system-out").text = out.rstrip()
    return outcome


def _judged_line(check: dict[str, Any]) -> str:
    judged = {as_str(k): v for k, v in as_dict(check.get("judged")).items() if isinstance(v, int)}
    return f"judged: {judged_text(judged)}\n\n" if judged else ""


def _suite(root: ET.Element, scenario: dict[str, Any]) -> None:
    name = as_str(scenario.get("name"), "?")
    suite = ET.SubElement(root, "testsuite", name=clean(name))
    checks = as_dicts(scenario.get("checks"))
    outcomes = [_testcase(suite, name, c) for c in checks]
    if not checks:
        case = ET.SubElement(suite, "testcase", classname=clean(name), name="run")
        message = as_str(scenario.get("error")) or "; ".join(as_str(r) for r in scenario.get("reasons") or []) or "no check ran"
        ET.SubElement(case, "error", message=clean(message), type="run").text = clean(message)
        outcomes = ["error"]
    suite.set("tests", str(len(outcomes)))
    suite.set("failures", str(outcomes.count("failed")))
    suite.set("skipped", str(sum(o in SKIPPED for o in outcomes)))
    suite.set("errors", str(sum(o not in ("passed", "failed", *SKIPPED) for o in outcomes)))
    suite.set("time", f"{as_float(scenario.get('duration_s')) or 0.0:.3f}")
    if scenario.get("file"):
        suite.set("file", clean(as_str(scenario.get("file"))))


def junit_xml(results: dict[str, Any]) -> str:
    """The JUnit document for a results dict, as text with an XML declaration."""
    run = as_dict(results.get("run"))
    root = ET.Element("testsuites", name=clean(f"testbed {as_str(run.get('id'), 'run')}"))
    for scenario in as_dicts(results.get("scenarios")):
        _suite(root, scenario)
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(sum(int(s.get(key, "0")) for s in root)))
    root.set("time", f"{as_float(run.get('duration_s')) or 0.0:.3f}")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
