"""The SS7 way in of docs/integrating.md: ``Runner.ss7`` over a socket link (readiness, waiting
for it, unexpected messages and pcap through the runner, a Board span's TS16), and the worked
example — our stack against a second process over a SOCK_SEQPACKET socket, calls both ways —
on the compiled and the twin (``BOARDCORE_NO_EXTENSIONS=1``) builds."""
from __future__ import annotations

import asyncio
import importlib.util
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

from cti.signaling.runner import CallFailed, Runner
from cti.signaling.ss7.isup.formats import MessageType as M
from cti.signaling.ss7.trunk import Ss7Trunk, UnexpectedMessage
from cti.signaling.trunk import Proceeding, Released, TrunkError, TrunkEvent

sys.path.insert(0, str(Path(__file__).resolve().parent))
from integrating_rig import ROOT, Clock, run_example

EXAMPLE = ROOT / "docs" / "examples" / "ss7_loopback.py"
EXPECTED = [
    "ours: too early, cause 41 (not ready)",
    "ours: ready",
    "ours: 2001 answered on (0, 1)",
    "ours: released, cause 16",
    "ours: incoming 13800138000 -> 8000",
    "ours: the network cleared, cause 16",
    "ok",
]


def pair(ours: dict[str, Any] | None = None, far: dict[str, Any] | None = None) -> tuple[Runner, Runner, Clock]:
    sa, sb = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    clk = Clock()
    a = Runner.ss7(sa, {"opc": 1, "dpc": 2, **(ours or {})}, clock=clk.now, advance=clk.advance)
    b = Runner.ss7([sb], {"opc": 2, "dpc": 1, **(far or {})}, clock=clk.now)
    clk.far = b
    return a, b, clk


def trunk_of(runner: Runner) -> Ss7Trunk:
    t = runner.adapters[0]
    assert isinstance(t, Ss7Trunk)
    return t


def test_runner_ss7_builds_the_trunk_on_its_socket_and_reports_readiness() -> None:
    a, b, clk = pair()
    trunk = trunk_of(a)
    assert len(trunk.transports) == 1 and not a.ready
    with pytest.raises(TrunkError) as early:       # before link-up: refused, not queued
        a.make_call("2001", "1390")
    assert early.value.cause == 41 and "not ready" in str(early.value)
    assert a.calls() == []
    assert a.run_until(lambda: trunk.stack.up, timeout=10)
    assert not a.ready                              # link up, our GRS not yet acknowledged
    with pytest.raises(TrunkError) as pending:
        a.make_call("2001", "1390")
    assert pending.value.cause == 41 and "not ready" in str(pending.value)
    a.wait_ready(timeout=10)
    assert a.ready and len(trunk.ready_circuits()) == 30
    call = a.make_call("2001", "1390")
    assert a.run_until(lambda: b.counters["IncomingCall"] > 0, timeout=5)   # a's clock steps b
    inc = b.wait_incoming(timeout=0)
    assert inc is not None and (inc.called, inc.calling) == ("2001", "1390")
    inc.answer()
    call.wait_answered(timeout=5)
    inc.release(17)
    rel = call.wait_released(timeout=5)
    assert (rel.cause, rel.remote) == (17, True)


def test_ready_wait_holds_a_call_until_the_reset_is_acknowledged() -> None:
    a, b, clk = pair({"ready_wait": 5.0})
    trunk = trunk_of(a)
    assert a.run_until(lambda: trunk.stack.up, timeout=10) and not a.ready
    call = a.make_call("2001")                      # held on a circuit whose GRS is pending
    assert not trunk.circuit_ready(call.circuit) and call.state == "dialling"
    assert a.run_until(lambda: any(isinstance(e, Proceeding) for e in call.events), timeout=5)
    assert a.ready and not call.ended


def test_a_waiting_call_fails_with_cause_41_when_the_reset_never_comes() -> None:
    a, b, clk = pair({"ready_wait": 0.5})
    trunk_of(b).stack.bind_isup(lambda payload, now: None)     # the far end's ISUP never answers
    assert a.run_until(lambda: trunk_of(a).stack.up, timeout=10)
    call = a.make_call("2001")
    with pytest.raises(CallFailed) as err:
        call.wait_answered(timeout=5)
    assert err.value.cause == 41 and call.released is not None and "reset" in call.released.reason


def test_unexpected_messages_reach_listeners_and_pcap_records_the_socket_link(tmp_path: Path) -> None:
    a, b, clk = pair({"pcap": str(tmp_path / "ours.pcap")})
    seen: list[TrunkEvent] = []
    a.add_listener(seen.append)
    a.wait_ready(timeout=10)
    far = trunk_of(b)
    circuit = trunk_of(a).circuits()[0]
    far.stack.isup.circuits[trunk_of(a)._cic(circuit)].send(M.ANM, {})   # an answer for no call
    far.stack.flush(clk.now())
    assert a.run_until(lambda: a.counters["UnexpectedMessage"] > 0, timeout=5)
    um = [e for e in seen if isinstance(e, UnexpectedMessage)]
    assert um[0].circuit == circuit and "ANM" in um[0].reason
    assert not any(isinstance(e, Released) for e in seen)
    pcap = trunk_of(a).pcap
    assert pcap is not None
    pcap.close()
    assert (tmp_path / "ours.pcap").stat().st_size > 24 + 16 * 10       # header + frames both ways


def test_runner_ss7_checks_its_links_and_numbering() -> None:
    socks = list(socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET))
    with pytest.raises(ValueError, match="2 sockets for 1"):
        Runner.ss7(socks, {})
    seq = Runner.ss7(socks[0], {"cic_numbering": "sequential"})
    assert sorted(trunk_of(seq)._cic_of.values()) == list(range(1, 31))
    default = Runner.ss7(socks[1], {})
    assert sorted(trunk_of(default)._cic_of.values()) == [*range(1, 16), *range(17, 32)]
    with pytest.raises(ValueError, match="link 0 on span index 0"):
        Runner.ss7(None, {})                        # HDLC links need spans


@pytest.mark.skipif(importlib.util.find_spec("_boardcore.hdlc") is None,
                    reason="_boardcore.hdlc (HDLC kernel) not built yet")
@pytest.mark.system
def test_runner_ss7_on_a_board_spans_ts16() -> None:
    import drivers
    from drivers.base import SpanConfig
    from simulator.exchange.base import Behaviour, Subscriber
    from simulator.exchange.ss7 import Ss7Exchange
    board: Any = drivers.open("sim", spans=1, config=[SpanConfig(signalling="ccs")])
    ex = Ss7Exchange([board.far_end(0)], {"100": Subscriber("100", Behaviour.ANSWER, answer_after=0.5,
                                                            hold_for=1.0)}, config={"opc": 1, "dpc": 2})   # its view: swapped
    board.add_ticker(ex.service)
    runner = Runner.ss7(None, {"opc": 1, "dpc": 2}, spans=[board.span(0)], clock=board.now, advance=board.advance)
    runner.wait_ready(timeout=10)
    call = runner.make_call("100", "5000")
    call.wait_answered(timeout=5)
    rel = call.wait_released(timeout=5)
    assert (rel.cause, rel.remote) == (16, True)


@pytest.mark.system
@pytest.mark.parametrize("build", ["compiled", "twins"])
def test_the_worked_example_runs_both_ways_between_two_processes(build: str) -> None:
    assert run_example(EXAMPLE, build) == EXPECTED


def test_the_guide_shows_the_example_it_runs() -> None:
    guide = (ROOT / "docs" / "integrating.md").read_text()
    assert "docs/examples/ss7_loopback.py" in guide
    src = EXAMPLE.read_text()
    start = src.index("def ours(")
    end = src.index("    finally:", start)
    assert src[start:end].strip() in guide          # the guide quotes the example word for word
    assert "\n".join(EXPECTED) in guide


def test_asyncio_both_runners_on_one_event_loop_real_clock() -> None:
    async def main() -> tuple[str, int]:
        sa, sb = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        cfg = {"emergency": True}
        async with Runner.ss7(sa, {"opc": 1, "dpc": 2, **cfg}) as ours, \
                Runner.ss7(sb, {"opc": 2, "dpc": 1, **cfg}) as far:
            await ours.until(lambda: ours.ready and far.ready, timeout=10)
            call = ours.make_call("2001", "1390")
            inc = await far.incoming(timeout=5)
            inc.answer()
            await call.answered(timeout=5)
            call.release()
            rel = await inc.ended_event(timeout=5)
            return inc.called, rel.cause

    assert asyncio.run(main()) == ("2001", 16)
