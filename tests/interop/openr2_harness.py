"""Test harness: libopenr2 on one end of a channel (tests/interop/openr2_peer.c), our No1Trunk on the other.

Not collected by pytest (no test_ prefix); imported by test_interop_openr2.py.
"""
from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

from cti.signaling.no1.config import No1Config
from cti.signaling.no1.trunk import No1Trunk
from drivers.base import ALAW_SILENCE, BLOCK_OCTETS, Alarm, AudioBlock, Counters, Span, SpanConfig, check_abcd

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "openr2_peer.c"
TS = 1
STEP = 0.02


def build(out_dir: Path) -> Path | str:
    """Compile the peer; the path, or a reason string when it cannot be built here."""
    if not shutil.which("gcc"):
        return "gcc not installed"
    if not Path("/usr/include/openr2.h").exists():
        return "libopenr2-dev headers missing (/usr/include/openr2.h)"
    lib = [p for p in ("/usr/lib/x86_64-linux-gnu/libopenr2.a", "/usr/lib/aarch64-linux-gnu/libopenr2.a",
                       "/usr/lib/libopenr2.a", "/usr/local/lib/libopenr2.a") if Path(p).exists()]
    if not lib:
        return "libopenr2 static library (libopenr2-dev) missing"
    exe = out_dir / "openr2_peer"
    cmd = ["gcc", "-O1", "-o", str(exe), str(SOURCE),
           "-Wl,--wrap=ioctl,--wrap=read,--wrap=write,--wrap=gettimeofday", lib[0], "-lm", "-lpthread"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        return f"openr2_peer did not build: {res.stderr[-800:]}"
    return exe


class PeerSpan(Span):
    """One-timeslot span whose far end is the openr2 peer (CAS and A-law blocks per tick)."""

    def __init__(self) -> None:
        self.number = 0
        self.config = SpanConfig()
        self.rx_cas = 0b1001
        self.tx_cas = 0b1001
        self._blocks: list[AudioBlock] = []
        self._out = bytearray()
        self.alarm = Alarm.NONE

    def _read_audio(self, timeslots):
        return self._blocks.pop(0) if self._blocks else None

    def _write_audio(self, ts: int, alaw: bytes) -> None:
        self._out += alaw

    def cas(self, ts: int) -> int:
        return self.rx_cas

    def set_cas(self, ts: int, abcd: int) -> None:
        self.tx_cas = check_abcd(abcd)

    def hdlc(self, ts: int = 16):
        raise NotImplementedError("no HDLC on the openr2 interop span")

    @property
    def alarms(self) -> Alarm:
        return self.alarm

    @property
    def counters(self) -> Counters:
        return Counters()

    def take_block(self) -> bytes:
        chunk = bytes(self._out[:BLOCK_OCTETS])
        del self._out[:BLOCK_OCTETS]
        return chunk + bytes([ALAW_SILENCE]) * (BLOCK_OCTETS - len(chunk))


class OpenR2Call:
    """Lockstep run: openr2 peer process <-> PeerSpan <-> No1Trunk, 20 ms per tick."""

    def __init__(self, exe: Path, config: dict, max_ani: int = 10, max_dnis: int = 4, variant: str = "CN",
                 verbose: bool = False) -> None:
        r1, w1 = os.pipe()   # test -> peer
        r2, w2 = os.pipe()   # peer -> test
        self.proc = subprocess.Popen([str(exe), str(r1), str(w2), str(max_ani), str(max_dnis), variant,
                                      "1" if verbose else "0"], pass_fds=(r1, w2),
                                     stderr=None if verbose else subprocess.DEVNULL)
        os.close(r1)
        os.close(w2)
        self.to_peer = os.fdopen(w1, "wb", buffering=0)
        self.from_peer = os.fdopen(r2, "rb", buffering=0)
        self.span = PeerSpan()
        self.trunk = No1Trunk(self.span, No1Config.from_dict({"timeslots": [TS], **config}))
        self.t = 0.0
        self.peer_events: list[str] = []
        self.events: list = []
        self.peer_cas_log: list[int] = []
        self.trunk.service(self.t)

    def _read(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.from_peer.read(n - len(buf))
            if not chunk:
                raise RuntimeError(f"openr2 peer exited (rc={self.proc.poll()})")
            buf += chunk
        return buf

    def tick(self, cmd: bytes = b"\0", args: bytes = b"") -> list[str]:
        frame = b"T" + bytes([self.span.tx_cas, cmd[0], len(args)]) + args + self.span.take_block()
        self.to_peer.write(frame)
        hdr = self._read(4)
        if hdr[:1] != b"R":
            raise RuntimeError(f"bad reply from openr2 peer: {hdr!r}")
        evlen = struct.unpack("<H", hdr[2:4])[0]
        text = self._read(evlen).decode()
        audio = self._read(BLOCK_OCTETS)
        if hdr[1] != self.span.rx_cas:
            self.peer_cas_log.append(hdr[1])
        self.span.rx_cas = hdr[1] & 0xF or 0b1001
        self.span._blocks.append(AudioBlock(0, (TS,), audio, self.t))
        self.t = round(self.t + STEP, 6)
        self.events += self.trunk.service(self.t)
        ev = [line for line in text.split("\n") if line]
        self.peer_events += ev
        return ev

    def run(self, seconds: float, until=None) -> None:
        for _ in range(round(seconds / STEP)):
            self.tick()
            if until is not None and until():
                return

    def command(self, cmd: str, args: str = "") -> None:
        self.tick(cmd.encode(), args.encode())

    def kinds(self) -> list[str]:
        return [type(e).__name__ for e in self.events]

    def close(self) -> None:
        try:
            self.to_peer.write(b"Q")
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.to_peer.close()
        self.from_peer.close()
