"""Golden transcripts of the No.1 state machines (osmocom style) and their tables' validity.

Each scenario runs our No1Trunk against the simulated exchange (or a scripted far end) on a
SimBoard in virtual time and writes what happened on the circuit, in order: every transition
of the line and register machines (time, machine, from --event--> to) and every TrunkEvent
the call model would see. The transcript is checked in under tests/golden/ and diffed; a
change in the tables or the trunk shows up as a readable diff. After an intended change:

    NO1_UPDATE_GOLDEN=1 python -m pytest tests/test_no1_golden.py
"""
from __future__ import annotations

import dataclasses
import difflib
import enum
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cti.signaling.causes import Cause
from cti.signaling.engine import check_tables
from cti.signaling.no1.line import TABLE as LINE_TABLE
from cti.signaling.no1.register import IN_TABLE, OUT_TABLE, TABLES
from cti.signaling.trunk import Answered, Released, TrunkEvent
from simulator.exchange.base import Behaviour, CallScript, Subscriber

sys.path.insert(0, str(Path(__file__).resolve().parent))
from no1_rig import Rig, ScriptedFarEnd

GOLDEN = Path(__file__).resolve().parent / "golden"
AB_IDLE, AB_ACK = 0b10, 0b11


def test_every_no1_table_validates() -> None:
    assert check_tables([LINE_TABLE, *TABLES]) == {}
    assert {t.name for t in (LINE_TABLE, OUT_TABLE, IN_TABLE)} == {"no1-line", "no1-mfc-out", "no1-mfc-in"}
    # glare is a guarded row of the table, not a rename in code
    glare = LINE_TABLE.by_state[LINE_TABLE.initial.__class__.OUT_SEIZED][LINE_TABLE.rows[0].event.__class__.RX_00]
    assert [r.action.__name__ for r in glare if r.action] == ["glare_unsent", "glare_yield", "glare_hold"]
    assert all(r.guard is not None for r in glare[:2]) and glare[-1].guard is None


class _Recorder(list):  # type: ignore[type-arg]
    """Stands in for a machine's bounded trace: every transition goes to the shared sink."""

    def __init__(self, name: str, sink: list[str]) -> None:
        super().__init__()
        self.name, self.sink = name, sink

    def append(self, entry: Any) -> None:
        self.sink.append(_transition(self.name, entry))


def _n(x: Any) -> str:
    return x.name if isinstance(x, enum.Enum) else str(x)


def _transition(name: str, entry: tuple[float, Any, Any, Any]) -> str:
    now, before, event, after = entry
    return f"{now:8.3f}  {name:<9} {_n(before)} --{_n(event)}--> {_n(after)}"


def _event(ev: TrunkEvent) -> str:
    fields = {f.name: getattr(ev, f.name) for f in dataclasses.fields(ev) if f.name not in ("time", "extra")}
    text = " ".join(f"{k}={v!r}" for k, v in fields.items())
    return f"{ev.time:8.3f}  EVENT     {type(ev).__name__} {text}"


class Transcript:
    """Hooks a rig so every machine transition and trunk event lands in ``lines``."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.lines: list[str] = []
        self._seen = 0
        rig.hooks.insert(0, self._tick)
        self._attach()

    def _attach(self) -> None:
        for ts, ch in self.rig.trunk.channels.items():
            for what, m in (("line", ch.line.machine), ("reg", ch.reg.machine if ch.reg else None)):
                if m is None or isinstance(m.trace, _Recorder):
                    continue
                name = f"{what}-{ts}" if what == "line" else f"{m.table.name.split('-')[-1]}-{ts}"
                old = list(m.trace or ())
                m.trace = _Recorder(name, self.lines)
                for entry in old:        # transitions made before we saw this machine
                    m.trace.append(entry)

    def _tick(self, now: float) -> None:
        self._attach()
        for ev in self.rig.events[self._seen:]:
            self.lines.append(_event(ev))
        self._seen = len(self.rig.events)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _check(name: str, transcript: Transcript) -> None:
    path = GOLDEN / f"no1_{name}.txt"
    got = transcript.text()
    if os.environ.get("NO1_UPDATE_GOLDEN"):
        path.write_text(got)
    want = path.read_text() if path.exists() else ""
    if got != want:
        diff = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                            f"golden/{path.name}", "this run"))
        pytest.fail(f"transcript differs from {path.name} (NO1_UPDATE_GOLDEN=1 to accept):\n{diff}")


def _subs(**kw: Subscriber) -> dict[str, Subscriber]:
    return dict(kw)


def _call_out(rig: Rig) -> None:
    circuit = rig.trunk.make_call("2001", "13800138000", rig.now)
    rig.wait(Answered, circuit=circuit)
    rig.run(0.2)
    rig.trunk.release(circuit, Cause.NORMAL_CLEARING, rig.now)
    rig.run(0.5)


def _call_in(rig: Rig) -> None:
    assert rig.exchange is not None
    rig.exchange.place_call(CallScript(at=rig.now, called="8000", calling="1390", hold_for=0.3))
    rig.wait(Released, seconds=8.0)
    rig.run(0.5)


def _clear_back(rig: Rig) -> None:
    circuit = rig.trunk.make_call("2002", None, rig.now)
    rig.wait(Released, circuit=circuit)
    rig.run(0.5)


def _glare(rig: Rig) -> None:
    assert rig.exchange is not None
    rig.run(0.2)
    rig.exchange.place_call(CallScript(at=rig.now, called="8000", calling="1390", hold_for=0.3))
    rig.trunk.make_call("2001", "5", rig.now, circuit=(0, 1))
    rig.run(5.0, until=lambda: len(rig.of(Released)) >= 2)
    rig.run(0.5)


def _register_failure(rig: Rig) -> None:
    far = ScriptedFarEnd(rig, 1)
    circuit = rig.trunk.make_call("1234", "5", rig.now)
    rig.run(0.1)
    far.cas(AB_ACK)                       # acknowledges the seizure, then never answers on MF
    rig.wait(Released, circuit=circuit, seconds=3.0)
    far.cas(AB_IDLE)                      # release guard
    rig.run(0.3)


SUBS = {"2001": Subscriber("2001", Behaviour.ANSWER, answer_after=0.2, hold_for=None),
        "2002": Subscriber("2002", Behaviour.ANSWER, answer_after=0.2, hold_for=0.3)}
FAST = {"T_MF_FWD": 1.0}

SCENARIOS: dict[str, tuple[dict[str, Any], Callable[[Rig], None]]] = {
    "call_out": ({}, _call_out),
    "call_in": ({}, _call_in),
    "clear_back": ({}, _clear_back),
    "glare": ({"theirs": {"timeslots": [1], "repeat_attempts": 0}}, _glare),
    "register_failure": ({"exchange": False, "ours": {"timeslots": [1], "timers": FAST}}, _register_failure),
}


@pytest.mark.system
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_golden_transcript(name: str) -> None:
    kw, scenario = SCENARIOS[name]
    ours = {"timeslots": [1], **kw.get("ours", {})}
    rig = Rig(ours=ours, subscribers=SUBS, theirs=kw.get("theirs", {"timeslots": [1]}),
              exchange=kw.get("exchange", True), on_call="answer")
    transcript = Transcript(rig)
    scenario(rig)
    assert rig.all_idle(), [rig.trunk.state(c) for c in rig.trunk.circuits()]
    _check(name, transcript)
