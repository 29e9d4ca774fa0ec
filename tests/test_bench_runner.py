"""The benchmark runner and every benchmark module at least parse and list on this Python
(benchmarks themselves run by `make bench`, not in the test suite: no timing in unit tests)."""
from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_runner_help_lists_benchmarks():
    out = subprocess.run([sys.executable, "-m", "bench", "--help"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    for path in sorted((ROOT / "bench").glob("bench_*.py")):
        assert path.stem[6:] in out.stdout


def test_runner_rejects_unknown_names():
    out = subprocess.run([sys.executable, "-m", "bench", "no-such-bench"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode != 0 and "no-such-bench" in (out.stdout + out.stderr)


@pytest.mark.parametrize("path", sorted((ROOT / "bench").glob("*.py")), ids=lambda p: p.name)
def test_bench_module_compiles(path):
    compile(path.read_text(encoding="utf-8"), str(path), "exec")
