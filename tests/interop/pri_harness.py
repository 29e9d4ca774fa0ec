"""Interop harness: libpri (tests/interop/libpri_peer.c, built here with gcc) at one end of a
PRI D channel, this project's PriTrunk at the other, over a SOCK_SEQPACKET socketpair carrying
one LAPD frame + 2 FCS octets per datagram (libpri's DAHDI framing), in real time."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers
import ss7_harness

from cti.signaling.pri.pcap import LapdPcapWriter
from cti.signaling.pri.trunk import PriTrunk
from cti.signaling.ss7.transport import SeqpacketTransport

HERE = Path(__file__).resolve().parent


def missing() -> str | None:
    """Why the libpri interop cannot run here, or None."""
    return peers.missing("libpri.h", "libpri-dev")


def build_peer() -> Path:
    """libpri_peer.c, built once (rebuilt when the source is newer)."""
    return peers.build("libpri_peer", "pri")


class Rig(ss7_harness.Rig):
    """Our PriTrunk (``side``) + the libpri process on the other side of the D channel."""

    def __init__(self, pcap: Path, side: str = "user", drop=None, config: dict | None = None,
                 overlap: bool = False) -> None:
        import os
        import selectors
        import socket
        import time
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.trunk = PriTrunk([], {"side": side, **(config or {})}, transports=[])
        self.stack = self.trunk.stacks[0]
        self.pcap = LapdPcapWriter(str(pcap), side == "network")
        self.transport = SeqpacketTransport(a, self.stack, self.pcap, drop=drop, verify_fcs=False)
        self.trunk.transports = [self.transport]
        args = [str(build_peer()), "peer", str(b.fileno()), "cpe" if side == "network" else "net"]
        args += ["overlap"] if overlap else []
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     pass_fds=[b.fileno()], text=True, bufsize=1)
        b.close()
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)
        self.peer_lines: list[str] = []
        self.events: list = []
        self._buf = ""
        self.t0 = time.monotonic()

    def line(self, prefix: str) -> str:
        return next(ln for ln in self.peer_lines if ln.startswith(prefix))


def check_tshark(path: str) -> str:
    """tshark's summary of a capture; fails on malformed packets or warnings."""
    if shutil.which("tshark") is None:
        return ""
    out = subprocess.run(["tshark", "-r", path], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    bad = subprocess.run(["tshark", "-r", path, "-Y", "_ws.malformed || _ws.expert.severity >= warning"],
                         capture_output=True, text=True, timeout=60).stdout
    assert bad.strip() == "", bad
    return out.stdout
