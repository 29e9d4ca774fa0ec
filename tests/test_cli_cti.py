"""The command-line tools: cti-keys, cti-call, cti-monitor, cti-server, and the CRM example."""
from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import sys

import pytest
from click.testing import CliRunner

from cti.cli import call as call_cli
from cti.cli import keys as keys_cli
from cti.cli import monitor as monitor_cli
from cti.config import Config
from cti.cli.wiring import build_server
from cti.server import BackgroundServer

ROOT = pathlib.Path(__file__).resolve().parent.parent
ANY = "tcp://127.0.0.1:*"


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def env():
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    return e


@pytest.fixture
def server(tmp_path):
    cfg = Config.from_dict({"server": {"store": str(tmp_path / "cti.db")},
                            "bus": {"events": ANY, "snapshot": ANY, "control": ANY},
                            "board": {"driver": "loopback"}, "trunk": [{"signalling": "loop", "spans": [0]}]})
    srv = build_server(cfg).start()
    with BackgroundServer(srv):
        yield srv


def opts(srv):
    ep = srv.bus.endpoints
    return ["--events", ep.events, "--snapshot", ep.snapshot, "--control", ep.control]


def test_cti_keys(tmp_path):
    r = CliRunner()
    d = str(tmp_path / "k")
    assert r.invoke(keys_cli.main, ["server", d]).exit_code == 0
    assert r.invoke(keys_cli.main, ["server", d]).exit_code != 0            # no silent overwrite
    res = r.invoke(keys_cli.main, ["client", d, "alice", "--role", "agent", "--device", "8001", "--team", "s"])
    assert res.exit_code == 0 and "alice.key_secret" in res.output
    assert r.invoke(keys_cli.main, ["client", d, "eve", "--role", "agent"]).exit_code != 0
    out = r.invoke(keys_cli.main, ["list", d]).output
    assert "alice" in out and "agent" in out and "8001" in out
    assert oct(os.stat(os.path.join(d, "alice.key_secret")).st_mode & 0o777) == "0o600"


def test_cti_call_commands_and_errors(server):
    r = CliRunner()
    res = r.invoke(call_cli.main, [*opts(server), "make", "9000", "6601"])
    assert res.exit_code == 0, res.output
    call = json.loads(res.output)["call"]
    res = r.invoke(call_cli.main, [*opts(server), "hold", call])
    assert res.exit_code == 2 and "InvalidStateError" in res.output
    snap = json.loads(r.invoke(call_cli.main, [*opts(server), "snapshot"]).output)
    assert snap["calls"][0]["call"] == call
    res = r.invoke(call_cli.main, [*opts(server), "request", json.dumps({"type": "ClearConnection", "call": call})])
    assert res.exit_code == 0, res.output
    res = r.invoke(call_cli.main, [*opts(server), "events", "--after", "0", "--idle", "0.5"])
    types = [json.loads(line)["type"] for line in res.output.splitlines()]
    assert types[0] == "ServerStarted" and "Originated" in types and types[-1] == "CallCleared"
    res = r.invoke(call_cli.main, [*opts(server), "request", "[]"])
    assert res.exit_code != 0


@pytest.mark.system
def test_cti_monitor_once(server):
    server.call_soon(lambda: server.adapters[0].ring("8001", "13800138000", server.now()))
    res = CliRunner().invoke(monitor_cli.main, [*opts(server), "--once", "--duration", "0.8"])
    assert res.exit_code == 0, res.output
    assert "13800138000" in res.output and "8001" in res.output and "live calls (1)" in res.output


@pytest.mark.system
def test_crm_example_screen_pops_and_resumes(server, tmp_path):
    trunk = server.adapters[0]
    state = tmp_path / "crm.seq"
    cmd = [sys.executable, str(ROOT / "docs" / "examples" / "crm_client.py"), *opts(server)[:4],
           "--control", server.bus.endpoints.control, "--state", str(state), "--idle", "1.0"]

    def ring(called, calling):
        server.call_soon(lambda: trunk.ring(called, calling, server.now()))

    ring("8001", "13800138000")
    ring("8002", "19999999999")
    out1 = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env())
    assert out1.returncode == 0, out1.stderr
    assert "Li Wei (Huaxin Trading, account A-1001) - VIP" in out1.stdout
    assert "from 19999999999: unknown caller" in out1.stdout
    ring("8003", "13900001111")
    out2 = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env())
    assert out2.stdout.count("call ") == 1 and "Wang Fang" in out2.stdout      # resumed: no repeats


@pytest.mark.system
def test_cti_server_cli_demo_on_loopback(tmp_path):
    p = free_ports(3)
    eps = [f"tcp://127.0.0.1:{x}" for x in p]
    proc = subprocess.Popen([sys.executable, "-m", "cti.cli.server", "--board", "loopback", "--demo",
                             "--store", str(tmp_path / "d.db"), "--events", eps[0], "--snapshot", eps[1],
                             "--control", eps[2], "--duration", "4"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(), cwd=tmp_path)
    try:
        res = CliRunner().invoke(call_cli.main, ["--events", eps[0], "--snapshot", eps[1], "--control", eps[2],
                                                 "--timeout", "3", "events", "--after", "0", "--count", "6"])
        assert res.exit_code == 0, res.output
        types = [json.loads(line)["type"] for line in res.output.splitlines()]
        assert types[0] == "ServerStarted" and "Offered" in types
    finally:
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "PLAIN MODE" in err or "plain mode" in err


def test_cti_server_cli_rejects_bad_config(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[bus]\nsecurity = 'none'\n")
    proc = subprocess.run([sys.executable, "-m", "cti.cli.server", "-c", str(bad)], capture_output=True,
                          text=True, env=env(), timeout=30)
    assert proc.returncode != 0 and "bus.security" in proc.stderr
