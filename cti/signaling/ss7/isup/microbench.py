"""ISUP micro-benchmark: the compiled accelerators against their Python twins, same run.

* per message (IAM ACM ANM REL RLC): encode + decode, messages/s;
* per call: IAM -> ACM -> ANM -> REL -> RLC through two :class:`IsupNode` back to back (no
  MTP), calls/s, next to libss7's whole-stack rate (bench/bench_ss7.py, MTP2+MTP3+ISUP over a
  socketpair) measured in the same run, for scale: the share of libss7's time per call that
  our ISUP takes.

``python3 -m cti.signaling.ss7.isup.microbench [--quick]`` (from the repository root).
"""
from __future__ import annotations

import sys
import time
from typing import Any

from _boardcore import _select

from .formats import MessageType as M
from .node import node_class
from .params import CauseInd, Number

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
        for _, data in src.messages():
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


def run(quick: bool) -> list:
    from bench.common import Result
    n = 2000 if quick else 20000
    impls = {"compiled": _select.compiled, "python": _select.twin}
    res = []
    for name in MESSAGES:
        for impl, get in impls.items():
            mod = get(CODEC)
            if mod is not None:
                res.append(Result(f"isup {name} encode+decode", impl, codec_rate(mod, name, n), "msgs/s",
                                  reference=impl == "python"))
    for impl, get in impls.items():
        mod = get(CONTROL)
        if mod is not None and get(CODEC) is not None:
            res.append(Result("isup call, two nodes b2b (no MTP)", impl, call_rate(mod, n), "calls/s",
                              note="IAM ACM ANM REL RLC, both nodes"))
    try:
        from bench.bench_ss7 import libss7
        ref = libss7(n)
    except Exception:            # noqa: BLE001 - libss7 or its harness missing: no reference row
        ref = None
    if ref:
        res.append(Result("isup call, two nodes b2b (no MTP)", "libss7 whole stack", ref, "calls/s",
                          reference=True, note="MTP2+MTP3+ISUP over a socketpair, C"))
    return res


if __name__ == "__main__":
    from bench.common import print_results
    print_results("isup", run("--quick" in sys.argv))
