"""The Node.js bus client (docs/examples/node): CURVE, msgpack, resume by seq, a request.

npm installs its two packages (zeromq, @msgpack/msgpack) from the npm registry into a cache
directory the first time; the test skips only when node or npm is missing."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import pytest

from cti.bus.auth import Security
from cti.bus.commands import _check
from cti.bus.server import Limits
from cti.cli.keys import generate_client, generate_server
from cti.gateway.rig import BusThread

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
EXAMPLE = os.path.join(ROOT, "docs", "examples", "node")
NODE, NPM = shutil.which("node"), shutil.which("npm")
pytestmark = [pytest.mark.interop,        # an independent implementation: libzmq's Node binding, from npm
              pytest.mark.skipif(not (NODE and NPM), reason="node and npm are not installed (Debian: nodejs npm)")]


@pytest.fixture(scope="module")
def client_dir() -> str:
    """docs/examples/node with its packages installed (cached between runs)."""
    cache = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "e1cti-node-client")
    os.makedirs(cache, exist_ok=True)
    shutil.copy(os.path.join(EXAMPLE, "package.json"), cache)
    shutil.copy(os.path.join(EXAMPLE, "bus-client.mjs"), cache)
    if not os.path.isdir(os.path.join(cache, "node_modules", "zeromq")) or \
            not os.path.isdir(os.path.join(cache, "node_modules", "@msgpack", "msgpack")):
        r = subprocess.run([NPM, "install", "--no-audit", "--no-fund"], cwd=cache, capture_output=True, text=True,
                           timeout=600)
        assert r.returncode == 0, f"npm install failed:\n{r.stdout}\n{r.stderr}"
    return cache


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> str:
    d = str(tmp_path_factory.mktemp("keys"))
    generate_server(d)
    generate_client(d, "crm", "integrator")
    generate_client(d, "alice", "agent", "2001", "blue")
    return d


def ev(i: int) -> dict:
    return {"type": "Delivered", "topic": "call.0.1", "call": str(i), "device": "2001", "devices": ["2001"]}


def node(client_dir: str, bus: BusThread, keys: str, account: str, *args: str, timeout: float = 60) -> list[dict]:
    assert bus.endpoints is not None
    cmd = [NODE, "bus-client.mjs", "--events", bus.endpoints.events, "--snapshot", bus.endpoints.snapshot,
           "--control", bus.endpoints.control, "--key", os.path.join(keys, f"{account}.key_secret"),
           "--server-key", os.path.join(keys, "server.key"), *args]
    r = subprocess.run(cmd, cwd=client_dir, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def test_node_client_resumes_over_curve_without_gap_or_duplicate(client_dir, keys, tmp_path):
    def setup(b):
        def answer(account, req, _t):
            _check(b, account, [req.device or ""], "AnswerCall")
            return {"call": req.call}
        b.register_command("AnswerCall", answer)

    bus = BusThread(str(tmp_path / "j.db"), Security.curve(keys), Limits(rate=1e6, burst=1e6), setup=setup).start()
    try:
        bus.publish([ev(i) for i in range(1, 201)])
        while bus.seq < 200:
            time.sleep(0.01)
        # resume after 50 while more events arrive: replay from the journal, then live
        assert bus.endpoints is not None
        proc = subprocess.Popen([NODE, "bus-client.mjs", "--events", bus.endpoints.events, "--snapshot",
                                 bus.endpoints.snapshot, "--control", bus.endpoints.control,
                                 "--key", os.path.join(keys, "crm.key_secret"),
                                 "--server-key", os.path.join(keys, "server.key"),
                                 "--after", "50", "--count", "250", "--state", str(tmp_path / "crm.seq")],
                                cwd=client_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        bus.pace(100, 500.0, lambda i: ev(1000 + i))
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        lines = [json.loads(x) for x in out.splitlines()]
        seqs = [e["seq"] for e in lines if "seq" in e]
        assert seqs == list(range(51, 301))
        assert lines[-1] == {"done": True, "last": 300}
        assert (tmp_path / "crm.seq").read_text() == "300"
        # the state file resumes the next run where this one stopped
        bus.publish([ev(i) for i in range(301, 311)])
        while bus.seq < 310:
            time.sleep(0.01)
        again = node(client_dir, bus, keys, "crm", "--state", str(tmp_path / "crm.seq"), "--count", "10")
        assert [e["seq"] for e in again if "seq" in e] == list(range(301, 311))
        # a request with a typed reply; the agent's rights are the bus's
        assert node(client_dir, bus, keys, "alice", "--request",
                    json.dumps({"type": "AnswerCall", "call": "7", "device": "2001"})) == [{"result": {"call": "7"}}]
        denied = node(client_dir, bus, keys, "alice", "--request",
                      json.dumps({"type": "AnswerCall", "call": "7", "device": "2002"}))
        assert denied[0]["error"]["code"] == "PrivilegeViolationError"
    finally:
        bus.stop()
