"""The PRI way in of docs/integrating.md: ``Runner.pri`` with the D channel on a socket (user
side against network side, readiness, pcap) or on a Board span's TS16, and the worked example
— our user side against a second process playing the network over a SOCK_SEQPACKET socket,
calls both ways — on the compiled and the twin (``BOARDCORE_NO_EXTENSIONS=1``) builds."""
from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Any

import pytest

from cti.signaling.pri.trunk import PriTrunk
from cti.signaling.runner import Runner
from cti.signaling.trunk import TrunkError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from integrating_rig import ROOT, Clock, run_example

EXAMPLE = ROOT / "docs" / "examples" / "pri_loopback.py"
EXPECTED = [
    "ours: too early, cause 41 (not ready)",
    "ours: ready",
    "ours: 2001 answered on (0, 1)",
    "ours: released, cause 16",
    "ours: incoming 13800138000 -> 8000",
    "ours: the network cleared, cause 16",
    "ok",
]


def pair(ours: dict[str, Any] | None = None) -> tuple[Runner, Runner]:
    sa, sb = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    clk = Clock()
    a = Runner.pri(sa, {"side": "user", **(ours or {})}, clock=clk.now, advance=clk.advance)
    b = Runner.pri([sb], {"side": "network"}, clock=clk.now)
    clk.far = b
    return a, b


def trunk_of(runner: Runner) -> PriTrunk:
    t = runner.adapters[0]
    assert isinstance(t, PriTrunk)
    return t


def test_user_side_against_network_side_through_runners(tmp_path: Path) -> None:
    a, b = pair({"pcap": str(tmp_path / "user.pcap")})
    assert not a.ready
    with pytest.raises(TrunkError) as early:            # the D channel is not up yet
        a.make_call("2001", "1390")
    assert early.value.cause == 41 and "not ready" in str(early.value) and a.calls() == []
    a.wait_ready(timeout=5)
    assert trunk_of(a).up and b.ready
    call = a.make_call("2001", "1390")
    assert a.run_until(lambda: b.counters["IncomingCall"] > 0, timeout=5)     # a's clock steps b
    inc = b.wait_incoming(timeout=0)
    assert inc is not None and (inc.called, inc.calling, inc.circuit) == ("2001", "1390", call.circuit)
    inc.alert()
    assert a.run_until(lambda: call.state == "alerting", timeout=5)
    inc.answer()
    call.wait_answered(timeout=5)
    inc.release(17)
    rel = call.wait_released(timeout=5)
    assert (rel.cause, rel.remote) == (17, True)
    pcap = trunk_of(a).pcap
    assert pcap is not None
    pcap.close()
    assert (tmp_path / "user.pcap").stat().st_size > 24 + 16 * 6     # LAPD frames both ways


def test_runner_pri_checks_its_d_channels() -> None:
    socks = list(socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET))
    with pytest.raises(ValueError, match="2 D-channel sockets for 1"):
        Runner.pri(socks, {})
    with pytest.raises(ValueError, match="side"):
        Runner.pri(socks[0], {"side": "both"})


def test_runner_pri_on_a_board_spans_ts16() -> None:
    import drivers
    from drivers.base import SpanConfig
    from simulator.exchange.base import Behaviour, Subscriber
    from simulator.exchange.pri import PriExchange
    board: Any = drivers.open("sim", spans=1, config=[SpanConfig(signalling="ccs")])
    ex = PriExchange([board.far_end(0)], {"104": Subscriber("104", Behaviour.ANSWER, answer_after=0.5,
                                                            hold_for=1.0)})
    board.add_ticker(ex.service)
    runner = Runner.pri(None, {"side": "user"}, spans=[board.span(0)], clock=board.now, advance=board.advance)
    runner.wait_ready(timeout=5)
    call = runner.make_call("104", "5000")
    call.wait_answered(timeout=5)
    rel = call.wait_released(timeout=5)
    assert (rel.cause, rel.remote) == (16, True)


@pytest.mark.system
@pytest.mark.parametrize("build", ["compiled", "twins"])
def test_the_worked_example_runs_both_ways_between_two_processes(build: str) -> None:
    assert run_example(EXAMPLE, build) == EXPECTED


def test_the_guide_shows_the_example_it_runs() -> None:
    guide = (ROOT / "docs" / "integrating.md").read_text()
    assert "docs/examples/pri_loopback.py" in guide
    src = EXAMPLE.read_text()
    start = src.index("def network(")
    end = src.index("if __name__", start)
    assert src[start:end].strip() in guide          # the guide quotes the example word for word
