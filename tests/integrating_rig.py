"""Shared by tests/test_ss7_integrating.py and tests/test_pri_integrating.py: a virtual clock
that steps a second runner, and running a worked example of docs/integrating.md on a build.
Not collected (no test_ prefix)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cti.signaling.runner import Runner

ROOT = Path(__file__).resolve().parents[1]


class Clock:
    """Virtual time shared by two runners: advancing ours services the far end too."""

    def __init__(self) -> None:
        self.t = 0.0
        self.far: Runner | None = None

    def now(self) -> float:
        return self.t

    def advance(self, dt: float) -> None:
        self.t = round(self.t + dt, 6)
        if self.far is not None:
            self.far.step()


def run_example(example: Path, build: str) -> list[str]:
    """Run ``example`` on the ``compiled`` or ``twins`` build; its output lines (it must exit 0)."""
    env = dict(os.environ)
    env.pop("BOARDCORE_NO_EXTENSIONS", None)
    if build == "twins":
        env["BOARDCORE_NO_EXTENSIONS"] = "1"
    res = subprocess.run([sys.executable, str(example)], capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, (res.stdout, res.stderr)
    return res.stdout.splitlines()
