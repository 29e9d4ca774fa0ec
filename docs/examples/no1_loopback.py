"""Worked example (docs/integrating.md): our China No.1 stack on a span of your own making,
talking to a second process over a socket.

Each process owns one :class:`SocketSpan` — a :class:`cti.signaling.trunk.CasSpan` that a card
or peer integration would write: CAS bits and 20 ms A-law blocks both ways, alarms — and runs
a No.1 trunk on it with the ready-made :class:`cti.signaling.runner.Runner`. The two spans
exchange one frame per 20 ms tick (every timeslot's abcd bits and audio) in lockstep, so time
is virtual and the run is exact: what a real card does with its frame interrupt.

    python docs/examples/no1_loopback.py          # ours: calls the peer, then takes its call

The first process ("ours") starts the second ("the network") with one end of a socketpair;
it calls 2001, which the network answers; we clear; then the network calls 8000 from
13800138000, we answer, it clears. Exit status 0 when every step happened as expected.
CI runs it (tests/test_no1_integrating.py).
"""
from __future__ import annotations

import argparse
import socket
import struct
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # run from a checkout

from cti.signaling.runner import Runner
from cti.signaling.trunk import CasSpan
from drivers.base import BLOCK_OCTETS, BLOCK_SECONDS, VOICE_TIMESLOTS, Alarm, AudioBlock

SILENCE = b"\xd5" * BLOCK_OCTETS            #: A-law silence
IDLE_CN = 0b1011                            #: a,b = 10 idle, c,d = 11 (China)
FRAME = struct.Struct(f"32s{len(VOICE_TIMESLOTS) * BLOCK_OCTETS}s")
TIMESLOTS = [1, 2]                          #: the circuits this example signals on


class SocketSpan:
    """One E1 span whose far end is a peer process on a stream socket, one frame per tick."""

    def __init__(self, sock: socket.socket, number: int = 0) -> None:
        self.sock = sock
        self.number = number
        self.t = 0.0
        self._debt = 0.0
        self._tx_cas = bytearray([IDLE_CN] * 32)
        # until the far end's first frame arrives its bits are unknown: report idle, never 0000
        # (a,b = 00 would be a seizure on every circuit)
        self._rx_cas = bytes([IDLE_CN] * 32)
        self._tx_audio: dict[int, bytes] = {}
        self._rx_block: AudioBlock | None = None
        self.closed = False

    # ---- CasSpan ----
    def cas(self, ts: int) -> int:
        return self._rx_cas[ts] & 0xF

    def set_cas(self, ts: int, abcd: int) -> None:
        self._tx_cas[ts] = abcd & 0xF

    @property
    def alarms(self) -> Alarm:
        return Alarm.LOS if self.closed else Alarm(0)      # the peer is gone: loss of signal

    def read_audio(self, timeslots: object = None) -> AudioBlock | None:
        blk, self._rx_block = self._rx_block, None
        return blk

    def write_audio(self, ts: int, alaw: bytes) -> None:
        self._tx_audio[ts] = bytes(alaw[:BLOCK_OCTETS]).ljust(BLOCK_OCTETS, SILENCE[:1])

    # ---- the clock: one frame each way per 20 ms ----
    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self._debt += seconds
        while self._debt >= BLOCK_SECONDS - 1e-9:
            self._debt -= BLOCK_SECONDS
            self.tick()

    def tick(self) -> None:
        self.t = round(self.t + BLOCK_SECONDS, 6)
        if self.closed:
            return
        audio = b"".join(self._tx_audio.pop(ts, SILENCE) for ts in VOICE_TIMESLOTS)
        try:
            self.sock.sendall(FRAME.pack(bytes(self._tx_cas), audio))
            data = self._recv(FRAME.size)
        except OSError:
            data = None
        if data is None:
            self.closed = True
            return
        cas, audio = FRAME.unpack(data)
        self._rx_cas = cas
        self._rx_block = AudioBlock(self.number, VOICE_TIMESLOTS, audio, self.t)

    def _recv(self, n: int) -> bytes | None:
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return bytes(buf)


def ours(log: list[str]) -> int:
    a, b = socket.socketpair()
    peer = subprocess.Popen([sys.executable, __file__, "--network", str(b.fileno())], pass_fds=(b.fileno(),))
    b.close()
    span = SocketSpan(a)
    assert isinstance(span, CasSpan)
    runner = Runner.no1(span, {"timeslots": TIMESLOTS}, clock=span.now, advance=span.advance)
    try:
        call = runner.make_call("2001", "1390")
        call.wait_answered(timeout=20)
        log.append(f"ours: {call.called} answered at {call.answered_at:.2f} s")
        runner.run(1.0)
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
        ok = (call.called, inc.called, inc.calling, rel.remote) == ("2001", "8000", "13800138000", True)
        return 0 if ok else 1
    finally:
        a.close()
        if peer.wait(timeout=30) != 0:
            log.append(f"the network process failed: {peer.returncode}")


def network(fd: int) -> int:
    """The second process: a No.1 trunk playing the network side of the same span."""
    span = SocketSpan(socket.socket(fileno=fd))
    runner = Runner.no1(span, {"timeslots": TIMESLOTS, "glare": "hold", "hunt": "ascending", "dnis_length": 4},
                        clock=span.now, advance=span.advance)
    inc = runner.wait_incoming(timeout=30)
    if inc is None or inc.called != "2001":
        return 1
    inc.answer()
    inc.wait_released(timeout=30)
    runner.run(0.5)
    call = runner.make_call("8000", "13800138000")
    call.wait_answered(timeout=20)
    runner.run(1.0)
    call.release()
    call.wait_released(timeout=10)
    runner.run_until(lambda: span.closed, timeout=30)        # until ours hangs up the socket
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
