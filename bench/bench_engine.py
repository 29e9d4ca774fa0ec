"""The one FSM engine alone: transitions/s and machine creations/s, compiled against its twin.

The tables are the stacks' own (ISUP's call table, Q.931's user-side table) with every
action replaced by one no-op and every guard by one that refuses (so a guarded row is tried
and skipped, as glare rows are on a normal call): what is measured is the engine's row
selection, state change, timer bookkeeping and the call of the action, not the stacks' work.
Each scenario is a whole call that brings the machine back to its initial state:

* ``isup out``: SETUP-req ACM ANM RELEASE-req RLC (T7, T9, T1+T5 started and stopped);
* ``isup in``: IAM (a refused guard first) ALERT-req ANSWER-req REL;
* ``q931 out``: SETUP-req CALL PROCEEDING ALERTING CONNECT DISCONNECT-req RELEASE;
* ``q931 in``: SETUP PROCEEDING-req ALERTING-req SETUP-resp CONNECT ACK DISCONNECT RELEASE-req
  RELEASE COMPLETE.

Rows per implementation: ``compiled`` (machine_c, the live one) and ``twin`` (machine_py);
the reference of each table is ``floor``, the same loop calling the no-op action directly
(what any FSM written by hand still pays: the Python loop and one call per event). Rates are
per second of CPU time (``time.process_time``), the median of several rounds, with the
spread (min..max) in the note. Creations: ``Machine(table, ctx, timer_values=...)`` as the
PRI stack makes one per call. When valgrind is installed, callgrind counts the instructions
per transition (two runs of different lengths in a child process; the difference divided by
the extra transitions, so start-up cancels out).

``python -m bench engine [--quick]``
"""
from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import cti  # noqa: F401  (registers the accelerators)
from _boardcore import _select
from bench.common import Result
from cti.signaling.engine import Row, Table

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "cti.signaling.machine"


def _noop(ctx: Any, message: Any, now: float) -> None:
    return None


def _refuse(ctx: Any, message: Any) -> bool:
    return False


def mirror(table: Table) -> Table:
    """``table`` with the same states, events, rows, timers and guards' positions, but every
    action the no-op and every guard one that refuses."""
    rows = tuple(Row(r.state, r.event, r.next, _noop if r.action is not None else None,
                     _refuse if r.guard is not None else None, r.start, r.stop, r.clause) for r in table.rows)
    return Table(table.name + " (bench)", table.initial, rows, timers=table.timers, entry=table.entry,
                 expiry=table.expiry, final=table.final)


def scenarios() -> dict[str, tuple[Table, tuple[Hashable, ...]]]:
    """name -> (mirrored table, the events of one whole call)."""
    from cti.signaling.pri.calltable import USER_TABLE
    from cti.signaling.pri.message import MT
    from cti.signaling.pri.states import Req as Q
    from cti.signaling.ss7.isup.call import Req
    CALL_TABLE = _select.twin("cti.signaling.ss7.isup.control").CALL_TABLE
    from cti.signaling.ss7.isup.formats import MessageType as M

    isup, q931 = mirror(CALL_TABLE), mirror(USER_TABLE)
    return {
        "isup out": (isup, (Req.SETUP, M.ACM, M.ANM, Req.RELEASE, M.RLC)),
        "isup in": (isup, (M.IAM, Req.ALERT, Req.ANSWER, M.REL)),
        "q931 out": (q931, (Q.SETUP, MT.CALL_PROCEEDING, MT.ALERTING, MT.CONNECT, Q.DISCONNECT, MT.RELEASE)),
        "q931 in": (q931, (MT.SETUP, Q.PROCEEDING, Q.ALERTING, Q.SETUP_RESPONSE, MT.CONNECT_ACKNOWLEDGE,
                           MT.DISCONNECT, Q.RELEASE, MT.RELEASE_COMPLETE)),
    }


def machine_class(impl: str) -> Any:
    mod = _select.compiled(PREFIX) if impl == "compiled" else _select.twin(PREFIX)
    if mod is None:
        raise RuntimeError(f"{PREFIX}_c is not built (python setup.py build_ext --inplace)")
    return mod.MachineCore


def check(cls: Any, table: Table, events: tuple[Hashable, ...]) -> None:
    """The scenario is a whole call: every event accepted, back in the initial state, no timer."""
    m = cls(table, None)
    for ev in events:
        m.fire(ev, None, 1.0)
    if m.state is not table.initial or m.running:
        raise AssertionError(f"{table.name}: {events} ends in {m.state} with {m.running}")


def transition_loop(impl: str, table: Table, events: tuple[Hashable, ...]) -> Callable[[int], int]:
    """``run(calls)``: that many whole calls on one machine; returns the transitions made."""
    if impl == "floor":
        def floor(calls: int) -> int:
            act = _noop
            for _i in range(calls):
                for ev in events:
                    act(None, ev, 1.0)
            return calls * len(events)
        return floor
    cls = machine_class(impl)
    check(cls, table, events)
    m = cls(table, None)
    fire = m.fire

    def run(calls: int) -> int:
        msg = None
        for _i in range(calls):
            for ev in events:
                fire(ev, msg, 1.0)
        return calls * len(events)
    return run


def creation_loop(impl: str, table: Table) -> Callable[[int], int]:
    cls = machine_class(impl)
    values = {n: s.default for n, s in list(table.timers.items())[:2]}   # as a stack's overrides

    def run(n: int) -> int:
        for _i in range(n):
            cls(table, None, name="cref", timer_values=values)
        return n
    return run


def measure(run: Callable[[int], int], n: int, rounds: int) -> tuple[float, float, float]:
    """(median, min, max) of units per CPU second over ``rounds`` runs of ``run(n)``."""
    rates = []
    run(max(1, n // 10))                     # warm up
    for _ in range(rounds):
        t0 = time.process_time()
        units = run(n)
        dt = time.process_time() - t0
        rates.append(units / dt if dt > 0 else 0.0)
    return statistics.median(rates), min(rates), max(rates)


def callgrind_per_transition(impl: str, name: str, calls: int) -> float | None:
    """Instructions per transition under callgrind (None without valgrind)."""
    if shutil.which("valgrind") is None:
        return None
    counts = []
    transitions = []
    for n in (0, calls):
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONHASHSEED="0")   # the same start-up both times
        out = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-m",
             "bench.bench_engine", "--count", impl, name, str(n)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
        found = re.search(r"Collected\s*:\s*(\d+)", out.stderr)
        if out.returncode != 0 or found is None:
            raise RuntimeError(f"callgrind failed: {out.stderr[-2000:]}")
        counts.append(int(found.group(1)))
        transitions.append(int(out.stdout.split()[-1]))
    return (counts[1] - counts[0]) / (transitions[1] - transitions[0])


def run(quick: bool = False) -> list[Result]:
    rounds = 3 if quick else 9
    calls = 2_000 if quick else 40_000
    results: list[Result] = []
    scen = scenarios()
    for name, (table, events) in scen.items():
        bench = f"transitions, {name}"
        for impl in ("floor", "compiled", "twin"):
            med, lo, hi = measure(transition_loop(impl, table, events), calls, rounds)
            results.append(Result(bench, impl, med, "transitions/CPU-s", reference=impl == "floor",
                                  note=f"{lo:,.0f}..{hi:,.0f} over {rounds}"))
    for tname, table in (("isup", scen["isup out"][0]), ("q931", scen["q931 out"][0])):
        bench = f"creations, {tname} table"
        for impl in ("compiled", "twin"):
            med, lo, hi = measure(creation_loop(impl, table), calls, rounds)
            results.append(Result(bench, impl, med, "machines/CPU-s", reference=impl == "twin",
                                  note=f"{lo:,.0f}..{hi:,.0f} over {rounds}"))
    if shutil.which("valgrind") is None:
        results.append(Result("callgrind", "not measured", 0.0, "-", note="valgrind is not installed"))
    else:
        for name in (("isup out", "q931 in") if not quick else ("isup out",)):
            for impl in ("floor", "compiled", "twin"):
                per = callgrind_per_transition(impl, name, 1_000 if quick else 5_000)
                results.append(Result(f"callgrind, {name}", impl, per or 0.0, "instr/transition",
                                      reference=impl == "floor", note="lower is better"))
    return results


def _count_main(argv: list[str]) -> None:
    """Child of :func:`callgrind_per_transition`: ``impl name calls``; prints the transitions."""
    impl, name, calls = argv[0], argv[1], int(argv[2])
    table, events = scenarios()[name]
    loop = transition_loop(impl, table, events)
    print(loop(calls))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--count"]:
        _count_main(sys.argv[2:])
    else:
        from bench.common import print_results
        print_results("engine", run(quick="--quick" in sys.argv))
