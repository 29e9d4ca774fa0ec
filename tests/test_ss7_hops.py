"""The path of one incoming SS7 call through our code, traced: which modules the fact "a call
arrived" passes through, in whatever form (MTP2 frame, MSU, ISUP payload, IAM, IncomingCall),
from the board's HDLC channel to the trunk's events (docs/architecture.md, "One call from the
E1 wire to the CRM": the hops of this part of the path).

A hop is a hand-off of the fact to another module's code: a function of that module that holds
the fact (an argument, a local variable, its return value) at some line. The tracer sees every
function of the twins (``BOARDCORE_NO_EXTENSIONS=1``: the whole chain, checked exactly) and
only the Python ones of the compiled build (C calls C unseen: a subsequence of the chain)."""
from __future__ import annotations

import sys
from collections import deque
from typing import Any

import drivers
from _boardcore import _select
from cti.signaling.ss7.config import Ss7Config
from cti.signaling.ss7.trunk import Ss7Trunk
from cti.signaling.trunk import IncomingCall
from drivers.base import SpanConfig
from simulator.exchange.base import CallScript
from simulator.exchange.ss7 import Ss7Exchange

CALLED = "1234567890"
#: the called number's digits as the IAM carries them (BCD, two digits an octet, low nibble first)
MARK = bytes.fromhex("2143658709")

#: module prefix -> the hop (the row of the architecture page's table) it belongs to; modules
#: not named (the FSM engine, the trunk's data classes) are the same hop as their caller
GROUPS = (("drivers.", "wire"), ("simulator.", "wire"), ("_boardcore.", "wire"),
          ("cti.signaling.ss7.transport", "transport"), ("cti.signaling.ss7.seqpacket", "transport"),
          ("cti.signaling.ss7.mtp2.", "mtp2"), ("cti.signaling.ss7.mtp3.", "mtp3"),
          ("cti.signaling.ss7.isup.", "isup"), ("cti.signaling.ss7.stack", "stack"),
          ("cti.signaling.ss7.trunk", "trunk"))
#: the whole chain, wire to trunk: frame -> MTP2 -> MSU -> MTP3 -> payload -> ISUP -> IncomingCall
#: -> the trunk's events (before issue 21's last step: wire, transport, mtp2, mtp3, isup, stack, trunk)
CHAIN = ["wire", "mtp2", "mtp3", "isup", "trunk"]


def _group(module: str) -> str | None:
    for prefix, name in GROUPS:
        if module.startswith(prefix):
            return name
    return None


def _carries(v: Any, depth: int = 0) -> bool:
    """``v`` is the fact in one of its forms (or a container holding it)."""
    if isinstance(v, (bytes, bytearray)):
        return MARK in v
    if isinstance(v, memoryview):
        return MARK in bytes(v)
    if isinstance(v, IncomingCall):
        return v.called == CALLED
    if depth < 2 and isinstance(v, (list, tuple, deque)):
        return any(_carries(x, depth + 1) for x in v)
    if depth < 2:
        return any(_carries(getattr(v, a, None), depth + 1) for a in ("sif", "payload"))
    return False


def _rig() -> tuple[Any, Ss7Trunk, Ss7Exchange, float]:
    board = drivers.open("sim", spans=1, config=[SpanConfig(signalling="ccs")])
    cfg = {"opc": "1-2-3", "dpc": "1-2-4"}
    trunk = Ss7Trunk([board.span(0)], Ss7Config.from_dict(cfg))
    ex = Ss7Exchange([board.far_end(0)], {}, config=cfg)
    t = 0.0
    while not (trunk.ready and ex.up) and t < 5.0:
        board.advance(0.02)
        t = board.now()
        trunk.service(t)
        ex.service(t)
    assert trunk.ready and ex.up
    return board, trunk, ex, t


def trace_incoming_call() -> tuple[list[str], list[IncomingCall]]:
    """The hops of the exchange's call to :data:`CALLED`, while our trunk is serviced."""
    board, trunk, ex, t = _rig()
    ex.place_call(CallScript(at=t, called=CALLED, calling="88001", hold_for=None))
    chain: list[str] = []
    got: list[IncomingCall] = []

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        values = [arg] if event == "return" else [v for k, v in frame.f_locals.items() if k != "self"]
        if any(_carries(v) for v in values):
            g = _group(frame.f_globals.get("__name__", ""))
            if g is not None and g not in chain:    # back in a caller that holds it: no new hop
                chain.append(g)
        return tracer

    end = t + 1.0
    while not got and t < end:
        ex.service(t)
        board.advance(0.02)
        t = board.now()
        sys.settrace(tracer)
        try:
            events = trunk.service(t)
        finally:
            sys.settrace(None)
        got += [e for e in events if isinstance(e, IncomingCall)]
    return chain, got


def _compiled() -> bool:
    return any(_select.load(p).__name__.endswith("_c") for p in
               ("cti.signaling.ss7.mtp2.bec", "cti.signaling.ss7.mtp3.route", "cti.signaling.ss7.isup.control"))


def test_an_incoming_call_takes_five_hops_from_the_hdlc_channel_to_the_trunks_events():
    chain, got = trace_incoming_call()
    assert len(got) == 1 and got[0].called == CALLED and got[0].signalling == "ss7"
    assert "transport" not in chain     # the link reads the board's HDLC channel itself
    assert "stack" not in chain         # the trunk reads ISUP's events where ISUP queued them
    if not _compiled():
        assert chain == CHAIN
    else:                               # C calls C unseen: what the profiler sees is in order
        it = iter(CHAIN)
        assert chain[0] == "wire" and chain[-1] == "trunk" and all(g in it for g in chain), chain
