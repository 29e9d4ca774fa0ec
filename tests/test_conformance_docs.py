"""The vendor's pages stand alone and agree with the code: docs/wire-protocol.md names
every FAULT id with its number, docs/conformance.md lists every check, and neither
points outside the repository."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from drivers.wire import protocol as P
from simulator.conformance import CHECKS

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = ["wire-protocol.md", "conformance.md", "simulator.md"]


@pytest.mark.parametrize("page", PAGES)
def test_the_page_cites_nothing_outside_the_repository(page: str) -> None:
    text = (DOCS / page).read_text(encoding="utf-8")
    for bad in ("STANDARDS.md", "../shared", "/work/", "ARCHITECTURE.md"):
        assert bad not in text, f"{page} cites {bad}"
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        if not target.startswith(("http://", "https://")):
            assert (DOCS / target).exists(), f"{page} links to {target}, which does not exist"


def test_every_fault_id_is_documented_with_its_number() -> None:
    text = (DOCS / "wire-protocol.md").read_text(encoding="utf-8")
    for f in P.Fault:
        assert re.search(rf"\b{f.name} {f.value}\b", text), f"FAULT {f.name} {f.value} missing from the doc"


def test_every_check_is_in_the_conformance_table() -> None:
    text = (DOCS / "conformance.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip() for line in text.splitlines() if line.startswith("| ")}
    missing = [title for title, _fn in CHECKS if title not in rows]
    assert not missing, f"checks without a row in docs/conformance.md: {missing}"
