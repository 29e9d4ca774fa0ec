"""ISUP micro-benchmark: the compiled accelerators against their Python twins, same run.

* per message (IAM ACM ANM REL RLC): encode + decode, messages/s;
* per call: IAM -> ACM -> ANM -> REL -> RLC through two :class:`IsupNode` back to back (no
  MTP), calls/s, next to libss7's whole-stack rate (bench/bench_ss7.py, MTP2+MTP3+ISUP over a
  socketpair) measured in the same run, for scale: the share of libss7's time per call that
  our ISUP takes;
* the whole stack in memory (bench/bench_ss7.py ``ours_memory``, MTP as built) with the
  compiled ISUP and with the twin: what the ISUP accelerators give the stack.

``python3 -m bench isup [--quick]`` (from the repository root); the twins' rows run in a child
process with ``BOARDCORE_NO_EXTENSIONS=1``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import cti  # noqa: F401  (registers the accelerators)
from _boardcore import _select
from bench.common import Result
from cti.signaling.ss7.isup.formats import MessageType as M
from cti.signaling.ss7.isup.node import node_class
from cti.signaling.ss7.isup.params import CauseInd, Number

ROOT = Path(__file__).resolve().parents[1]
CODEC = "cti.signaling.ss7.isup.codec"
CONTROL = "cti.signaling.ss7.isup.control"
_IAM = dict(nature_of_connection_indicators=0, forward_call_indicators=0x20, calling_partys_category=10,
            transmission_medium_requirement=3, called_party_number=Number("5551234F"),
            calling_party_number=Number("88001"))
MESSAGES: dict[str, tuple[M, dict[str, Any]]] = {
    "IAM": (M.IAM, _IAM), "ACM": (M.ACM, {"backward_call_indicators": 0x0416}), "ANM": (M.ANM, {}),
    "REL": (M.REL, {"cause_indicators": CauseInd(16)}), "RLC": (M.RLC, {})}


def _best(fn: Any, n: int, rounds: int = 3) -> float:
    """Best of ``rounds`` of ``n`` calls of ``fn``: calls per second."""
    best = 0.0
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = max(best, n / (time.perf_counter() - t0))
    return best


def codec_rate(codec: Any, name: str, n: int) -> float:
    """Encode + decode of message ``name``, per second."""
    mtype, params = MESSAGES[name]
    enc, dec = codec.encode_message, codec.decode
    data = enc(mtype, 5, params)

    def one() -> None:
        enc(mtype, 5, params)
        dec(data)
    return _best(one, n)


def call_rate(control: Any, n: int) -> float:
    """Calls set up and released through two nodes back to back, per second."""
    Node = node_class(control)
    a, b = Node(list(range(1, 32)), 1, 2, name="a"), Node(list(range(1, 32)), 2, 1, name="b")
    t = 0.0

    def deliver(src: Any, dst: Any) -> None:
        for _, data in src.data_to_send(0.0):
            dst.receive(data, t)

    def one() -> None:
        cic = a.setup("5551234", "88001", t)
        deliver(a, b)
        b.events()
        b.alert(cic, t)
        b.answer(cic, t)
        deliver(b, a)
        a.events()
        a.release(cic, 16, t)
        deliver(a, b)
        deliver(b, a)
        a.events()
        b.events()
    return _best(one, n)


def stack_rate(n: int) -> float:
    """bench_ss7.ours_memory (both stacks in memory, every layer as loaded), best of 3."""
    from bench import bench_ss7
    return max(bench_ss7.ours_memory(n) for _ in range(3))


def rates(n: int) -> dict[str, float]:
    """Every figure for the live implementations (compiled when built, unless
    BOARDCORE_NO_EXTENSIONS=1: then the twins)."""
    codec, control = _select.load(CODEC), _select.load(CONTROL)
    out = {name: codec_rate(codec, name, n) for name in MESSAGES}
    out["call"] = call_rate(control, n)
    out["stack"] = stack_rate(n // 2)
    return out


def twin_rates(n: int) -> dict[str, float] | None:
    """:func:`rates` in a child process running the pure-Python twins only."""
    env = dict(os.environ, BOARDCORE_NO_EXTENSIONS="1")
    out = subprocess.run([sys.executable, "-m", "bench.bench_isup", "--rates", str(n)], capture_output=True,
                         text=True, timeout=900, cwd=ROOT, env=env)
    return json.loads(out.stdout.splitlines()[-1]) if out.returncode == 0 and out.stdout.strip() else None


def run(quick: bool) -> list[Result]:
    from bench.bench_ss7 import libss7
    n = 2000 if quick else 20000
    rows = {"compiled": rates(n) if _select.compiled(CODEC) and _select.compiled(CONTROL) else None,
            "python": twin_rates(n)}
    ref = libss7(n)
    res = []
    for name in MESSAGES:
        for impl, r in rows.items():
            if r:
                res.append(Result(f"isup {name} encode+decode", impl, r[name], "msgs/s", reference=impl == "python"))
    for key, bench, note in (("call", "isup call, two nodes b2b (no MTP)", "IAM ACM ANM REL RLC, both nodes"),
                             ("stack", "ss7 stacks in memory (bench_ss7 ours-memory)", "every layer compiled / twin")):
        for impl, r in rows.items():
            if r:
                res.append(Result(bench, impl, r[key], "calls/s", note=note))
        if ref:
            res.append(Result(bench, "libss7", ref, "calls/s", reference=True,
                              note="whole stack, C, over a socketpair"))
    return res


if __name__ == "__main__":
    if "--rates" in sys.argv:
        print(json.dumps(rates(int(sys.argv[sys.argv.index("--rates") + 1]))))
    else:
        from bench.common import print_results
        print_results("isup", run("--quick" in sys.argv))
