"""The server loop's per-turn work on idle spans does not grow with the spans (issue 22 section 1).

A whole ``cti-server`` (``build_server``) on the simulated card in virtual time, N idle trunk
spans of one type (No.1, SS7, PRI) or mixed, the simulated exchanges on the far ends, no calls,
links and D channels up. The tests count the Python calls (functions and builtins, by
``sys.setprofile``) made in idle turns of ``CtiServer.step``, the far end's parts (the card's
line, the exchanges) left out, for two sizes of the same site. They count, they do not time:
per-span work that comes back into an idle turn fails them on any host.

* The loop itself (the step, the board's events, the bus, housekeeping) makes the same calls
  and executes the same lines at 4 and at 16 spans: nothing per span (board events: one count on the board; the bus: one
  system call on its descriptors; housekeeping: two comparisons).
* Whatever the trunks still do per span and block on an idle span is bounded: a quiet No.1
  span's service and its audio skip, a quiet SS7 or PRI span's audio skip; a quiet SS7 link
  and a quiet D channel cost nothing more.
"""
from __future__ import annotations

import collections
import gc
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from cti.cli.wiring import build_server
from cti.config import Config

ANY = "tcp://127.0.0.1:*"
TURNS = 50
WARM = 150            #: blocks before counting: SS7 aligns, MTP3 and the GRS settle, PRI comes up
#: the trunks' Python calls per idle span and turn, at most (No.1: the span's quiet service
#: and its skip_audio; SS7 and PRI: skip_audio); 0.05 for rounding over the turns
PER_SPAN = {"no1": 2.05, "ss7": 1.05, "pri": 1.05}


def _site(tmp: Any, types: tuple[str, ...], n: int) -> Any:
    kinds = [types[i % len(types)] for i in range(n)]
    trunks = [{"signalling": t, "spans": [i for i, k in enumerate(kinds) if k == t],
               "config": {"side": "user"} if t == "pri" else {}} for t in types if t in kinds]
    cfg = Config.from_dict({"server": {"store": str(tmp / f"{'-'.join(types)}-{n}.db")},
                            "bus": {"events": ANY, "snapshot": ANY, "control": ANY},
                            "board": {"driver": "sim", "spans": n, "clock": "virtual", "step": 0.02},
                            "trunk": trunks})
    return build_server(cfg)


class _Counter:
    """Python calls by ``file:function`` while ``on``, and the lines each function executed
    (``file:function#lines``: a loop over the spans inside one call counts there); the far
    end's parts switch it off."""

    def __init__(self) -> None:
        self.calls: collections.Counter[str] = collections.Counter()
        self.on = True

    def trace(self, frame: Any, event: str, arg: Any) -> Any:
        if not self.on:
            return None
        co = frame.f_code
        key = f"{co.co_filename.rsplit('/', 1)[-1]}:{co.co_name}#lines"
        calls = self.calls

        def line(frame: Any, event: str, arg: Any) -> Any:
            if event == "line" and self.on:
                calls[key] += 1
            return line
        return line

    def __call__(self, frame: Any, event: str, arg: Any) -> None:
        if not self.on:
            return
        if event == "call":
            co = frame.f_code
            self.calls[f"{co.co_filename.rsplit('/', 1)[-1]}:{co.co_name}"] += 1
        elif event == "c_call":
            self.calls[f"C:{getattr(arg, '__qualname__', arg)}"] += 1

    def far(self, fn: Any) -> Any:
        def off(*a: Any, **k: Any) -> Any:
            was, self.on = self.on, False
            try:
                return fn(*a, **k)
            finally:
                self.on = was
        return off


@contextmanager
def _counting(srv: Any) -> Iterator[_Counter]:
    c = _Counter()
    srv.board.card.step = c.far(srv.board.card.step)
    net = srv.part("network")
    net.service = c.far(net.service)
    gc.collect()
    was = gc.isenabled()
    gc.disable()           # a collection (and its callbacks) comes when it likes: not the loop's work
    sys.setprofile(c)
    sys.settrace(c.trace)
    try:
        yield c
    finally:
        sys.settrace(None)
        sys.setprofile(None)
        if was:
            gc.enable()


def _idle_calls(tmp: Any, types: tuple[str, ...], n: int) -> collections.Counter[str]:
    srv = _site(tmp, types, n).start()
    try:
        for _ in range(WARM):
            srv.step(0)
        assert all(getattr(a, "up", True) for a in srv.model.adapters if a.signalling == "pri")
        # the minute's retention and the full collection are wall-clock periodic, not per turn:
        # on the twins a warm-up can take a minute, so start their periods now
        srv._last_prune = srv._last_full_gc = time.monotonic()
        with _counting(srv) as c:
            for _ in range(TURNS):
                srv.step(0)
        return c.calls
    finally:
        srv.close()


_TRUNK_FILES = ("trunk.py:", "e1wire.py:skip_audio", "inband.py:")
#: the call model's walk over its adapters (one No.1 adapter per span) is the trunks' share
_TRUNK_KEYS = ("model.py:service#lines",)


def _split(calls: collections.Counter[str]) -> tuple[dict[str, float], dict[str, float]]:
    """(the loop's calls and lines per turn, the trunks' own). A trunk's own: its module's
    functions and what they call on the span (skip_audio), and the model's walk over the
    adapters; the rest is the loop's."""
    loop: dict[str, float] = {}
    trunks: dict[str, float] = {}
    for k, v in calls.items():
        side = trunks if any(f in k for f in _TRUNK_FILES) or k in _TRUNK_KEYS else loop
        side[k] = v / TURNS
    return loop, trunks


@pytest.mark.parametrize("types", [("no1",), ("ss7",), ("pri",), ("no1", "ss7", "pri")],
                         ids=["no1", "ss7", "pri", "mixed"])
def test_idle_turn_work_does_not_grow_with_spans(tmp_path: Any, types: tuple[str, ...]) -> None:
    small, large = 4, 16
    loop_s, trunk_s = _split(_idle_calls(tmp_path, types, small))
    loop_l, trunk_l = _split(_idle_calls(tmp_path, types, large))
    # the loop: the same calls, whatever the spans (a per-span call would add 12 a turn)
    assert loop_l == loop_s, {k: (loop_s.get(k), loop_l.get(k)) for k in set(loop_s) | set(loop_l)
                              if loop_s.get(k) != loop_l.get(k)}
    assert sum(v for k, v in loop_l.items() if not k.endswith("#lines")) <= 60, sorted(loop_l.items())
    # the trunks: at most what a quiet span still costs, per span added
    per_span = sum(v - trunk_s.get(k, 0.0) for k, v in trunk_l.items() if not k.endswith("#lines")) / (large - small)
    bound = max(PER_SPAN[t] for t in types)
    assert per_span <= bound, sorted(trunk_l.items(), key=lambda kv: -kv[1])


def test_the_bus_still_answers_between_idle_turns(tmp_path: Any) -> None:
    """The loop reads the bus's sockets only when their descriptors signal: a request made
    while the loop turns idle (``step(0)``, as the capacity bench drives it) is answered."""
    from cti.bus.client import BusClient
    srv = _site(tmp_path, ("ss7",), 2).start()
    try:
        for _ in range(WARM):
            srv.step(0)
        import threading
        box: list[Any] = []
        with BusClient(srv.bus.endpoints) as c:
            t = threading.Thread(target=lambda: box.append(c.snapshot()))
            t.start()
            for _ in range(2000):
                srv.step(0)
                if box:
                    break
                t.join(0.002)
            t.join(5)
        assert box and "spans" in box[0]
    finally:
        srv.close()
