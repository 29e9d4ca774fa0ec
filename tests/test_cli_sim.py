"""cti-sim: serve in a subprocess, conformance against it, config checking."""
from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import drivers
from cti.cli.sim import main


try:
    import _boardcore.hdlc  # noqa: F401
    HAVE_HDLC = True
except ImportError:
    HAVE_HDLC = False

ROOT = Path(__file__).resolve().parents[1]

CAS_ONLY = """
spans = 2
cross_connect = [[0, 1]]
[[span]]
framing = "crc4"
[[span]]
framing = "crc4"
"""


def start_server(tmp_path, clock: str):
    """`cti-sim serve --port 0` in a subprocess; returns (process, url)."""
    args = [sys.executable, "-m", "cti.cli.sim", "serve", "--port", "0", "--clock", clock]
    if not HAVE_HDLC:
        cfg = tmp_path / "sim.toml"
        cfg.write_text(CAS_ONLY)
        args += ["--config", str(cfg)]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    line = ""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], 0.5)
        if ready:
            line = proc.stderr.readline()
            m = re.search(r"listening on ([\d.]+):(\d+)", line)
            if m:
                return proc, f"socket://{m.group(1)}:{m.group(2)}"
            if not line and proc.poll() is not None:
                break
    proc.kill()
    raise AssertionError(f"cti-sim serve did not start: {line!r} {proc.stderr.read()!r}")


@pytest.fixture(params=["virtual", "real"])
def served(request, tmp_path):
    proc, url = start_server(tmp_path, request.param)
    yield request.param, url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:  # pragma: no cover
        proc.kill()


@pytest.mark.system
def test_conformance_passes_against_our_simulator(served):
    clock, url = served
    args = ["conformance", "--url", url, "--timeout", "10"]
    if clock == "real":   # real time: a representative subset keeps the run short
        args += ["--check", "check_hello", "--check", "check_ping", "--check", "check_cas_all_channels",
                 "--check", "check_audio_loopback", "--check", "check_garbage_survives"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "FAIL" not in result.output and " 0 failed" in result.output
    assert "PASS" in result.output and "CAS set/get all channels" in result.output


def test_conformance_fails_on_a_card_without_the_cable():
    from simulator.server import SimServer

    card = drivers.open("sim", spans=2)            # spans not wired back to back
    server = SimServer(card, port=0)
    port = server.start_in_thread()
    try:
        result = CliRunner().invoke(main, ["conformance", "--url", f"socket://127.0.0.1:{port}",
                                           "--check", "check_cas_all_channels", "--check", "check_ping"])
    finally:
        server.stop()
    assert result.exit_code == 1
    assert "FAIL" in result.output and "PASS" in result.output


def test_conformance_against_nothing_fails_cleanly():
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    result = CliRunner().invoke(main, ["conformance", "--url", f"socket://127.0.0.1:{port}"])
    assert result.exit_code == 1 and "cannot open" in result.output
    result = CliRunner().invoke(main, ["conformance", "--url", "socket://x:1", "--pair", "zero"])
    assert result.exit_code == 2


def test_check_config_accepts_a_good_file(tmp_path):
    f = tmp_path / "good.toml"
    f.write_text(CAS_ONLY + """
[[fault]]
span = 1
toward = "network"
ber = 1e-6
[server]
port = 7100
""")
    result = CliRunner().invoke(main, ["check-config", str(f)])
    assert result.exit_code == 0, result.output
    assert "2 span(s)" in result.output and "1 fault(s)" in result.output and "7100" in result.output


@pytest.mark.parametrize("text,message", [
    ("spanz = 2", "unknown key(s) ['spanz']"),
    ("[[span]]\nframing = \"t1\"", "span[0]: framing must be"),
    ("[[span]]\nsignalling = \"ss7\"", "span[0]: signalling must be"),
    ("[[span]]\nhdlc_timeslots = [0]", "span[0]: timeslot 0"),
    ("spans = 2\n[[span]]\n[[span]]\n[[span]]", "3 [[span]] tables"),
    ("spans = 0", "spans: an integer in 1..64"),
    ("clock = \"sundial\"", "clock:"),
    ("cross_connect = [[0, 5]]", "cross_connect[0]"),
    ("cross_connect = [[0, 1], [1, 0]]", "already cross-connected"),
    ("spans = 2\n[[span]]\nframing = \"df\"\n[[span]]\ncross_connect = [[0, 1]]", "unknown key"),
    ("spans = 2\ncross_connect = [[0, 1]]\n[[span]]\nframing = \"df\"", "configured differently"),
    ("[[fault]]\nspan = 9", "fault[0].span"),
    ("[[fault]]\nlos = \"yes\"", "fault[0]: fault 'los'"),
    ("[[fault]]\nber = 3.0", "fault[0]: fault 'ber'"),
    ("[[fault]]\ntoward = \"up\"", "fault[0].toward"),
    ("[[fault]]\nflood = true", "unknown fault"),
    ("[server]\nport = 70000", "server.port"),
    ("this is not toml", "not valid TOML"),
])
def test_check_config_names_what_is_wrong(tmp_path, text, message):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    result = CliRunner().invoke(main, ["check-config", str(f)])
    assert result.exit_code == 1
    assert message in result.output, result.output
    assert "Traceback" not in result.output


def test_missing_config_file(tmp_path):
    result = CliRunner().invoke(main, ["serve", "--config", str(tmp_path / "nope.toml"), "--port", "0"])
    assert result.exit_code == 1 and "cannot read" in result.output


@pytest.mark.hardware
def test_conformance_against_a_real_card():
    """A vendor's card: CTI_CARD_URL=socket://card:7000 [CTI_CARD_PAIR=0,1] pytest -m hardware."""
    url = os.environ.get("CTI_CARD_URL")
    if not url:
        pytest.skip("set CTI_CARD_URL to the card's pyserial URL to run the conformance suite on it")
    from simulator.conformance import FAIL, run

    pair = tuple(int(x) for x in os.environ.get("CTI_CARD_PAIR", "0,1").split(","))
    results = run(url, pair)
    assert results and not [r for r in results if r.status == FAIL], \
        "\n".join(f"{r.name}: {r.status} {r.detail}" for r in results)
