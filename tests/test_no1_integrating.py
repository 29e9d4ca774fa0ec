"""The worked example of docs/integrating.md runs: our No.1 stack over a span of the
integrator's making (CAS + audio over a socket), against a second process, both ways."""
from __future__ import annotations

import pytest

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "no1_loopback.py"


@pytest.mark.system
def test_the_worked_example_runs_both_ways_between_two_processes() -> None:
    res = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, (res.stdout, res.stderr)
    assert res.stdout.splitlines() == [
        "ours: 2001 answered at 1.98 s",          # virtual time: the same on every machine
        "ours: released, cause 16",
        "ours: incoming 13800138000 -> 8000",
        "ours: the network cleared, cause 16",
        "ok",
    ], res.stdout


def test_the_guide_shows_the_example_it_runs() -> None:
    guide = (Path(__file__).resolve().parents[1] / "docs" / "integrating.md").read_text()
    assert "docs/examples/no1_loopback.py" in guide
    # the guide's span class is the example's, word for word
    src = EXAMPLE.read_text()
    start = src.index("class SocketSpan")
    end = src.index("    # ---- the clock")
    assert src[start:end].strip() in guide
