"""Accounts change without a restart (issue 19 section 3): cti-keys client / revoke on a
running server take effect within a second or two; a revoked account is cut off (requests,
watch, PUB stream); other clients carry on by seq; live calls are not touched."""
from __future__ import annotations

import os
import time

import pytest

from cti.bus.client import BusClient, ClientKeys
from cti.call.errors import CallControlError
from cti.cli.keys import generate_client, generate_server, revoke_client
from cti.cli.wiring import build_server
from cti.config import Config
from cti.server import BackgroundServer

ANY = "tcp://127.0.0.1:*"


def kfor(d: str, name: str) -> ClientKeys:
    return ClientKeys(os.path.join(d, f"{name}.key_secret"), os.path.join(d, "server.key"))


@pytest.fixture
def site(tmp_path):
    d = str(tmp_path / "keys")
    generate_server(d)
    generate_client(d, "crm", "integrator")
    generate_client(d, "wall", "integrator")
    cfg = Config.from_dict({"server": {"store": str(tmp_path / "j.db")},
                            "bus": {"events": ANY, "snapshot": ANY, "control": ANY, "security": "curve", "keys": d},
                            "board": {"driver": "loopback"}, "trunk": [{"signalling": "loop", "spans": [0]}]})
    srv = build_server(cfg).start()
    srv.adapters[0].ring("8001", "139", 0.0)          # a live call
    srv.step(0)
    with BackgroundServer(srv):
        yield srv, d


def _until(cond, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.system
def test_added_account_connects_revoked_one_is_cut_off_calls_stay(site):
    srv, d = site
    with BusClient(srv.bus.endpoints, keys=kfor(d, "crm"), timeout=1.0) as crm, \
            BusClient(srv.bus.endpoints, keys=kfor(d, "wall"), timeout=1.0) as wall:
        calls = crm.snapshot()["calls"]
        assert len(calls) == 1
        crm_sub, wall_sub = crm.subscribe(after=0), wall.subscribe(after=0)
        list(crm_sub.events(timeout=0.2))
        list(wall_sub.events(timeout=0.2))

        generate_client(d, "carol", "integrator")      # cti-keys client on the running server
        assert _until(lambda: srv.bus.counters["accounts_reloaded"] >= 1)
        with BusClient(srv.bus.endpoints, keys=kfor(d, "carol"), timeout=1.0) as carol:
            assert carol.snapshot()["calls"][0]["call"] == calls[0]["call"]

        revoke_client(d, "crm")                         # cti-keys revoke on the running server
        assert _until(lambda: srv.bus.counters["accounts_reloaded"] >= 2)
        with pytest.raises((TimeoutError, CallControlError)):
            crm.snapshot(timeout=0.5)                   # refused: no handshake, or an unknown account
        # the live call is untouched, and the other integrator carries on by seq (its PUB
        # connection was cut too and came back: a jump in seq, if any, is replayed)
        got: list[dict] = []
        srv.call_soon(lambda: srv.adapters[0].ring("8002", "140", srv.now()))
        for n in range(3, 25):          # more calls until the subscription has caught up with 8002:
            got += wall_sub.events(timeout=0.2)     # events PUB dropped while it reconnected come
            if any(e.get("called") == "8002" for e in got):     # back by replay at the next one
                break
            srv.call_soon(lambda n=n: srv.adapters[0].ring(f"80{n:02d}", "140", srv.now()))
        assert any(e.get("called") == "8002" for e in got) and wall_sub.undeclared == []
        seqs = [e["seq"] for e in got]
        assert seqs == sorted(set(seqs))
        # the revoked PUB subscriber gets nothing more
        late = []
        try:
            late = list(crm_sub.events(timeout=0.5))
        except (TimeoutError, CallControlError):
            pass
        assert not any(str(e.get("called") or "").startswith("80") and e.get("called") != "8001" for e in late)
        assert calls[0]["call"] in {c["call"] for c in wall.snapshot()["calls"]}


@pytest.mark.system
def test_a_broken_accounts_file_keeps_the_accounts_in_use(site):
    srv, d = site
    with open(os.path.join(d, "accounts.toml"), "a") as f:
        f.write("\n[accounts.x\nrole = \n")             # half-written / broken
    assert _until(lambda: srv.bus.counters["accounts_reload_failed"] >= 1)
    with BusClient(srv.bus.endpoints, keys=kfor(d, "crm"), timeout=1.0) as crm:
        assert len(crm.snapshot()["calls"]) == 1


@pytest.mark.system
def test_sighup_reloads_the_accounts_of_a_running_cti_server(tmp_path):
    """A revocation whose file change the server cannot see (mtime put back) still applies on SIGHUP."""
    import signal
    import socket
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    d = str(tmp_path / "keys")
    generate_server(d)
    generate_client(d, "crm", "integrator")
    generate_client(d, "wall", "integrator")
    ports = []
    for _ in range(3):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    eps = [f"tcp://127.0.0.1:{p}" for p in ports]
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "cti.cli.server", "--board", "loopback", "--no-demo",
                             "--store", str(tmp_path / "s.db"), "--events", eps[0], "--snapshot", eps[1],
                             "--control", eps[2], "--security", "curve", "--keys", d, "--duration", "20"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    from cti.bus.endpoints import Endpoints
    ep = Endpoints(*eps)
    try:
        with BusClient(ep, keys=kfor(d, "crm"), timeout=0.5) as crm, \
                BusClient(ep, keys=kfor(d, "wall"), timeout=0.5) as wall:
            assert _until(lambda: _answers(crm), 15.0)
            path = os.path.join(d, "accounts.toml")
            st = os.stat(path)
            revoke_client(d, "crm")
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))      # the file looks unchanged
            time.sleep(2.5)
            assert _answers(crm)                                       # no reload yet
            proc.send_signal(signal.SIGHUP)
            assert _until(lambda: not _answers(crm), 5.0)
            assert _answers(wall)
    finally:
        proc.terminate()
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate(timeout=10)
    assert "accounts reloaded: 0 added, 1 revoked (crm)" in err


def _answers(client: BusClient) -> bool:
    try:
        client.snapshot(timeout=0.5)
        return True
    except (TimeoutError, CallControlError):
        return False


def test_filewatch_sees_each_change_once_and_looks_only_when_due(tmp_path):
    from cti.bus.filewatch import FileWatch
    p = tmp_path / "accounts.toml"
    p.write_text("a")
    w = FileWatch(str(p), every=1.0, now=0.0)
    assert w.due() == 1.0 and not w.changed(0.5)
    p.write_text("bb")
    assert not w.changed(0.9)                       # not due yet
    assert w.changed(1.0) and not w.changed(2.0)    # once per change
    os.replace(str(p), str(tmp_path / "gone"))
    assert w.changed(3.0)                            # gone is a change too
    assert FileWatch(None).due() is None and not FileWatch(None).changed(99.0)
