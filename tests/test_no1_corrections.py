"""Issue 20's No.1 protocol corrections, each with the case where the old behaviour was wrong:
backward B8, an answer before the group-B signal, a seizure that fails in the register, and
defaults that suit China numbering."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from _boardcore.g711 import alaw_decode, alaw_encode
from _boardcore.mf import MfDetector
from cti.signaling.causes import Cause
from cti.signaling.no1 import No1Config
from cti.signaling.no1.register import IncomingRegister, OutgoingRegister, RegState
from cti.signaling.no1.variants import CHINA, ITU, Role
from cti.signaling.trunk import (Answered, CircuitState, IncomingCall, Proceeding, Released, SeizureFailed)
from drivers.base import BLOCK_OCTETS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from no1_rig import Rig, ScriptedFarEnd

AB_IDLE, AB_SEIZE, AB_ACK, AB_ANSWER = 0b10, 0b00, 0b11, 0b01
FAST = {"T_SEIZE_ACK": 0.5, "T_MF_FWD": 1.0, "T_RELEASE": 1.0, "T_MF_WAIT": 1.0, "T_CLEAR_FWD": 2.0}


def compelled(out: OutgoingRegister, replies: list[int], steps: int = 400) -> list[str]:
    """Drive ``out`` by hand: each forward signal is answered with the next of ``replies``."""
    t = 0.0
    out.start(t)
    kinds: list[str] = []
    it = iter(replies)
    for _ in range(steps):
        t = round(t + 0.02, 6)
        if out.data_to_send(t):
            out.receive(next(it), t)
            t = round(t + 0.02, 6)
            out.receive(0, t)
        kinds += [e.kind for e in out.events()]
        if out.finished:
            break
    return kinds


# ------------------------------------------------------------------ B8: out of order, as data

def test_backward_b8_is_out_of_order_cause_27_not_a_protocol_error() -> None:
    """libopenr2 CN answers KD with the ITU B8 "line out of order". It used to end the call
    with cause 111 "B8 has no meaning in variant cn"; like B7 it is now tolerated as data."""
    out = OutgoingRegister("1", variant="cn", kd=3)
    kinds = compelled(out, [3, 8])               # A3: change to group B; B8
    assert out.state is RegState.DONE and kinds[-2:] == ["outcome", "done"]
    assert (out.outcome, out.cause, out.b_signal) == ("out_of_order", Cause.DESTINATION_OUT_OF_ORDER, 8)
    assert CHINA.tolerated_b[8] is Role.OUT_OF_ORDER and CHINA.role_b(8) is ITU.role_b(8)
    with pytest.raises(ValueError):              # heard, never sent: China's tones have no B8
        CHINA.signal_b(Role.OUT_OF_ORDER)


def test_b9_still_has_no_meaning() -> None:
    out = OutgoingRegister("1", variant="cn", kd=3)
    compelled(out, [3, 9])
    assert out.state is RegState.FAILED and out.cause == Cause.PROTOCOL_ERROR


# ------------------------------------------------------------------ answer before group B

def _far_end_answering_mid_register(rig: Rig) -> ScriptedFarEnd:
    """A far end that acknowledges, asks for digits with A1 and then sends answer (01) while
    our register still has digits to send, before any group-B signal."""
    far = ScriptedFarEnd(rig, 1)
    det = MfDetector(1, forward=True)
    state = {"heard": 0}

    def listen(now: float) -> None:
        while (blk := rig.far.read_audio()) is not None:
            for ev in det.process(alaw_decode(blk.timeslot(1)), blk.time):
                if ev.signal:
                    state["heard"] += 1
                    far.tone = 1                 # A1: next digit
                else:
                    far.tone = 0
        if state["heard"] >= 2:
            far.cas(AB_ANSWER)                   # answer after two digits
        if far.tone:
            rig.far.write_audio(1, alaw_encode(far.gen.tone(far.tone, BLOCK_OCTETS)))

    rig.hooks.remove(far._tick)
    rig.hooks.append(listen)
    return far


def test_answer_before_the_group_b_signal_releases_with_a_protocol_error() -> None:
    """It used to be taken as Answered after two digits: a "connected" call with an
    incomplete address. Now clear-forward, cause 111, and no Answered."""
    rig = Rig(ours={"timeslots": [1], "timers": FAST}, exchange=False)
    far = _far_end_answering_mid_register(rig)
    circuit = rig.trunk.make_call("12345678", "5", rig.now)
    rig.run(0.1)
    far.cas(AB_ACK)
    rel = rig.wait(Released, circuit=circuit, seconds=4.0)
    assert (rel.cause, rel.remote) == (Cause.PROTOCOL_ERROR, True) and "before the register" in rel.reason
    assert not rig.of(Answered) and rig.of(Proceeding)
    assert rig.trunk.state(circuit)[0] == "out_clear_fwd"        # clear-forward sent
    rig.hooks.clear()
    far.tone = 0
    far.cas(AB_IDLE)
    rig.run(0.5)
    assert rig.all_idle()


def test_answer_before_group_b_is_accepted_where_configured_lenient() -> None:
    rig = Rig(ours={"timeslots": [1], "timers": FAST, "early_answer": "accept"}, exchange=False)
    far = _far_end_answering_mid_register(rig)
    circuit = rig.trunk.make_call("12345678", "5", rig.now)
    rig.run(0.1)
    far.cas(AB_ACK)
    rig.wait(Answered, circuit=circuit, seconds=4.0)
    assert rig.trunk.state(circuit)[0] == "out_answered"
    with pytest.raises(ValueError):
        No1Config(early_answer="maybe")


# ------------------------------------------------------------------ a seizure that fails in the register

def test_a_seizure_that_fails_in_the_register_is_reported_at_once() -> None:
    """The far end seizes and sends no digit. It used to reach the call model only as a
    CircuitState after T_CLEAR_FWD; now a SeizureFailed (a CircuitState, unavailable) as the
    register fails, counted, and the circuit's state stays visible until clear-forward."""
    rig = Rig(ours={"timeslots": [1], "timers": FAST}, exchange=False, on_call="answer")
    far = ScriptedFarEnd(rig, 1)
    far.cas(AB_SEIZE)
    failed = rig.wait(SeizureFailed, seconds=3.0)
    assert failed.time < 1.2                            # T_MF_WAIT (1 s here), not T_CLEAR_FWD (2 s)
    assert (failed.available, failed.cause, failed.called) == (False, Cause.RECOVERY_ON_TIMER_EXPIRY, "")
    assert "T_MF_WAIT" in failed.reason and isinstance(failed, CircuitState)
    assert rig.trunk.counters["failed_seizures"] == 1
    assert rig.trunk.state((0, 1)) == ("in_clear_back", "failed")      # visible: waiting for clear-forward
    assert not rig.of(IncomingCall) and not rig.of(Released)
    rig.run(0.3)
    far.cas(AB_IDLE)                                     # the far end clears forward
    rig.run(0.5)
    back = [e for e in rig.of(CircuitState) if not isinstance(e, SeizureFailed)]
    assert [(e.available, e.reason) for e in back] == [(True, "idle after a failed seizure")]
    assert rig.all_idle()


def test_far_end_clearing_in_the_register_is_a_failed_seizure_too() -> None:
    rig = Rig(ours={"timeslots": [1], "timers": FAST}, exchange=False, on_call="answer")
    far = ScriptedFarEnd(rig, 1)
    far.cas(AB_SEIZE)
    rig.run(0.3)
    far.cas(AB_IDLE)
    failed = rig.wait(SeizureFailed, seconds=1.0)
    assert (failed.cause, failed.reason) == (Cause.NORMAL_CLEARING, "seizure failed: clear-forward in the register")
    rig.run(0.5)
    assert [e.available for e in rig.of(CircuitState)] == [False, True] and rig.all_idle()


# ------------------------------------------------------------------ defaults for China numbering

def _collect(reg: IncomingRegister, number: str, limit: float = 10.0) -> tuple[str, float]:
    """Feed ``number`` compelled to ``reg`` as a China caller does (no end-of-pulsing), then
    stop sending; (the called number at KD, the time KD was asked for)."""
    t = 0.0
    reg.start(t)
    digits = iter(number)
    sending = 0
    asked = None
    while t < limit:
        t = round(t + 0.02, 6)
        back = reg.data_to_send(t)
        if sending and back:                  # the backward signal answers ours: stop sending
            sending = 0
            reg.receive(0, t)
            continue
        if not sending and not back:
            if reg.state is RegState.WAIT_KD:
                asked = t
                break
            d = next(digits, None)
            if d is not None:
                sending = int(d) or 10
                reg.receive(sending, t)
        reg.handle_timer(t)
    assert asked is not None, reg.state
    return reg.dnis, asked


def test_defaults_suit_china_numbering() -> None:
    cfg = No1Config()
    assert (cfg.ani, cfg.dnis_length, cfg.early_answer) == ("auto", 0, "release")
    with pytest.raises(ValueError):
        No1Config(ani="sometimes")
    assert cfg.numbering_plan["13"] == 11 and cfg.numbering_plan["010"] == 11
    assert No1Config(dnis_lengths={"13": 0}).numbering_plan["13"] == 0      # a prefix made variable again
    plan = cfg.numbering_plan

    def register(**kw: object) -> IncomingRegister:
        return IncomingRegister(variant="cn", dnis_length=cfg.dnis_length, ani=False,
                                dnis_lengths=plan, **kw)  # type: ignore[arg-type]

    # a mobile number: complete by the plan, KD asked for at once
    dnis, at = _collect(register(), "13912345678")
    assert dnis == "13912345678" and at < 3.5
    # a local number: variable length, ended by T_DNIS_END (1.5 s), not T_MF_WAIT (5 s)
    dnis, at = _collect(register(), "87654321")
    assert dnis == "87654321" and 1.5 < at < 3.0
    # the old defaults truncated the mobile number to its first 4 digits
    old = IncomingRegister(variant="cn", dnis_length=4, ani=False)
    assert _collect(old, "13912345678")[0] == "1391"
