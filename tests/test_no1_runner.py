"""The integrator's run loop (cti.signaling.runner) over a No.1 trunk: blocking and asyncio,
calls as objects and awaitables, re-sending the line state, moving to a new span, and a
line-signalling-only span (no HDLC, no counters)."""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from cti.signaling.causes import Cause
from cti.signaling.no1.trunk import No1Trunk
from cti.signaling.runner import CallFailed, Runner
from cti.signaling.trunk import Answered, CasSpan, IncomingCall, Released, TrunkError
from drivers.base import Alarm, AudioBlock
from simulator.exchange.base import Behaviour, CallScript, Subscriber
from simulator.exchange.no1 import No1Exchange

sys.path.insert(0, str(Path(__file__).resolve().parent))
from no1_rig import open_sim

SUBS = {"2001": Subscriber("2001", Behaviour.ANSWER, answer_after=0.3, hold_for=None),
        "2002": Subscriber("2002", Behaviour.BUSY)}


def sim_runner() -> tuple[Runner, No1Exchange]:
    board = open_sim(1)
    exchange = No1Exchange([board.far_end(0)], SUBS, config={"timeslots": [1, 2]})
    board.add_ticker(exchange.service)
    runner = Runner.no1(board.span(0), {"timeslots": [1, 2], "dnis_length": 4},
                        clock=board.now, advance=board.advance)
    return runner, exchange


@pytest.mark.system
def test_blocking_calls_both_ways() -> None:
    runner, exchange = sim_runner()
    seen: list[str] = []
    runner.add_listener(lambda ev: seen.append(type(ev).__name__))
    call = runner.make_call("2001", "13800138000")
    call.wait_answered(timeout=10.0)
    assert call.state == "answered" and call.answered_at is not None
    call.release()
    rel = call.wait_released(timeout=5.0)
    assert (rel.cause, rel.remote) == (Cause.NORMAL_CLEARING, False) and call.ended
    busy = runner.make_call("2002")
    with pytest.raises(CallFailed) as failed:
        busy.wait_answered(timeout=10.0)
    assert failed.value.cause == Cause.USER_BUSY
    runner.run(0.5)                                        # release guards
    exchange.place_call(CallScript(at=runner.now(), called="8000", calling="1390", hold_for=0.5))
    inc = runner.wait_incoming(timeout=10.0)
    assert inc is not None and (inc.direction, inc.called, inc.calling) == ("in", "8000", "1390")
    inc.answer()
    rel = inc.wait_released(timeout=10.0)                 # the caller hangs up
    assert rel.remote and inc.state == "released" and runner.calls() == []
    assert seen.count("IncomingCall") == 1 and runner.counters["Answered"] == 1   # ours; we answered theirs
    assert runner.wait_incoming(timeout=0.5) is None


@pytest.mark.system
def test_asyncio_calls_and_event_stream() -> None:
    async def main() -> list[str]:
        runner, exchange = sim_runner()
        got: list[str] = []
        async with runner:
            async def watch() -> None:
                async for ev in runner.events():
                    got.append(type(ev).__name__)
            watcher = asyncio.create_task(watch())
            call = runner.make_call("2001")
            await call.answered(timeout=10.0)
            call.release()
            await call.ended_event(timeout=5.0)
            exchange.place_call(CallScript(at=runner.now() + 0.5, called="8000", calling="1390", hold_for=None))
            inc = await runner.incoming(timeout=10.0)
            inc.answer()                               # B1 first, then the answer signal
            assert inc.state == "answered"
            t0 = runner.now()
            await runner.until(lambda: runner.now() > t0 + 1.0, timeout=5.0)
            inc.release()                              # clear-back; the caller clears forward
            rel = await inc.ended_event(timeout=5.0)
            assert rel.remote is False
            with pytest.raises(asyncio.TimeoutError):
                await runner.incoming(timeout=0.2)
            watcher.cancel()
        return got
    got = asyncio.run(main())
    assert got.count("Answered") == 1 and got.count("IncomingCall") == 1 and got.count("Released") == 2


def test_waiting_without_the_loop_running_is_an_error() -> None:
    runner, _ = sim_runner()
    call = runner.make_call("2001")
    with pytest.raises(RuntimeError, match="not running"):
        asyncio.run(call.answered(timeout=1.0))


class LineOnlySpan:
    """A card that does CAS and audio only: no HDLC channels, no counters (a CasSpan)."""

    def __init__(self, number: int = 0) -> None:
        self.number = number
        self.rx = {ts: 0b1011 for ts in range(1, 32)}     # idle from the far end (China c,d = 11)
        self.writes: list[tuple[int, int]] = []
        self.alarms = Alarm(0)

    def cas(self, ts: int) -> int:
        return self.rx[ts]

    def set_cas(self, ts: int, abcd: int) -> None:
        self.writes.append((ts, abcd))

    def read_audio(self, timeslots: object = None) -> AudioBlock | None:
        return None

    def write_audio(self, ts: int, alaw: bytes) -> None:
        pass


def test_a_line_signalling_only_span_resend_and_attach() -> None:
    span = LineOnlySpan()
    assert isinstance(span, CasSpan) and not hasattr(span, "hdlc") and not hasattr(span, "counters")
    t = [0.0]
    runner = Runner.no1(span, {"timeslots": [1, 2]}, clock=lambda: t[0], advance=lambda dt: t.__setitem__(0, t[0] + dt))
    assert sorted(span.writes) == [(1, 0b1011), (2, 0b1011)]      # idle written once at start
    runner.run(0.2)
    assert len(span.writes) == 2                                   # unchanged bits are not written again
    runner.resend_line_state()                                     # the card reconnected
    assert sorted(span.writes[2:]) == [(1, 0b1011), (2, 0b1011)]
    call = runner.make_call("2001")
    assert span.writes[-1] == (call.circuit[1], 0b0011)            # seizure
    other = LineOnlySpan()
    runner.attach(other)                                           # the peer moved: a new span object
    seized = call.circuit[1]
    assert sorted(other.writes) == sorted((ts, 0b0011 if ts == seized else 0b1011) for ts in (1, 2))
    assert runner.adapters[0].span is other                        # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        runner.attach(object())
    call.release()
    other.rx[call.circuit[1]] = 0b1011
    runner.run(0.3)


def test_a_span_reporting_all_zero_cas_looks_seized_everywhere() -> None:
    """Why a backend must not report abcd 0000 before the far end is up (docs/integrating.md):
    a,b = 00 is a seizure, so every circuit takes an incoming call that never comes."""
    span = LineOnlySpan()
    span.rx = {ts: 0 for ts in range(1, 32)}
    t = [0.0]
    runner = Runner.no1(span, {"timeslots": [1, 2], "timers": {"T_MF_WAIT": 1.0}}, clock=lambda: t[0],
                        advance=lambda dt: t.__setitem__(0, t[0] + dt))
    runner.run(0.2)
    assert [runner.adapters[0].state((0, ts))[0] for ts in (1, 2)] == ["in_seized", "in_seized"]  # type: ignore[attr-defined]


def test_runner_rejects_what_is_not_a_trunk() -> None:
    with pytest.raises(ValueError):
        Runner()
    with pytest.raises(TypeError):
        Runner(object())                                           # type: ignore[arg-type]
    span = LineOnlySpan()
    runner = Runner(No1Trunk(span, {"timeslots": [1]}), clock=lambda: 0.0, advance=lambda dt: None)
    runner.make_call("1")
    with pytest.raises(TrunkError) as err:
        runner.make_call("2")                                      # the only circuit is busy
    assert err.value.cause == Cause.NO_CIRCUIT_AVAILABLE
    with pytest.raises(TrunkError):
        runner.make_call("2", circuit=(5, 5))
    assert isinstance(IncomingCall, type) and Answered and Released
