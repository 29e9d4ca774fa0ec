"""Takeover of a network-attached card (issue 17 point 5): a ``cti-sim serve`` card (span 0
cross-connected to span 1) shared by two nodes; the SS7 network runs on span 1 as another
client. Node a holds the card's lease and answers calls; it is killed -9 under that load;
node b, waiting as standby, takes the lease, opens the card, resets every circuit towards
the network (SS7 GRS, PRI RESTART, No.1 idle line signals: clear-forward), and new calls are
answered again. Marked ``cluster`` and
``postgres``; prints the measured takeover times."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cluster_rig import Lines, pg_url_fixture  # noqa: F401  (the pg_url fixture)
from test_cluster_support import CARD_TTL

pytestmark = [pytest.mark.postgres, pytest.mark.cluster]
pytest.importorskip("psycopg", reason="psycopg not installed (pip install 'psycopg[binary]')")
ROOT = Path(__file__).resolve().parents[1]
SUPPORT = str(Path(__file__).with_name("test_cluster_support.py"))
RIG = str(Path(__file__).with_name("cluster_rig.py"))
SIM = """spans = 2
clock = "real"
cross_connect = [[0, 1]]
[[span]]
signalling = "{line}"
[[span]]
signalling = "{line}"
"""


def _card(tmp: Path, sig: str) -> tuple[subprocess.Popen[str], str]:
    """The served card, its log in ``tmp/card.log`` (a file, never an undrained pipe: a card
    blocked on a full stderr pipe stops the line)."""
    (tmp / "sim.toml").write_text(SIM.format(line="cas" if sig == "no1" else "ccs"))
    log = tmp / "card.log"
    with log.open("w") as f:
        p = subprocess.Popen([sys.executable, "-m", "cti.cli.sim", "serve", "--port", "0", "--config",
                              str(tmp / "sim.toml")], cwd=ROOT, stderr=f, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    end = time.monotonic() + 30
    while time.monotonic() < end and p.poll() is None:
        m = re.search(r"listening on ([\d.]+):(\d+)", log.read_text())
        if m:
            return p, f"socket://{m.group(1)}:{m.group(2)}"
        time.sleep(0.1)
    p.kill()
    raise AssertionError(f"cti-sim serve did not start: {log.read_text()[-2000:]}")


def _logged(args: list[str], log: Path) -> subprocess.Popen[str]:
    """``args`` run from the checkout, stdout piped to the test, stderr appended to ``log`` (the
    child keeps its own descriptor: ours is closed at once)."""
    with log.open("a") as err:
        return subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True)


def _node(name: str, url: str, pg: str, tmp: Path, sig: str) -> subprocess.Popen[str]:
    return _logged([sys.executable, SUPPORT, "--node", name, "--store", str(tmp / f"{name}.db"),
                    "--servers", '["nats://127.0.0.1:9"]', "--centre", pg, "--card", url,
                    "--card-signalling", sig, "--duration", "300"], tmp / f"{name}.log")


def _stop(procs: list[subprocess.Popen[str]], tmp: Path) -> None:
    """The processes' logs printed (shown when the test fails), then each stopped, last first."""
    for name in ("card", "a", "b", "net"):
        if (tmp / f"{name}.log").exists():
            print(f"--- {name}.log:", (tmp / f"{name}.log").read_text()[-3000:])
    for p in reversed(procs):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.mark.parametrize("sig", ["ss7", "pri", "no1"])
def test_standby_takes_over_a_killed_nodes_card_resets_circuits_and_calls_flow(pg_url: str, tmp_path: Path,
                                                                             sig: str) -> None:
    card, url = _card(tmp_path, sig)
    procs: list[subprocess.Popen[str]] = [card]
    try:
        a = _node("a", url, pg_url, tmp_path, sig)
        procs.append(a)
        la = Lines(a)
        assert la.wait("owner", 30).split()[1] == "1"
        b = _node("b", url, pg_url, tmp_path, sig)
        procs.append(b)
        lb = Lines(b)
        lb.wait("standby", 30)
        net = _logged([sys.executable, RIG, "network", url, "300", sig], tmp_path / "net.log")
        procs.append(net)
        ln = Lines(net)
        end = time.monotonic() + 40                      # a answers the network's calls
        while time.monotonic() < end and sum(1 for e in ln.json() if e.get("answered")) < 4:
            time.sleep(0.2)
        assert sum(1 for e in ln.json() if e.get("answered")) >= 4, ln.lines[-5:]
        assert not any(s.startswith("owner") for _, s in lb.lines)     # b never drove the card meanwhile
        killed = time.time()
        a.send_signal(signal.SIGKILL)
        a.wait(10)
        owner_b = lb.wait("owner", 20).split()
        assert owner_b[1] == "2"                                      # a new lease epoch
        took_lease = float(owner_b[2]) - killed
        end = time.monotonic() + 40
        while time.monotonic() < end and not [e for e in ln.json() if e.get("answered")
                                              and e["placed"] > killed + took_lease]:
            time.sleep(0.2)
        events = ln.json()
        ready_b = float(lb.wait("server-ready", 5).split()[1]) - killed    # b's GRS acknowledged, every circuit
        # the network saw the new owner reset the circuits: SS7 its GRS answered (and its own),
        # PRI the D channel up again (RESTART at start), No.1 the seized circuits idle (clear-forward)
        seized = [e for e in events if "call" in e and e["placed"] < killed < e["t"]]
        if sig == "ss7":
            assert any(e.get("reason") == "reset acknowledged" and e["t"] > killed for e in events)
        elif sig == "pri":
            ups = [e["t"] for e in events if e.get("reason") == "D channel up" and e["t"] > killed]
            assert ups, events[-10:]
            d_up = min(ups)
            # every call a held ends once b has the D channel: by b's RESTART, or, when the network's
            # DISCONNECT reaches b before its RESTART does, by RELEASE COMPLETE cause 81 (Q.931
            # 5.8.3.2: b does not know the call reference); never cleared before b came up
            assert all(e["cause"] != 81 or e["t"] >= d_up for e in seized), (d_up, seized)
        else:
            assert seized, events[-10:]                      # what a held when killed ended at the exchange
        after = [e for e in events if "call" in e and e["placed"] > killed + took_lease]
        flowed = [e for e in after if e["answered"] and e["cleared_by"] == "far"]
        assert flowed, (f"{time.time() - killed:.1f} s after the kill, lease taken after {took_lease:.1f} s; "
                        f"calls ended after it: {after}; the network's last lines: {ln.lines[-8:]}")
        first_call = min(e["t"] for e in flowed) - killed
        print(f"{sig}: calls up at the kill ended as {sorted({(e['outcome'], e['cause']) for e in seized})}")
        print(f"\n{sig} card takeover after kill -9 (lease {CARD_TTL} s): lease taken {took_lease:.2f} s, "
              f"circuits reset (ServerReady) {ready_b:.2f} s, first call placed after it answered and cleared {first_call:.2f} s")
        assert ready_b < 20.0
        assert took_lease < CARD_TTL + 2.0
    finally:
        _stop(procs, tmp_path)


def test_a_paused_owner_is_fenced_by_the_card_when_a_standby_takes_over(pg_url: str, tmp_path: Path) -> None:
    """The owner stopped (SIGSTOP) for longer than its lease: the standby takes the lease and
    claims the card with the new epoch (the wire protocol's OWNER), so the card closes the old
    owner's connection at once; woken, the old owner can no longer act on the line and stops
    (its lease lost: status 75), while the new owner runs on."""
    card, url = _card(tmp_path, "ss7")
    procs: list[subprocess.Popen[str]] = [card]
    a = None
    try:
        a = _node("a", url, pg_url, tmp_path, "ss7")
        procs.append(a)
        la = Lines(a)
        assert la.wait("owner", 30).split()[1] == "1"
        b = _node("b", url, pg_url, tmp_path, "ss7")
        procs.append(b)
        lb = Lines(b)
        lb.wait("standby", 30)
        net = _logged([sys.executable, RIG, "network", url, "300", "ss7"], tmp_path / "net.log")
        procs.append(net)
        Lines(net)                                        # its stdout drained
        la.wait("server-ready", 30)                       # the network acknowledged a's GRS
        a.send_signal(signal.SIGSTOP)
        assert lb.wait("owner", 20).split()[1] == "2"
        end = time.monotonic() + 20
        fenced = "lease epoch 2 claimed by"
        while time.monotonic() < end and fenced not in (tmp_path / "card.log").read_text():
            time.sleep(0.1)
        log = (tmp_path / "card.log").read_text()
        assert fenced in log and "closing the connection of epoch 1" in log, log[-2000:]
        a.send_signal(signal.SIGCONT)
        assert a.wait(20) == 75, (tmp_path / "a.log").read_text()[-2000:]
        lb.wait("server-ready", 30)
        assert b.poll() is None
    finally:
        if a is not None and a.poll() is None:
            a.send_signal(signal.SIGCONT)
        _stop(procs, tmp_path)
