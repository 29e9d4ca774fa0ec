"""Interop harness: libss7 (tests/interop/libss7_peer.c, built here with gcc) as one signalling
point, this project's Ss7Trunk as the other, over a SOCK_SEQPACKET socketpair in real time."""
from __future__ import annotations

import os
import selectors
import socket
import subprocess
import time
from pathlib import Path

import peers

from cti.signaling.ss7.config import Ss7Config
from cti.signaling.ss7.trunk import Ss7Trunk

HERE = Path(__file__).resolve().parent
OUR_PC, THEIR_PC = 0x123, 0x456


def missing() -> str | None:
    """Why the libss7 interop cannot run here, or None."""
    return peers.missing("libss7.h", "libss7-dev")


def build_peer() -> Path:
    """libss7_peer.c, built once (rebuilt when the source is newer)."""
    return peers.build("libss7_peer", "ss7")


class Rig:
    """Our trunk + the libss7 process; :meth:`run` services both until a condition holds."""

    def __init__(self, pcap: Path, drop=None, config: dict | None = None, ansi: bool = False) -> None:
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        cfg = {"opc": OUR_PC, "dpc": THEIR_PC, "emergency": True, **(config or {})}
        self.trunk = Ss7Trunk([], Ss7Config.from_dict({**cfg, "pcap": str(pcap)}), sockets=[a],
                              socket_options={"drop": drop, "verify_fcs": False})
        self.pcap = self.trunk.pcap
        self.transport = self.trunk.transports[0]
        args = [str(build_peer()), "peer", str(b.fileno()), str(THEIR_PC), str(OUR_PC)] + (["ansi"] if ansi else [])
        self.proc = subprocess.Popen(args,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     pass_fds=[b.fileno()], text=True, bufsize=1)
        b.close()
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)
        self.peer_lines: list[str] = []
        self.events: list = []
        self._buf = ""
        self.t0 = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self.t0

    def send(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def step(self) -> None:
        self.events += self.trunk.service(self.now())
        for _key, _ in self.sel.select(timeout=0.002):
            data = self.proc.stdout.read()
            if data:
                self._buf += data
                *lines, self._buf = self._buf.split("\n")
                self.peer_lines += [ln for ln in lines if ln]
        self.events += self.trunk.service(self.now())

    def run(self, until, timeout: float = 10.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.step()
            if until():
                return True
        return False

    def saw(self, prefix: str) -> bool:
        return any(ln.startswith(prefix) for ln in self.peer_lines)

    def close(self) -> None:
        try:
            self.send("quit")
        except (BrokenPipeError, OSError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.transport.sock.close()
        self.pcap.close()
