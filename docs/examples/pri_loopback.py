"""Worked example (docs/integrating.md): our ISDN PRI stack (Q.921, Q.931) as the user side,
its D channel on a socket, talking to a second process that plays the network side.

The D channel is a SOCK_SEQPACKET socket carrying one LAPD frame plus its FCS per datagram —
what a DAHDI D-channel or a foreign card's HDLC driver gives — so any peer that speaks it can
take the second process's place. Each process runs a PRI trunk with the ready-made
:class:`cti.signaling.runner.Runner` on the real clock.

    python docs/examples/pri_loopback.py          # ours: the user side (CPE), the peer: network

The first process ("ours") starts the second ("the network") with one end of a socketpair;
before the D channel is up a call fails with cause 41 ("not ready"); once it is up we call
2001 from 1390, which the network answers, and we clear; then the network calls 8000 from
13800138000, we answer, it clears. Exit status 0 when every step happened as expected. CI
runs it (tests/test_pri_integrating.py).
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

#: the two ends of one interface: B channels on timeslots 1-15, 17-31, the D channel on TS16
OURS: dict[str, Any] = {"side": "user", "variant": "etsi"}
NETWORK: dict[str, Any] = {"side": "network", "variant": "etsi"}


def ours(log: list[str]) -> int:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    peer = subprocess.Popen([sys.executable, __file__, "--network", str(b.fileno())], pass_fds=(b.fileno(),))
    b.close()
    runner = Runner.pri(a, OURS)
    try:
        try:
            runner.make_call("2001", "1390")              # the link is not even aligned yet
            log.append("ours: a call before readiness was accepted")
        except TrunkError as e:
            log.append(f"ours: too early, cause {e.cause} ({str(e).split(':')[0]})")
        runner.wait_ready(timeout=30)                     # the D channel is up (Q.921 multiple frame)
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
        runner.run(0.2)                                   # our RELEASE COMPLETE goes out before we hang up
        ok = (call.called, inc.called, inc.calling, rel.remote) == ("2001", "8000", "13800138000", True)
        return 0 if ok else 1
    finally:
        a.close()
        if peer.wait(timeout=30) != 0:
            log.append(f"the network process failed: {peer.returncode}")


def network(fd: int) -> int:
    """The second process: a PRI trunk playing the network side of the same interface."""
    sock = socket.socket(fileno=fd)
    runner = Runner.pri(sock, NETWORK)
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
