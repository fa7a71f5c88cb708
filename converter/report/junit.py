"""The JUnit XML rendering: one testcase per runtime x artifact, so dashboards show parity.

A failed check is a <failure> carrying its numbers; a crash or timeout is an <error>; a
runtime that could not run is <skipped>. A model that did not convert at all is one
<error> testcase named "convert"; a reference that could not run is one named "reference".
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from converter.report.documents import entries
from converter.report.view import figure, note, short


def render_junit(document: Mapping[str, Any]) -> str:
    """The XML text (UTF-8, declaration first)."""
    root = ET.Element("testsuites", name="converter parity")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for entry in entries(document):
        suite = model_suite(entry)
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def model_suite(entry: Mapping[str, Any]) -> ET.Element:
    """A <testsuite> for one model."""
    name, report = entry["name"], entry.get("report")
    suite = ET.Element("testsuite", name=name)
    cases: list[ET.Element] = []
    if report is None:
        case = ET.Element("testcase", classname=f"converter.{name}", name="convert")
        ET.SubElement(case, "error", message=entry.get("error", ""),
                      type=f"exit {entry['exit_code']}")
        cases.append(case)
    else:
        reference = report["reference"]
        if reference["status"] not in ("ok", "passed"):
            case = ET.Element("testcase", classname=f"converter.{name}", name="reference")
            ET.SubElement(case, "error", message=reference.get("reason", ""),
                          type=reference["status"])
            cases.append(case)
        cases += [check_case(name, check, bool(report["passed"])) for check in report["parity"]]
    for case in cases:
        suite.append(case)
    suite.set("tests", str(len(cases)))
    for key, tag in (("failures", "failure"), ("errors", "error"), ("skipped", "skipped")):
        suite.set(key, str(sum(case.find(tag) is not None for case in cases)))
    suite.set("time", f"{sum(float(c.get('time', 0)) for c in cases):.3f}")
    return suite


def check_case(model: str, check: Mapping[str, Any], passed: bool = False) -> ET.Element:
    """One check as a testcase with its outcome element (`passed`: the model's verdict)."""
    case = ET.Element("testcase", classname=f"converter.{model}",
                      name=f"{check['runtime']} x {short(check['artifact'])}",
                      time=f"{check.get('seconds') or 0:.3f}")
    status = check["status"]
    tolerance = check.get("tolerance") or {}
    numbers = (f"max abs {figure(check.get('max_abs'))} (atol {figure(tolerance.get('atol'))}), "
               f"max rel {figure(check.get('max_rel'))} (rtol {figure(tolerance.get('rtol'))})")
    if status == "failed":
        element = ET.SubElement(case, "failure", message=f"{numbers}; {note(check)}",
                                type="parity")
        element.text = "\n".join(
            f"{o['name']}: max abs {figure(o['max_abs'])}, max rel {figure(o['max_rel'])}, "
            f"cosine {figure(o.get('cosine'))}, passed {figure(o['passed'])}"
            for o in check.get("outputs", ()))
    elif status == "inconclusive" and not passed:
        ET.SubElement(case, "failure", message=check.get("reason", ""), type="inconclusive")
    elif status == "inconclusive":  # allowed (--allow-inconclusive): reported, not failed
        ET.SubElement(case, "skipped", message=f"inconclusive: {check.get('reason', '')}")
    elif status in ("crashed", "timeout"):
        ET.SubElement(case, "error", message=check.get("reason", ""), type=status)
    elif status == "skipped":
        ET.SubElement(case, "skipped", message=check.get("reason", ""))
    elif status == "disputed":  # a reference evaluator alone against its file: reported
        ET.SubElement(case, "skipped", message=f"disputed: {check.get('reason', '')}")
    else:
        ET.SubElement(case, "system-out").text = numbers
    return case
