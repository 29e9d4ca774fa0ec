"""SS7 call setups + releases per second, back to back through MTP2/MTP3/ISUP.

Each call is IAM -> ACM -> ANM -> REL -> RLC between two signalling points, 8 calls in
flight, counted once the RLC is back; every row does the same number of calls (warm-up round
first, then rounds alternating the rows, best round kept, median and spread of the ratios
within a round in the notes), rated per second of wall time and per second of CPU time (user +
system of the process over the timed span: what the scheduling of a loaded machine does not move). Between service steps ``move(now)``
makes one pass: both ends transmit, then both receive (as libss7's poll loop services each
fd once per pass). Rows:

* libss7   two libss7 instances in one C process over a SOCK_SEQPACKET socketpair
           (tests/interop/libss7_peer.c ``bench`` mode, DAHDI-MTP2 framing), reference
* ours-socket  two of our Ss7Stacks over a SOCK_SEQPACKET socketpair (the same framing)
* ours-memory  two of our Ss7Stacks passing frames in memory (no system calls)
* ours-memory-twins  the same with every accelerator's pure-Python twin
           (a child process with BOARDCORE_NO_EXTENSIONS=1), to show what compiling gave

and, for the MTP half alone, MSUs per second from one linkset through two MTP2 links to the far
linkset's bound user part (ITU label, 20-octet payload, 5 per step, frames in memory), compiled
cores against their twins in the same run.

``python3 -m bench ss7``; quick mode runs fewer calls.
"""
from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, cast

from bench.common import Result

if TYPE_CHECKING:
    from cti.signaling.ss7.isup.call import IsupEvent
    from cti.signaling.ss7.stack import Ss7Stack

ROOT = Path(__file__).resolve().parents[1]
INFLIGHT = 8


def _stacks() -> tuple[Ss7Stack, Ss7Stack]:
    from cti.signaling.ss7.config import Ss7Config
    from cti.signaling.ss7.stack import Ss7Stack
    a = Ss7Stack(Ss7Config.from_dict({"opc": 1, "dpc": 2, "emergency": True}), list(range(1, 32)), "a")
    b = Ss7Stack(Ss7Config.from_dict({"opc": 2, "dpc": 1, "emergency": True}), list(range(1, 32)), "b")
    return a, b


def _drive(a: Ss7Stack, b: Ss7Stack, move: Callable[[float], None], n: int) -> tuple[float, float]:
    """Bring the link up, then time ``n`` calls; ``move(now)`` carries frames both ways.
    Calls per second of wall time and of CPU time (user + system) over the same span."""
    t = 0.0
    while not (a.up and b.up) or any(c.reset_pending for c in a.isup.circuits.values()):
        t += 0.01
        move(t)
        a.service(t)
        b.service(t)
        if t > 30:
            raise RuntimeError("SS7 link did not come up")
    done = inflight = 0
    t0, c0 = time.perf_counter(), time.process_time()
    while done < n:
        while inflight < INFLIGHT and done + inflight < n:
            a.isup.setup("5551234", "88001", t)
            inflight += 1
        a.flush(t)
        move(t)
        for e in cast("list[IsupEvent]", b.service(t)):    # the bare stack: ISUP's events only
            if e.kind == "setup":
                b.isup.alert(e.cic, t)
                b.isup.answer(e.cic, t)
        b.flush(t)
        move(t)
        for e in cast("list[IsupEvent]", a.service(t)):
            if e.kind == "answered":
                a.isup.release(e.cic, 16, t)
            elif e.kind == "released":
                done += 1
                inflight -= 1
        a.flush(t)
        t += 0.0005
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return n / wall, n / max(cpu, 1e-9)


def ours_memory(n: int) -> float:
    """Calls/s (wall) of :func:`ours_memory_rates`."""
    return ours_memory_rates(n)[0]


def ours_socket(n: int) -> float:
    """Calls/s (wall) of :func:`ours_socket_rates`."""
    return ours_socket_rates(n)[0]


def ours_memory_rates(n: int) -> tuple[float, float]:
    a, b = _stacks()
    la, lb = a.links[0], b.links[0]

    def move(now: float) -> None:   # one pass, as ours_socket: both transmit, then both receive
        fa, fb = la.data_to_send(now), lb.data_to_send(now)
        for f in fa:
            lb.receive(f, now)
        for f in fb:
            la.receive(f, now)
    return _drive(a, b, move, n)


def ours_socket_rates(n: int) -> tuple[float, float]:
    from cti.signaling.ss7.transport import SeqpacketTransport
    a, b = _stacks()
    sa, sb = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ta, tb = SeqpacketTransport(sa, a.links[0]), SeqpacketTransport(sb, b.links[0])

    def move(now: float) -> None:   # one pass per step, like libss7's poll loop
        ta.transmit(now)
        tb.transmit(now)
        ta.receive(now)
        tb.receive(now)
    try:
        return _drive(a, b, move, n)
    finally:
        sa.close()
        sb.close()


def ours_memory_twins(n: int) -> float | None:
    """:func:`ours_memory` in a child process running the pure-Python twins only."""
    env = dict(os.environ, BOARDCORE_NO_EXTENSIONS="1")
    code = f"from bench.bench_ss7 import ours_memory; print(ours_memory({n}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                         cwd=ROOT, env=env)
    return float(out.stdout.split()[-1]) if out.returncode == 0 and out.stdout.split() else None


def mtp_msus(kind: str, n: int) -> float:
    """MSUs/s through MTP3 -> MTP2 -> MTP2 -> MTP3 on the compiled cores (``c``) or twins (``py``)."""
    from _boardcore import _select
    from cti.signaling.ss7.mtp2.link import CORE as MTP2, link_class
    from cti.signaling.ss7.mtp3.linkset import CORE as MTP3, linkset_class
    pick = _select.twin if kind == "py" else _select.compiled
    if pick(MTP2) is None or pick(MTP3) is None:
        raise RuntimeError("compiled MTP cores not built")
    Link, Linkset = link_class(pick(MTP2)), linkset_class(pick(MTP3))
    a = Linkset([Link(name="a", emergency=True)], 1, 2)
    b = Linkset([Link(name="b", emergency=True)], 2, 1)
    got = [0]

    def deliver(payload: bytes, now: float) -> None:
        got[0] += 1
    b.bind_user_part(5, deliver)
    la, lb = a.links[0], b.links[0]

    def step(t: float) -> None:
        """Frames both ways, then both linksets run."""
        for f in la.data_to_send(t):
            lb.receive(f, t)
        for f in lb.data_to_send(t):
            la.receive(f, t)
        a.service(t)
        b.service(t)

    t = 0.0
    a.start(t)
    b.start(t)
    while not (a.up and b.up):
        step(t)
        t += 0.01
    payload = bytes(20)
    t0 = time.perf_counter()
    for _ in range(n // 5):
        for sls in range(5):
            a.send(5, payload, sls, t)
        step(t)
        t += 0.0005
    dt = time.perf_counter() - t0
    if got[0] != n // 5 * 5:
        raise RuntimeError(f"{got[0]} of {n // 5 * 5} MSUs delivered")
    return got[0] / dt


def libss7(n: int) -> float | None:
    """Calls/s (wall) of :func:`libss7_rates`."""
    r = libss7_rates(n)
    return None if r is None else r[0]


def libss7_rates(n: int) -> tuple[float, float] | None:
    """libss7 b2b: calls/s of wall time and of the C process's CPU time over the same span."""
    if not Path("/usr/include/libss7.h").exists() or shutil.which("gcc") is None:
        return None
    sys.path.insert(0, str(ROOT / "tests" / "interop"))
    from ss7_harness import build_peer
    out = subprocess.run([str(build_peer()), "bench", str(n)], capture_output=True, text=True, timeout=300)
    parts = out.stdout.split()
    if out.returncode or len(parts) < 6:
        return None
    return int(parts[1]) / float(parts[3]), int(parts[1]) / max(float(parts[5]), 1e-9)


ROUNDS = 5


def _spread(ratios: list[float]) -> str:
    return f"same-round ratio median {statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"


def run(quick: bool) -> list[Result]:
    """Same number of calls on every row; one untimed warm-up round, then :data:`ROUNDS`
    rounds taking libss7 and ours in turn (so load on a shared machine hits all rows alike),
    best round of each row kept, and the median (spread) of the ratios to libss7 taken within
    each round in the notes. The same calls are also rated per second of CPU time (user +
    system over the timed span, both processes), which the scheduling on a loaded machine
    does not move."""
    n = 2000 if quick else 20000
    names = ["libss7", "ours-socket", "ours-memory"]
    runs = {"libss7": libss7_rates, "ours-socket": ours_socket_rates, "ours-memory": ours_memory_rates}
    wall: dict[str, list[float]] = {k: [] for k in names}
    cpu: dict[str, list[float]] = {k: [] for k in names}
    twins: list[float] = []
    for rnd in range(ROUNDS + 1):
        got = {name: fn(n // 4 if rnd == 0 else n) for name, fn in runs.items()}
        if got["libss7"] is None:
            runs.pop("libss7", None)      # libss7 not installed / failed
        tw = ours_memory_twins(n // 4 if rnd == 0 else n) if rnd <= 1 else None   # slow: one timed round
        if rnd == 0:
            continue
        for name, r in got.items():
            if r is not None:
                wall[name].append(r[0])
                cpu[name].append(r[1])
        if tw:
            twins.append(tw)
    from cti.signaling.ss7 import seqpacket
    from cti.signaling.ss7.mtp2 import bec
    from cti.signaling.ss7.mtp3 import route
    impls = {vars(m)["IMPLEMENTATION"] for m in (bec, route, seqpacket)}    # set by each facade at import
    live = "MTP compiled" if impls == {"compiled"} else "MTP twins" if impls == {"python"} else "MTP partly compiled"
    notes = {"libss7": "C, two instances over a socketpair", "ours-socket": f"socketpair; {live}",
             "ours-memory": "frames in memory"}
    res: list[Result] = []
    for bench, rates in (("ss7 call setup+release", wall), ("ss7 call setup+release, CPU time", cpu)):
        ref = rates["libss7"]
        for name in names:
            if not rates[name]:
                continue
            note = notes[name]
            if name != "libss7" and len(ref) == len(rates[name]):
                note += "; " + _spread([o / r for o, r in zip(rates[name], ref, strict=False)])
            res.append(Result(bench, name, max(rates[name]), "calls/s", reference=name == "libss7", note=note))
        if twins and rates is wall:
            res.append(Result(bench, "ours-memory-twins", max(twins), "calls/s",
                              note="frames in memory, pure-Python twins only"))
    m = 20000 if quick else 200000
    try:
        mtp = {k: max(mtp_msus(k, m) for _ in range(3)) for k in ("py", "c")}
    except RuntimeError:
        return res     # compiled cores not built: the call rows above still stand
    res.append(Result("ss7 MTP MSU transfer", "twins", mtp["py"], "MSUs/s", reference=True,
                      note="MTP3 -> MTP2 -> MTP2 -> MTP3, pure Python"))
    res.append(Result("ss7 MTP MSU transfer", "compiled", mtp["c"], "MSUs/s",
                      note="bec_c + route_c"))
    return res


if __name__ == "__main__":
    from bench.common import print_results
    print_results("ss7", run("--quick" in sys.argv))
