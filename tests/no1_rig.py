"""Test rig for the No.1 simulator and fault tests: our No1Trunk on span 0 of a SimBoard,
the No.1 exchange (or a scripted far end) on its far end. Not collected (no test_ prefix)."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import drivers
from _boardcore.g711 import alaw_encode
from _boardcore.mf import MfGenerator
from cti.signaling.no1.trunk import No1Trunk
from cti.signaling.trunk import IncomingCall, TrunkEvent
from drivers.base import BLOCK_OCTETS, BoardError
from simulator.exchange.base import Subscriber
from simulator.exchange.no1 import No1Exchange

STEP = 0.02


def open_sim(spans: int = 1):
    """A SimBoard in virtual time, or skip when the simulator backend cannot load here."""
    try:
        return drivers.open("sim", spans=spans)
    except (BoardError, ImportError) as exc:
        pytest.skip(f"simulator board not available: {exc}")


class Rig:
    """Board + our trunk + (optionally) the exchange, serviced every 20 ms block."""

    def __init__(self, ours: dict | None = None, subscribers: dict[str, Subscriber] | None = None,
                 theirs: dict | None = None, exchange: bool = True, on_call: str | None = "answer",
                 default: Subscriber | None = None) -> None:
        self.board = open_sim(1)
        # the simulated exchange is known to send the calling number: ask for it
        self.trunk = No1Trunk(self.board.span(0), {"dnis_length": 4, "ani": True, **(ours or {})})
        self.exchange = (No1Exchange([self.board.far_end(0)], subscribers, default,
                                     config={"dnis_length": 4, **(theirs or {})}) if exchange else None)
        self.far = self.board.far_end(0)
        self.events: list[TrunkEvent] = []
        self.on_call = on_call          # what we do with IncomingCall: answer / alert / busy / None
        self.exchange_alive = True
        self.hooks: list[Callable[[float], None]] = []
        self.board.add_ticker(self._tick)

    def _tick(self, now: float) -> None:
        for ev in self.trunk.service(now):
            self.events.append(ev)
            if isinstance(ev, IncomingCall) and self.on_call:
                if self.on_call == "answer":
                    self.trunk.answer(ev.circuit, now)
                elif self.on_call == "alert":
                    self.trunk.alert(ev.circuit, now)
                elif self.on_call == "busy":
                    self.trunk.release(ev.circuit, 17, now)
        if self.exchange is not None and self.exchange_alive:
            self.exchange.service(now)
        for hook in self.hooks:
            hook(now)

    @property
    def now(self) -> float:
        return self.board.now()

    def run(self, seconds: float, until: Callable[[], bool] | None = None) -> None:
        for _ in range(round(seconds / STEP)):
            self.board.advance(STEP)
            if until is not None and until():
                return

    def of(self, cls, circuit=None) -> list:
        return [e for e in self.events if isinstance(e, cls) and (circuit is None or e.circuit == circuit)]

    def wait(self, cls, seconds: float = 8.0, circuit=None):
        self.run(seconds, until=lambda: bool(self.of(cls, circuit)))
        hits = self.of(cls, circuit)
        assert hits, (cls.__name__, self.events)
        return hits[-1]

    def all_idle(self) -> bool:
        return all(self.trunk.state(c) == ("idle", None) for c in self.trunk.circuits())


class ScriptedFarEnd:
    """A far end driven by hand: CAS bits and backward MF tones on one timeslot."""

    def __init__(self, rig: Rig, ts: int, cd: int = 0b11) -> None:
        self.rig, self.ts, self.cd = rig, ts, cd
        self.gen = MfGenerator(forward=False, level_dbm0=-8.0)
        self.tone = 0
        rig.hooks.append(self._tick)

    def cas(self, ab: int) -> None:
        self.rig.far.set_cas(self.ts, (ab << 2) | self.cd)

    def _tick(self, now: float) -> None:
        if self.tone:
            self.rig.far.write_audio(self.ts, alaw_encode(self.gen.tone(self.tone, BLOCK_OCTETS)))
        while self.rig.far.read_audio() is not None:
            pass


def silence() -> np.ndarray:
    return np.zeros(BLOCK_OCTETS, dtype=np.int16)
