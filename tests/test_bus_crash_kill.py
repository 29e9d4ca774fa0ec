"""A bus server process killed with SIGKILL mid-stream never reuses a seq, and says what it lost.

A publisher process (BusServer on a SQLite file) is driven over stdin; a subscriber in this
process records every event it receives. The publisher is killed (SIGKILL) twice: once right
after events it sent but never handed to the journal (deterministic loss), once in a
continuous stream (wherever it is). After each restart the subscriber resumes after the last
seq it saw. Checked: no seq is ever seen with two different events; every seq seen before a
crash is in the journal identically or inside a declared gap (JournalGap); each resumed
stream is gap-free except for declared gaps; a clean stop leaves no gap event.
"""
from __future__ import annotations

import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import pytest

from cti.bus.client import BusClient
from cti.bus.codec import unpack_event
from cti.bus.server import Endpoints
from cti.store import open_store

pytestmark = pytest.mark.system

ROOT = pathlib.Path(__file__).resolve().parent.parent

PUBLISHER = r"""
import sys, threading, queue
from cti.bus.server import BusServer, Endpoints
from cti.store import open_store
path, run, ev, sn, ct = sys.argv[1:6]
bus = BusServer(open_store(path), endpoints=Endpoints(ev, sn, ct)).start()
print("ready", bus.seq, bus.gap[0] if bus.gap else 0, bus.gap[1] if bus.gap else 0, flush=True)
cmds = queue.Queue()
threading.Thread(target=lambda: [cmds.put(l.split()) for l in sys.stdin], daemon=True).start()
n = 0
def note():
    global n
    n += 1
    bus.publish({"type": "Note", "topic": "note", "run": run, "n": n})
streaming = False
while True:
    try:
        cmd = cmds.get_nowait()
    except queue.Empty:
        cmd = None
    if cmd and cmd[0] == "journaled":          # publish, hand to the journal, wait until written
        for _ in range(int(cmd[1])):
            note()
        bus.flush(); bus.store.commit()
        print("ok", bus.seq, flush=True)
    elif cmd and cmd[0] == "loose":            # publish and never flush: sent, not journaled
        for _ in range(int(cmd[1])):
            note()
        print("ok", bus.seq, flush=True)
        threading.Event().wait()
    elif cmd and cmd[0] == "stream":
        streaming = True
    elif cmd and cmd[0] == "stop":
        bus.close(); bus.store.close()
        print("closed", flush=True)
        sys.exit(0)
    if streaming:
        for _ in range(50):
            note()
    bus.poll(1)                                # serves replays, hands rows to the journal
"""


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


RUNNING: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _reap():
    yield
    for p in RUNNING:
        if p.poll() is None:
            p.kill()
            p.wait(10)
    RUNNING.clear()


class Publisher:
    def __init__(self, path: str, run: str, eps: Endpoints, twin: bool = False) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        if twin:
            env["BOARDCORE_NO_EXTENSIONS"] = "1"
        self.proc = subprocess.Popen([sys.executable, "-c", PUBLISHER, path, run, eps.events, eps.snapshot,
                                      eps.control], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=env, cwd=str(ROOT))
        RUNNING.append(self.proc)
        words = self.line().split()
        assert words[0] == "ready", words
        self.seq, self.gap = int(words[1]), (int(words[2]), int(words[3]))

    def line(self) -> str:
        out = self.proc.stdout.readline()
        assert out, f"publisher exited ({self.proc.poll()})"
        return out

    def send(self, cmd: str) -> None:
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


class Recorder:
    """The subscriber's memory: every event by seq, and each subscription's stream."""

    def __init__(self, eps: Endpoints) -> None:
        self.eps = eps
        self.seen: dict[int, dict] = {}
        self.last = 0
        self.streams: list[list[dict]] = []
        self.gaps: list[tuple[int, int]] = []
        self.undeclared: list[tuple[int, int]] = []
        self.sub = None

    def resume(self) -> None:
        """A new subscription after the last seq seen (what a restarted CRM does)."""
        self.close()
        self.client = BusClient(self.eps, timeout=5.0)
        self.sub = self.client.subscribe(after=self.last)

    def close(self) -> None:
        if self.sub is not None:
            self.gaps += self.sub.gaps
            self.undeclared += self.sub.undeclared
            self.sub.close()
            self.client.close()
            self.sub = None

    def take(self, until: int | None = None, count: int | None = None, quiet: float = 1.0) -> list[dict]:
        """Record events until seq ``until``, ``count`` events, or ``quiet`` seconds without one."""
        got: list[dict] = []
        end = time.monotonic() + 30.0
        while time.monotonic() < end:
            e = self.sub.get(quiet)
            if e is None:
                break
            s = e["seq"]
            assert self.seen.setdefault(s, e) == e, f"seq {s} seen as two different events"
            got.append(e)
            self.last = s
            if (until is not None and s >= until) or (count is not None and len(got) >= count):
                break
        self.streams.append(got)
        return got


def _gap_free_but_declared(stream: list[dict], after: int) -> None:
    expect = after + 1
    for e in stream:
        if e["seq"] != expect:
            assert e["type"] == "JournalGap" and e["first"] <= expect and e["last"] == e["seq"] - 1, \
                f"undeclared gap before seq {e['seq']} (expected {expect})"
        expect = e["seq"] + 1


@pytest.mark.timeout(120)
def test_sigkilled_bus_server_never_reuses_a_seq_and_declares_what_it_lost(tmp_path):
    path = str(tmp_path / "bus.db")
    eps = Endpoints(*(f"tcp://127.0.0.1:{p}" for p in _free_ports(3)))
    rec = Recorder(eps)

    # run 1: 2000 journaled, 500 sent and never journaled, then SIGKILL
    p1 = Publisher(path, "1", eps)
    assert p1.gap == (0, 0) and p1.seq == 0
    rec.resume()
    p1.send("journaled 2000")
    assert p1.line().split() == ["ok", "2000"]
    rec.take(until=2000)
    p1.send("loose 500")
    assert p1.line().split() == ["ok", "2500"]
    rec.take(until=2500)
    assert rec.last == 2500
    p1.kill()
    rec.close()

    # run 2 (the Python twins): declares 2001..R1, the subscriber resumes after 2500; killed mid-stream
    p2 = Publisher(path, "2", eps, twin=True)
    first, r1 = p2.gap
    assert first == 2001 and r1 >= 2500 and p2.seq == r1 + 1
    before = rec.last
    rec.resume()
    p2.send("stream")
    s2 = rec.take(count=3000)
    assert s2[0]["type"] == "JournalGap" and s2[0]["seq"] == r1 + 1 and (s2[0]["first"], s2[0]["last"]) == (2001, r1)
    _gap_free_but_declared(s2, before)
    p2.kill()
    rec.close()
    assert rec.last > r1 + 2000

    # run 3: the stream resumes after whatever the subscriber saw; then a clean stop
    p3 = Publisher(path, "3", eps)
    l2, r2 = p3.gap
    assert l2 >= r1 + 1 and r2 >= rec.last and p3.seq == r2 + 1    # run 2's gap starts after its journal
    before = rec.last
    rec.resume()
    p3.send("journaled 100")
    assert p3.line().split()[0] == "ok"
    s3 = rec.take(until=r2 + 101)
    _gap_free_but_declared(s3, before)
    assert [e for e in s3 if e["type"] == "JournalGap"] == [rec.seen[r2 + 1]]
    rec.close()
    p3.send("stop")
    assert p3.line().strip() == "closed" and p3.proc.wait(10) == 0

    # run 4 after the clean stop: no gap, seq continues at once
    p4 = Publisher(path, "4", eps)
    assert p4.gap == (0, 0) and p4.seq == r2 + 101
    before = rec.last
    rec.resume()
    p4.send("journaled 10")
    p4.line()
    s4 = rec.take(until=r2 + 111)
    assert [e["seq"] for e in s4] == list(range(before + 1, r2 + 112))
    assert all(e["type"] == "Note" and e["run"] == "4" for e in s4)
    rec.close()
    p4.send("stop")
    assert p4.line().strip() == "closed" and p4.proc.wait(10) == 0

    # the journal against everything the subscriber ever saw
    st = open_store(path)
    try:
        journal = {s: unpack_event(b) for s, b in st.events_after(0, 1_000_000)}
    finally:
        st.close()
    declared = [(e["first"], e["last"]) for e in journal.values() if e["type"] == "JournalGap"]
    assert declared == [(2001, r1), (l2, r2)]
    assert rec.gaps == declared and rec.undeclared == []
    lost = 0
    for s, e in rec.seen.items():
        if s in journal:
            assert journal[s] == e, f"seq {s}: the journal holds another event than was published"
        else:
            assert any(a <= s <= b for a, b in declared), f"seq {s} was seen, is not journaled, and no gap declares it"
            lost += 1
    assert lost >= 500                     # run 1's loose events at least: seen, lost, declared
    # every journaled seq is a seq that was published once: the journal has no seq twice, and its
    # holes are exactly the declared ranges
    holes, prev = [], 0
    for s in sorted(journal):
        if s != prev + 1:
            holes.append((prev + 1, s - 1))
        prev = s
    assert holes == declared
