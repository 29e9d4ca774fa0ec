"""PRI call setups + releases per second, back to back through Q.921/Q.931, against libpri.

Each call is SETUP -> ALERTING -> CONNECT (-> CONNECT ACK) -> DISCONNECT -> RELEASE ->
RELEASE COMPLETE between a user side and a network side, one call at a time (libpri's
bench does the same), counted when the network has the RELEASE COMPLETE; every I frame is
acknowledged by LAPD as it goes. Rated per second of wall time and per second of CPU time
(user + system of the process over the timed span). Rows:

* libpri       two libpri instances (network, CPE) in one C process over a SOCK_SEQPACKET
               socketpair (tests/interop/libpri_peer.c ``bench`` mode), reference
* ours-socket  our user and network PriStacks over a SOCK_SEQPACKET socketpair (the same
               framing, the SS7 transports)
* ours-memory  the two PriStacks passing frames in memory (cti.signaling.pri.pair): no system
               calls at all, so not the like-for-like row (ours-socket is)

``python3 -m bench pri``: five rounds of 3,000 calls a row, the rows alternating within each
round; medians, spreads and same-round ratios (quick mode: three rounds of 300). A third
table splits the CPU time of a call into user and system (kernel: the socket's system calls)
microseconds: libpri's split is the child process's getrusage over the whole run (start-up
and link set-up included, a few milliseconds), the timed span's total being its own figure.
"""
from __future__ import annotations

import resource
import shutil
import socket
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import Result
from cti.signaling.pri.pair import Pair
from cti.signaling.pri.stack import PriStack
from cti.signaling.ss7.transport import SeqpacketTransport

ROOT = Path(__file__).resolve().parents[1]


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _user() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_utime


#: one row's measurement: (wall seconds, CPU seconds, share of the CPU spent in user mode)
Times = tuple[float, float, float]


def _calls(move: Callable[[], None], user: PriStack, net: PriStack, n: int, clock: Callable[[], float],
           drain: Callable[[], object] | None = None) -> None:
    """``n`` call cycles; ``move()`` exchanges frames both ways once; after each call the layer
    above takes the events (``drain``, default: both stacks' ``events()``) and lets go of them."""
    done = 0
    while done < n:
        call = user.q931.setup("88001234", clock(), "13800138000", channel=1 + done % 15)
        for _ in range(200):
            move()
            inc = net.q931.by_channel.get(call.channel or 0)
            if inc is not None and inc.m.state == 1:
                net.q931.alert(inc, clock())
                net.q931.answer(inc, clock())
            if call.m.state == 10:
                user.q931.release(call, 16, clock())
            if call.m.state == 0 and not net.q931.calls:
                break
        else:
            raise RuntimeError("a call cycle did not finish")
        if drain is None:
            user.events()
            net.events()
        else:
            drain()
        done += 1


def ours_memory(n: int) -> Times:
    pr = Pair()
    pr.run(0.1)
    t0, c0, u0 = time.perf_counter(), _cpu(), _user()

    def drain() -> None:                  # the layer above takes the Pair's events and lets go
        for log in pr.events.values():
            log.clear()
    _calls(pr.step, pr.user, pr.network, n, lambda: pr.now, drain)
    cpu = _cpu() - c0
    return time.perf_counter() - t0, cpu, (_user() - u0) / max(cpu, 1e-9)


def ours_socket(n: int) -> Times:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    user, net = PriStack(False), PriStack(True)
    ta, tb = SeqpacketTransport(a, user), SeqpacketTransport(b, net)
    t = [0.0]

    def move() -> None:
        for tr in (ta, tb):
            tr.transmit(t[0])
        for tr in (ta, tb):
            tr.receive(t[0])
    for _ in range(10):
        move()
    t0, c0, u0 = time.perf_counter(), _cpu(), _user()
    _calls(move, user, net, n, lambda: t[0])
    cpu = _cpu() - c0
    out = time.perf_counter() - t0, cpu, (_user() - u0) / max(cpu, 1e-9)
    a.close()
    b.close()
    return out


def libpri(n: int) -> Times | None:
    if not Path("/usr/include/libpri.h").exists() or shutil.which("gcc") is None:
        return None
    import sys
    sys.path.insert(0, str(ROOT / "tests" / "interop"))
    from pri_harness import build_peer
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([str(build_peer()), "bench", str(n)], capture_output=True, text=True, timeout=300).stdout
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    user, system = r1.ru_utime - r0.ru_utime, r1.ru_stime - r0.ru_stime
    f = out.split()
    return float(f[3]), float(f[5]), user / max(user + system, 1e-9)


def run(quick: bool) -> list[Result]:
    """Rounds alternating the rows (libpri, ours over a socket, ours in memory), so that each
    round's rows share the machine's load; the table gives each row's median over the rounds
    and the note its spread and the median of its same-round ratios to libpri."""
    n, rounds = (300, 3) if quick else (3000, 5)
    have_libpri = libpri(min(n, 100)) is not None            # built once, warmed
    rows: dict[str, list[Times]] = {}
    for _ in range(rounds):
        if have_libpri:
            ref = libpri(n)
            assert ref is not None
            rows.setdefault("libpri", []).append(ref)
        for name, fn in (("ours-socket", ours_socket), ("ours-memory", ours_memory)):
            rows.setdefault(name, []).append(fn(n))
    res = []
    for i, (what, unit) in enumerate((("wall", "calls/s"), ("CPU", "calls/CPU-s"))):
        for name, times in rows.items():
            rates = [n / max(t[i], 1e-9) for t in times]
            note = f"median of {rounds}, {min(rates):,.0f}..{max(rates):,.0f}"
            if name != "libpri" and "libpri" in rows:
                ratios = [r / (n / max(ref[i], 1e-9)) for r, ref in zip(rates, rows["libpri"], strict=True)]
                note += f"; same-round x libpri {statistics.median(ratios):.2f} ({min(ratios):.2f}..{max(ratios):.2f})"
            res.append(Result(f"pri call setup+release ({what})", name, statistics.median(rates), unit,
                              reference=name == "libpri", note=note))
    for name, times in rows.items():        # where a call's CPU goes: user code or the kernel
        us = statistics.median(t[1] / n * 1e6 for t in times)
        share = statistics.median(t[2] for t in times)
        res.append(Result("pri CPU per call (lower is better)", name, us, "CPU-us/call",
                          note=f"user {us * share:.1f} us + system {us * (1 - share):.1f} us (medians)"))
    return res
