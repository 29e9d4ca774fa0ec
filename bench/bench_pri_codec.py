"""The octets of a PRI call alone: the Q.931 codec and the Q.921 data link per call cycle.

``python -m bench pri_codec``: the seven messages of one call cycle of ``python -m bench pri``
(SETUP, ALERTING, CONNECT, CONNECT ACK, DISCONNECT, RELEASE, RELEASE COMPLETE) decoded, and
encoded from their parts as the call actions send them; and the ten LAPD frames of a call cycle
(7 I, 3 RR) between two data links, user and network side, each I frame's information handed
up (``deliver``) and acknowledged. Each row runs the compiled build (when built) and its twin
(the same source run as Python) in the same round: five rounds, medians with their spread and
the median of the same-round ratios. Rated in cycles per second of CPU time
(``time.process_time``); the notes give the microseconds per cycle and, with ``--quick`` off
and valgrind present, the instructions per cycle (callgrind, the difference of two run
lengths, so start-up cancels out).

It is the micro view of :mod:`bench.bench_pri` (whose rows are what the issue's target is
about): what the octets cost, beside what a whole call costs there.
"""
from __future__ import annotations

import importlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.common import Result

ROOT = Path(__file__).resolve().parents[1]

#: the seven messages of a call cycle, as the peer sends them (header + element octets)
CYCLE = [bytes.fromhex(h) for h in (
    "0802000105a104038090a31803a983816c0d018031333830303133383030307009813838303031323334",
    "08028001011803a98381", "0802800107", "080200010f", "080200014508028090", "080280014d", "080200015a",
)]


def _impls() -> list[tuple[str, ModuleType, ModuleType]]:
    """(name, message module, link module) of the compiled build (when built) and the twin."""
    out = []
    for name, suffix in (("compiled", "_c"), ("twin", "_py")):
        try:
            msg = importlib.import_module(f"cti.signaling.pri.message{suffix}")
            link = importlib.import_module(f"cti.signaling.pri.link{suffix}")
        except ImportError:
            continue
        out.append((name, msg, link))
    return out


def _parts(msg: ModuleType) -> list[tuple[int, int, bool, list[Any]]]:
    """The messages' parts as the call actions hand them to ``encode_parts``."""
    out = []
    for b in CYCLE:
        m = msg.decode(b)
        out.append((m.mtype, m.cref, m.flag, list(m.ies)))
    return out


def decode_cycle(msg: ModuleType) -> Callable[[], None]:
    decode = msg.decode

    def run() -> None:
        for b in CYCLE:
            decode(b)
    return run


def encode_cycle(msg: ModuleType) -> Callable[[], None]:
    encode_parts = msg.encode_parts
    parts = _parts(msg)

    def run() -> None:
        for mt, cref, flag, ies in parts:
            encode_parts(mt, cref, flag, ies)
    return run


def link_cycle(link: ModuleType) -> Callable[[], None]:
    """The frames of one call cycle between two established links: the network sends 4 I
    frames and the user 3, alternating as in a call (each answered before the next), every
    frame delivered and the last of each burst acknowledged by an RR."""
    user, net = link.LapdLink(False, name="u"), link.LapdLink(True, name="n")
    got: list[bytes] = []
    user.deliver = net.deliver = lambda data, now: got.append(data)
    now = [0.0]

    def move() -> None:
        for _ in range(4):
            moved = False
            for a, b in ((user, net), (net, user)):
                for f in a.data_to_send(now[0]):
                    moved = True
                    b.receive(f, now[0])
            if not moved:
                return

    user.start(0.0)
    net.start(0.0)
    move()
    assert user.up and net.up
    order = ((net, CYCLE[0]), (user, CYCLE[1]), (user, CYCLE[2]), (net, CYCLE[3]), (net, CYCLE[4]),
             (user, CYCLE[5]), (net, CYCLE[6]))

    def run() -> None:
        for side, octets in order:
            side.send(octets, now[0])
            move()
        got.clear()
    return run


ROWS: tuple[tuple[str, Callable[[ModuleType, ModuleType], Callable[[], None]]], ...] = (
    ("Q.931 decode, 7 messages", lambda msg, link: decode_cycle(msg)),
    ("Q.931 encode, 7 messages", lambda msg, link: encode_cycle(msg)),
    ("Q.921 link, 10 frames", lambda msg, link: link_cycle(link)),
)


def _time(fn: Callable[[], None], n: int) -> float:
    """CPU microseconds per call of ``fn`` (best of three batches of ``n``)."""
    best = float("inf")
    for _ in range(3):
        t0 = time.process_time()
        for _ in range(n):
            fn()
        best = min(best, time.process_time() - t0)
    return best / n * 1e6


_CG_SCRIPT = """
import sys
sys.path.insert(0, {root!r})
from bench.bench_pri_codec import ROWS, _impls
impl = dict((n, (m, l)) for n, m, l in _impls())[{impl!r}]
fn = ROWS[{row}][1](*impl)
for _ in range({n}):
    fn()
"""


def instructions(row: int, impl: str, n: tuple[int, int] = (200, 1200)) -> float | None:
    """Instructions per cycle of ``ROWS[row]`` on ``impl`` (callgrind, the difference of two
    run lengths divided by their difference), or None without valgrind."""
    if shutil.which("valgrind") is None:
        return None
    counts = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in n:
            script = Path(tmp, "run.py")
            script.write_text(_CG_SCRIPT.format(root=str(ROOT), impl=impl, row=row, n=k))
            out = Path(tmp, f"cg.{k}")
            env = {**os.environ, "PYTHONHASHSEED": "0"}
            subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, str(script)],
                           capture_output=True, check=True, env=env, timeout=600)
            for line in out.read_text().splitlines():
                if line.startswith("summary:") or line.startswith("totals:"):
                    counts.append(int(line.split()[1]))
                    break
    return (counts[1] - counts[0]) / (n[1] - n[0])


def run(quick: bool) -> list[Result]:
    rounds, n = (3, 300) if quick else (5, 3000)
    impls = _impls()
    res: list[Result] = []
    for r, (what, make) in enumerate(ROWS):
        fns = {name: make(msg, link) for name, msg, link in impls}
        times: dict[str, list[float]] = {name: [] for name in fns}
        for _ in range(rounds):
            for name, fn in fns.items():
                times[name].append(_time(fn, n))
        for name, ts in times.items():
            note = f"{statistics.median(ts):.2f} us/cycle, median of {rounds} ({min(ts):.2f}..{max(ts):.2f})"
            if name != "twin" and "twin" in times:
                ratios = [t / c for t, c in zip(times["twin"], ts, strict=True)]
                note += f"; same-round x twin {statistics.median(ratios):.1f} ({min(ratios):.1f}..{max(ratios):.1f})"
            if not quick:
                ins = instructions(r, name)
                if ins is not None:
                    note += f"; {ins:,.0f} instructions/cycle (callgrind)"
            res.append(Result(f"pri octets per call cycle: {what}", name, 1e6 / statistics.median(ts),
                              "cycles/CPU-s", reference=name == "twin", note=note))
    return res
