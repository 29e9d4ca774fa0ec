"""Golden transcripts of the call model: each scenario's published events (time, type, device,
state and what else the event says) are checked in under tests/golden/ and diffed, so a change
in the connection table or the services shows up as a readable diff. After an intended change:

    CALL_UPDATE_GOLDEN=1 python -m pytest tests/test_call_golden.py
"""
from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cti.call import CallModel
from cti.call.loopback import FarBehaviour, LoopbackTrunk

GOLDEN = Path(__file__).resolve().parent / "golden"
_EXTRA = ("queue", "to", "reason", "cause", "changed", "deleted", "old_calls", "parties", "digits")


def _line(t: float, e: Any) -> str:
    d = e.to_dict()
    extra = " ".join(f"{k}={d[k]}" for k in _EXTRA if d.get(k) not in (None, "", [], {}))
    ud = f" user_data={d['user_data']}" if d.get("user_data") else ""
    return f"{t:7.2f}  call {d['call']:<3} {d['type']:<17} {d['device']:<10} {d['state']:<9} {extra}{ud}".rstrip()


class Run:
    """A loopback model in steps of time; every event goes to the transcript."""

    def __init__(self, **kw: Any) -> None:
        self.trunk = LoopbackTrunk([0], [1, 2, 3, 4], signalling="ss7",
                                   behaviour=lambda n: FarBehaviour("busy" if n.startswith("9") else "answer",
                                                                    after=1.0))
        self.model = CallModel([self.trunk], **kw)
        self.now = 0.0
        self.lines: list[str] = []

    def at(self, t: float, fn: Callable[[float], Any] | None = None) -> Any:
        self.now = t
        out = fn(t) if fn is not None else None
        self.model.service(t)
        self.lines += [_line(t, e) for e in self.model.take_events() if hasattr(e, "call")]
        assert self.model.validate() == []
        return out

    def call(self) -> str:
        return max(self.model.calls, key=lambda c: self.model.calls[c].created)


def acd_call() -> list[str]:
    """Route point 4000: queued, ring-all to two agents, one answers; the CRM attaches data;
    the agent consults and transfers."""
    r = Run(routing_devices={"4000"})
    r.at(0.0, lambda t: r.trunk.ring("4000", "13800138000", t))
    cid = r.call()
    r.at(0.5, lambda t: r.model.queue_call(cid, "sales", t))
    r.at(1.0, lambda t: r.model.update_user_data(cid, {"ivr.main": "2"}, t))
    r.at(2.0, lambda t: r.model.deliver(cid, t, devices=["2001", "2002"]))
    r.at(4.0, lambda t: r.model.answer_call(cid, t, device="2002"))
    r.at(5.0, lambda t: r.model.attach_user_data(cid, {"account": "A-1001"}, t, device="2002"))
    cons = r.at(6.0, lambda t: r.model.consultation_call(cid, "6601", t, device="2002"))["call"]
    r.at(7.5)
    r.at(8.0, lambda t: r.model.transfer_call(cid, cons, t, device="2002"))
    r.at(9.0, lambda t: r.trunk.far_clear(r.model.calls[cid].circuit(), t))
    return r.lines


def ring_no_answer() -> list[str]:
    """The agent does not answer: withdrawn, queued again, the next agent answers; the caller hangs up."""
    r = Run(routing_devices={"4000"})
    r.at(0.0, lambda t: r.trunk.ring("4000", "13900001111", t))
    cid = r.call()
    r.at(0.5, lambda t: r.model.queue_call(cid, "sales", t))
    r.at(1.0, lambda t: r.model.deliver(cid, t, devices=["2001"]))
    r.at(16.0, lambda t: r.model.withdraw(cid, "2001", t, queue="sales"))
    r.at(17.0, lambda t: r.model.deliver(cid, t, devices=["2002"]))
    r.at(18.0, lambda t: r.model.answer_call(cid, t, device="2002"))
    r.at(30.0, lambda t: r.trunk.far_clear(r.model.calls[cid].circuit(), t))
    return r.lines


def outgoing() -> list[str]:
    """MakeCall answered, hold / alternate with a consultation, reconnect; then a busy number."""
    r = Run(presentation={"8001": "01088886001"})
    a = r.at(0.0, lambda t: r.model.make_call("8001", "66001234", t))["call"]
    r.at(1.0)
    b = r.at(2.0, lambda t: r.model.consultation_call(a, "6602", t))["call"]
    r.at(3.0)
    r.at(4.0, lambda t: r.model.alternate_call(a, b, t))
    r.at(5.0, lambda t: r.model.alternate_call(b, a, t))
    r.at(6.0, lambda t: r.model.reconnect_call(a, b, t))
    r.at(7.0, lambda t: r.model.clear_connection(a, t))
    r.at(8.0, lambda t: r.model.make_call("8001", "99001234", t))
    r.at(9.0)
    r.at(14.0)
    return r.lines


def pickup_and_deflect() -> list[str]:
    """A call to 8001 is deflected to 8002; another ringing at 8001 is picked up by 8003."""
    r = Run(pickup_groups={"front": ["8001", "8002", "8003"]})
    r.at(0.0, lambda t: r.trunk.ring("8001", "13811112222", t))
    first = r.call()
    r.at(1.0, lambda t: r.model.deflect_call(first, "8002", t))
    r.at(2.0, lambda t: r.model.answer_call(first, t))
    r.at(3.0, lambda t: r.trunk.ring("8001", "13955556666", t))
    r.at(4.0, lambda t: r.model.pickup_call("8003", t))
    for cid in list(r.model.calls):
        r.at(6.0, lambda t, c=cid: r.model.clear_connection(c, t))
    return r.lines


SCENARIOS = {"call_acd": acd_call, "call_ring_no_answer": ring_no_answer, "call_outgoing": outgoing,
             "call_pickup_deflect": pickup_and_deflect}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_golden_transcript(name: str) -> None:
    got = "\n".join(SCENARIOS[name]()) + "\n"
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("CALL_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(got)
    want = path.read_text()
    assert got == want, "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True), str(path), "now"))
