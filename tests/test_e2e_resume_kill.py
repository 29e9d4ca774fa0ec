"""A subscriber process killed with SIGKILL mid-stream and restarted loses and repeats nothing.

The subscriber appends each event's seq to a file (its only state) and resumes after the
last complete line. The server keeps producing calls throughout.
"""
from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import threading
import time

import pytest

from cti.config import Config
from cti.cli.wiring import build_server
from cti.server import BackgroundServer

pytestmark = pytest.mark.system

ROOT = pathlib.Path(__file__).resolve().parent.parent
ANY = "tcp://127.0.0.1:*"

SUBSCRIBER = r"""
import os, sys
from cti.bus.client import BusClient
from cti.bus.server import Endpoints
path, ev, sn, ct, idle = sys.argv[1:6]
after = 0
if os.path.exists(path):
    lines = open(path).read().split("\n")
    done = [l for l in lines[:-1] if l]            # a line cut by the kill has no newline yet
    with open(path, "w") as f:
        f.write("".join(l + "\n" for l in done))
    after = int(done[-1]) if done else 0
with BusClient(Endpoints(ev, sn, ct)) as c, open(path, "a") as out:
    sub = c.subscribe(after=after)
    for e in sub.events(float(idle)):
        out.write(f"{e['seq']}\n")
        out.flush()
"""


def test_sigkilled_subscriber_resumes_without_gap_or_duplicate(tmp_path):
    cfg = Config.from_dict({"server": {"store": str(tmp_path / "cti.db")},
                            "bus": {"events": ANY, "snapshot": ANY, "control": ANY},
                            "board": {"driver": "loopback"}, "trunk": [{"signalling": "loop", "spans": [0]}]})
    srv = build_server(cfg).start()
    trunk = srv.adapters[0]
    stop = threading.Event()

    def produce() -> None:
        i = 0
        while not stop.is_set():
            def one(i=i):
                try:
                    circ = trunk.ring("8001", f"139{i:08d}", srv.now())
                    trunk.far_clear(circ, srv.now() + 0.05)
                except Exception:
                    pass
            srv.call_soon(one)
            i += 1
            time.sleep(0.004)

    out = tmp_path / "seqs.txt"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with BackgroundServer(srv):
        ep = srv.bus.endpoints
        args = [sys.executable, "-c", SUBSCRIBER, str(out), ep.events, ep.snapshot, ep.control]
        producer = threading.Thread(target=produce)
        producer.start()
        try:
            for delay in (1.0, 0.7, 0.9):
                p = subprocess.Popen(args + ["30"], env=env)
                time.sleep(delay)
                p.send_signal(signal.SIGKILL)
                p.wait()
                time.sleep(0.3)                  # events keep flowing while nobody listens
        finally:
            stop.set()
            producer.join()
        time.sleep(0.3)
        head = srv.bus.seq
        p = subprocess.run(args + ["1.5"], env=env, timeout=120)
        assert p.returncode == 0
    seqs = [int(x) for x in out.read_text().split()]
    assert len(seqs) >= 200, "the stream should have been busy"
    assert seqs == list(range(1, head + 1)), "missing or duplicated events after SIGKILL restarts"
