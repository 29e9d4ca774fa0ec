"""Worked example (docs/integrating.md): our SS7 stack (MTP2, MTP3, ISUP) with its signalling
link on a socket, talking to a second process that plays the far exchange.

The link is a SOCK_SEQPACKET socket carrying one MTP2 signal unit plus its FCS per datagram —
libss7's framing, what a DAHDI D-channel or a foreign card's HDLC driver gives — so any peer
that speaks it can take the second process's place. Each process runs an SS7 trunk with the
ready-made :class:`cti.signaling.runner.Runner` on the real clock (the link aligns in about a
second with emergency proving).

    python docs/examples/ss7_loopback.py          # ours: point code 1-100-1, the peer 1-100-2

The first process ("ours") starts the second ("the network") with one end of a socketpair;
before the start-up circuit reset is acknowledged a call fails with cause 41 ("not ready");
once ready we call 2001 from 1390, which the network answers, and we clear; then the network
calls 8000 from 13800138000, we answer, it clears. Exit status 0 when every step happened as
expected. CI runs it (tests/test_ss7_integrating.py).
"""
from __future__ import annotations

import argparse
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # run from a checkout

from cti.signaling.runner import Runner
from cti.signaling.trunk import TrunkError

#: both ends: CICs 1..30 on the 30 voice timeslots (TS16 carries the link), emergency
#: alignment (0.5 s proving) so the example starts at once
COMMON: dict[str, Any] = {"variant": "itu", "ni": 2, "emergency": True, "cic_numbering": "sequential"}
OURS = {**COMMON, "opc": "1-100-1", "dpc": "1-100-2"}
NETWORK = {**COMMON, "opc": "1-100-2", "dpc": "1-100-1"}


def ours(log: list[str]) -> int:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    peer = subprocess.Popen([sys.executable, __file__, "--network", str(b.fileno())], pass_fds=(b.fileno(),))
    b.close()
    runner = Runner.ss7(a, OURS)
    try:
        try:
            runner.make_call("2001", "1390")              # the link is not even aligned yet
            log.append("ours: a call before readiness was accepted")
        except TrunkError as e:
            log.append(f"ours: too early, cause {e.cause} ({str(e).split(':')[0]})")
        runner.wait_ready(timeout=30)                     # link in service, our GRS acknowledged
        log.append("ours: ready")
        call = runner.make_call("2001", "1390")
        call.wait_answered(timeout=20)
        log.append(f"ours: {call.called} answered on {call.circuit}")
        runner.run(0.5)
        call.release()
        rel = call.wait_released(timeout=10)
        log.append(f"ours: released, cause {rel.cause}")
        inc = runner.wait_incoming(timeout=30)
        if inc is None:
            log.append("ours: no call from the network")
            return 1
        log.append(f"ours: incoming {inc.calling} -> {inc.called}")
        inc.answer()
        rel = inc.wait_released(timeout=30)
        log.append(f"ours: the network cleared, cause {rel.cause}")
        runner.run(0.2)                                   # our RLC goes out before we hang up
        unexpected = runner.counters["UnexpectedMessage"]
        ok = (call.called, inc.called, inc.calling, rel.remote, unexpected) == ("2001", "8000", "13800138000", True, 0)
        return 0 if ok else 1
    finally:
        a.close()
        if peer.wait(timeout=30) != 0:
            log.append(f"the network process failed: {peer.returncode}")


def network(fd: int) -> int:
    """The second process: an SS7 trunk playing the far exchange on the same link."""
    sock = socket.socket(fileno=fd)
    runner = Runner.ss7(sock, NETWORK)
    inc = runner.wait_incoming(timeout=30)
    if inc is None or (inc.called, inc.calling) != ("2001", "1390"):
        return 1
    inc.alert()
    inc.answer()
    inc.wait_released(timeout=30)
    call = runner.make_call("8000", "13800138000")
    call.wait_answered(timeout=20)
    runner.run(0.5)
    call.release()
    call.wait_released(timeout=10)
    trunk: Any = runner.adapters[0]
    runner.run_until(lambda: all(t.closed for t in trunk.transports), timeout=30)   # ours hangs up
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--network", type=int, metavar="FD", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.network is not None:
        sys.exit(network(args.network))
    lines: list[str] = []
    status = ours(lines)
    print("\n".join(lines))
    print("ok" if status == 0 else "FAILED")
    sys.exit(status)
