"""Certification artefacts of a conformance run: JUnit XML (what CI systems read) and a
JSON report (what a vendor files with the card), both from the same results."""
from __future__ import annotations

import json
import platform
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import CheckResult

FAIL, PASS, SKIP = "FAIL", "PASS", "SKIP"


def summary(results: list[CheckResult], strict: bool = False) -> dict[str, Any]:
    passed = sum(r.status == PASS for r in results)
    failed = sum(r.status == FAIL for r in results)
    skipped = sum(r.status == SKIP for r in results)
    ok = failed == 0 and bool(results) and not (strict and skipped)
    return {"passed": passed, "failed": failed, "skipped": skipped, "strict": strict, "ok": ok}


def to_json(results: list[CheckResult], *, card: str, strict: bool, meta: dict[str, Any]) -> str:
    doc = {
        "suite": "cti-sim conformance",
        "card": card,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host": platform.node(),
        **meta,
        "summary": summary(results, strict),
        "checks": [asdict(r) for r in results],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False)


def to_junit(results: list[CheckResult], *, card: str, strict: bool) -> str:
    s = summary(results, strict)
    suite = ET.Element("testsuite", name="cti-sim conformance", tests=str(len(results)),
                       failures=str(s["failed"] + (s["skipped"] if strict else 0)),
                       skipped=str(0 if strict else s["skipped"]), errors="0",
                       time=f"{sum(r.seconds for r in results):.3f}")
    ET.SubElement(ET.SubElement(suite, "properties"), "property", name="card", value=card)
    for r in results:
        case = ET.SubElement(suite, "testcase", classname="conformance", name=r.name, time=f"{r.seconds:.3f}")
        if r.measured:                    # figures as properties, as pytest's record_property writes them
            props = ET.SubElement(case, "properties")
            for key, value in r.measured.items():
                ET.SubElement(props, "property", name=key, value=str(value))
        if r.status == FAIL:
            ET.SubElement(case, "failure", message=r.detail).text = r.detail
        elif r.status == SKIP:
            if strict:
                ET.SubElement(case, "failure", message=f"skipped in strict mode: {r.detail}").text = r.detail
            else:
                ET.SubElement(case, "skipped", message=r.detail)
        else:
            ET.SubElement(case, "system-out").text = r.detail
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)


def write(path: str | Path, text: str) -> None:
    Path(path).write_text(text + "\n", encoding="utf-8")
