"""Golden transcripts of ISUP scenarios: every state transition of both ends' circuit machines
(the engine's bounded trace), every message on the wire and every event, in order, diffed
against tests/golden/ss7_*.txt. A change of behaviour shows up as a diff to review; after a
deliberate change, rewrite them with ``SS7_GOLDEN_UPDATE=1 pytest tests/test_ss7_golden.py``.
Both call control builds (compiled, twin) must produce the same transcript."""
from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any
from collections.abc import Callable

import pytest

from cti.signaling.ss7.isup.codec import decode
from cti.signaling.ss7.isup.node import node_class
from tests.conftest import kernel_impls, load_impl

GOLDEN = Path(__file__).resolve().parent / "golden"


def _name(x: Any) -> str:
    return getattr(x, "name", str(x))


class Transcript:
    """Two nodes back to back in memory, with every circuit traced."""

    def __init__(self, Node: type, cics: list[int]) -> None:
        self.a = Node(cics, 1, 2, name="a", trace=256)
        self.b = Node(cics, 2, 1, name="b", trace=256)
        self.lines: list[str] = []
        self.seen: dict[tuple[str, int], int] = {}
        self.t = 0.0

    def _collect(self) -> None:
        for label, node in (("a", self.a), ("b", self.b)):
            for cic, c in sorted(node.circuits.items()):
                trace = list(c.fsm.trace)
                new = trace[self.seen.get((label, cic), 0):]
                for k, (now, before, ev, after) in enumerate(new):
                    timers = f"  [{' '.join(sorted(c.fsm.running))}]" if k == len(new) - 1 and c.fsm.running else ""
                    self.lines.append(f"{now:8.3f} {label} cic{cic:<3} {_name(before)} --{_name(ev)}--> {_name(after)}"
                                      + timers)
                self.seen[(label, cic)] = len(trace)
            for e in node.events():
                extra = f" cause={e.cause}" if e.cause else ""
                self.lines.append(f"{self.t:8.3f} {label} event {e.kind} cic{e.cic}{extra} {e.reason}".rstrip())

    def step(self, what: str, fn: Callable[[], Any] | None = None) -> None:
        """Run ``fn`` (a request), then carry messages both ways until quiet."""
        self.lines.append(f"{self.t:8.3f} -- {what}")
        if fn is not None:
            fn()
        self._collect()
        for _ in range(20):
            moved = False
            for src, dst, arrow in ((self.a, self.b, "a -> b"), (self.b, self.a, "b -> a")):
                for cic, data in src.data_to_send(self.t):
                    self.lines.append(f"{self.t:8.3f} {arrow} {decode(data).type.name} cic{cic}")
                    dst.receive(data, self.t)
                    self._collect()
                    moved = True
            if not moved:
                break

    def advance(self, seconds: float) -> None:
        self.t = round(self.t + seconds, 3)
        for node in (self.a, self.b):
            node.handle_timer(self.t)
        self.step(f"time {self.t:.3f}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def scenario_call(x: Transcript) -> None:
    cic = x.a.setup("5551234", "88001", x.t)
    x.step("a: setup")
    x.step("b: alert", lambda: x.b.alert(cic, x.t))
    x.advance(1.0)
    x.step("b: answer", lambda: x.b.answer(cic, x.t))
    x.advance(30.0)
    x.step("a: release 16", lambda: x.a.release(cic, 16, x.t))


def scenario_glare(x: Transcript) -> None:
    # both ends seize CIC 2 at once; b (higher point code) controls even CICs: a backs off
    x.a.setup("100", "200", x.t, cic=2)
    x.b.setup("300", "400", x.t, cic=2)
    x.step("a and b: setup on cic2 at once")
    x.step("a: alert the incoming call", lambda: x.a.alert(2, x.t))
    x.step("a: answer", lambda: x.a.answer(2, x.t))
    x.step("b: release 16", lambda: x.b.release(2, 16, x.t))


def scenario_group_reset(x: Transcript) -> None:
    cic = x.a.setup("5551234", None, x.t, cic=3)
    x.step("a: setup on cic3")
    x.step("b: answer", lambda: x.b.answer(cic, x.t))
    x.step("b: block cic5", lambda: x.b.block(5, x.t))
    x.step("a: group reset cic1..8", lambda: x.a.group_reset(1, 8, x.t))
    x.advance(1.0)


SCENARIOS = {"ss7_call": (scenario_call, [1, 2, 3]), "ss7_glare": (scenario_glare, [1, 2, 3]),
             "ss7_group_reset": (scenario_group_reset, list(range(1, 9)))}


@pytest.mark.parametrize("impl", kernel_impls("cti.signaling.ss7.isup.control"))
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_golden_transcript(name: str, impl: Any) -> None:
    fn, cics = SCENARIOS[name]
    x = Transcript(node_class(load_impl(impl)), cics)
    fn(x)
    got = x.text()
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("SS7_GOLDEN_UPDATE"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(got)
    want = path.read_text()
    diff = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True), str(path), "now"))
    assert got == want, f"transcript changed (SS7_GOLDEN_UPDATE=1 rewrites it after review):\n{diff}"
