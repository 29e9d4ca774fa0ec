"""Audio bridges between board timeslots, one 20 ms block at a time, with supervision.

A bridge joins two circuits (``(span, timeslot)`` pairs): party ``a`` (the caller's trunk
timeslot) and party ``b`` (the agent's station timeslot, or another trunk after a transfer).
Every block, what ``a`` sent goes to ``b`` and what ``b`` sent goes to ``a``; a supervisor's
circuit added to a bridge hears both, and in whisper / barge mode is mixed into what the
agent (and, for barge, the caller) hears (:func:`cti.media.supervise.mix`, the G.711 kernel).
A held bridge carries nothing (both parties hear silence; nothing is written to either
circuit, so one still signalling in-band, like a transfer's MFC register, is left alone). A circuit belongs to at most one
bridge, as a party or as a supervisor: joining it twice is a ValueError, so one station can
never be bridged to two calls.

Received audio comes from :class:`cti.media.taps.SpanTaps` listeners (the taps' ``drain``
reads what the stacks did not); audio is sent with ``write(circuit, alaw)``. Other sources
(IVR prompts) that want to reach a bridged circuit are mixed in with :meth:`inject`.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from collections.abc import Callable, Hashable

from _boardcore import g711

from .supervise import SuperviseMode, mix
from .taps import Circuit, SpanTaps

SILENCE = b"\xd5" * 160
#: received blocks kept per circuit at most; older ones are dropped (bounded latency)
MAX_BACKLOG = 3


@dataclass(slots=True)
class Bridge:
    """Two parties joined, optionally a supervisor; ``held`` carries nothing."""

    key: Hashable
    a: Circuit
    b: Circuit
    held: bool = False
    supervisor: Circuit | None = None
    mode: SuperviseMode = SuperviseMode.MONITOR
    #: this block: what a sent, what went to a (recordings read these)
    a_rx: bytes = SILENCE
    to_a: bytes = SILENCE
    b_rx: bytes = SILENCE
    to_b: bytes = SILENCE
    to_sup: bytes = SILENCE
    blocks: int = 0


@dataclass(slots=True)
class _Port:
    stop: Callable[[], None]
    send: Callable[[bytes], None]           #: write one block to the circuit
    rx: deque[bytes] = field(default_factory=lambda: deque(maxlen=MAX_BACKLOG))


class Bridges:
    """The bridges of one board (see the module docstring)."""

    def __init__(self, taps: SpanTaps, write: Callable[[Circuit, bytes], None],
                 writer: Callable[[Circuit], Callable[[bytes], None]] | None = None) -> None:
        self.taps = taps
        self.write = write
        #: ``writer(circuit)`` -> a callable writing one block to it (the span's ``write_audio``
        #: with the timeslot bound), taken once per party when it joins: ``write(circuit,
        #: alaw)`` is then not called per party and block
        self.writer = writer
        self.bridges: dict[Hashable, Bridge] = {}
        self._owner: dict[Circuit, Hashable] = {}       #: circuit -> bridge key it belongs to
        self._ports: dict[Circuit, _Port] = {}
        self._inject: dict[Circuit, bytes] = {}
        self.counters = {"blocks": 0, "underruns": 0, "write_errors": 0}

    # ---- set-up -----------------------------------------------------------------------------
    def join(self, key: Hashable, a: Circuit, b: Circuit) -> Bridge:
        """Bridge circuits ``a`` and ``b`` under ``key``; ValueError if either is taken."""
        if key in self.bridges:
            raise ValueError(f"bridge {key!r} exists already")
        if a == b:
            raise ValueError(f"cannot bridge circuit {a} to itself")
        for c in (a, b):
            self._check_free(c)
        for c in (a, b):
            self._open(c, key)
        br = self.bridges[key] = Bridge(key, a, b)
        return br

    def leave(self, key: Hashable) -> Bridge | None:
        """Undo bridge ``key`` (its supervisor too); returns it, or None if there was none."""
        br = self.bridges.pop(key, None)
        if br is None:
            return None
        for c in (br.a, br.b, br.supervisor):
            if c is not None:
                self._close(c)
        return br

    def move(self, key: Hashable, b: Circuit) -> Bridge:
        """Replace party ``b`` of bridge ``key`` (a transfer); ValueError if ``b`` is taken."""
        br = self._get(key)
        if b == br.b:
            return br
        self._check_free(b)
        self._close(br.b)
        self._open(b, key)
        br.b = b
        return br

    def hold(self, key: Hashable, held: bool = True) -> None:
        self._get(key).held = held

    def supervise(self, key: Hashable, supervisor: Circuit, mode: SuperviseMode | str) -> Bridge:
        """Add (or re-mode) ``supervisor`` on bridge ``key``; ValueError if the circuit is taken."""
        br = self._get(key)
        m = SuperviseMode(mode)
        if br.supervisor != supervisor:
            if br.supervisor is not None:
                raise ValueError(f"bridge {key!r} is supervised from {br.supervisor} already")
            self._check_free(supervisor)
            self._open(supervisor, key)
            br.supervisor = supervisor
        br.mode = m
        return br

    def unsupervise(self, key: Hashable) -> None:
        """Back to the plain bridge."""
        br = self.bridges.get(key)
        if br is not None and br.supervisor is not None:
            self._close(br.supervisor)
            br.supervisor = None

    def owner(self, circuit: Circuit) -> Hashable | None:
        """The bridge ``circuit`` belongs to, or None."""
        return self._owner.get(circuit)

    def inject(self, circuit: Circuit, alaw: bytes) -> bool:
        """Mix ``alaw`` (one block) into what goes to ``circuit`` this block; False if it is not bridged."""
        if circuit not in self._owner:
            return False
        prev = self._inject.get(circuit)
        block = bytes(alaw[:160]).ljust(160, b"\xd5")
        self._inject[circuit] = block if prev is None else g711.mix_alaw(prev, block)
        return True

    # ---- every block ------------------------------------------------------------------------
    def tick(self) -> None:
        """Carry one block across every bridge (call after the taps have been drained)."""
        ports, inject = self._ports, self._inject
        underruns = 0
        for br in tuple(self.bridges.values()):
            # the parties' received blocks (inlined _rx: per bridged call, every block)
            pa, pb = ports[br.a], ports[br.b]
            q = pa.rx
            if q:
                while len(q) > 1 and len(q) >= MAX_BACKLOG:      # fell behind: keep the newest
                    q.popleft()
                a = q.popleft()
            else:
                underruns += 1
                a = SILENCE
            q = pb.rx
            if q:
                while len(q) > 1 and len(q) >= MAX_BACKLOG:
                    q.popleft()
                b = q.popleft()
            else:
                underruns += 1
                b = SILENCE
            sup = br.supervisor
            sup_rx = self._rx(sup) if sup is not None else SILENCE
            if br.held:
                to_a = to_b = to_sup = SILENCE
            elif sup is not None:
                to_a, to_b, to_sup = mix(br.mode, a, b, sup_rx)
            else:
                to_a, to_b, to_sup = b, a, SILENCE
            if inject:
                to_a = self._with_injected(br.a, to_a)
                to_b = self._with_injected(br.b, to_b)
            br.a_rx, br.b_rx, br.to_a, br.to_b, br.to_sup = a, b, to_a, to_b, to_sup
            br.blocks += 1
            if br.held:               # nothing written: the line sends silence, and a circuit still
                continue              # signalling (a transfer's register) is left alone
            try:
                pa.send(to_a)
            except Exception:         # a full or closed span: the stacks report the fault
                self.counters["write_errors"] += 1
            try:
                pb.send(to_b)
            except Exception:
                self.counters["write_errors"] += 1
            if sup is not None:
                self._send(sup, to_sup)
        if underruns:
            self.counters["underruns"] += underruns
        inject.clear()
        self.counters["blocks"] += 1

    # ---- internals ----------------------------------------------------------------------------
    def _get(self, key: Hashable) -> Bridge:
        br = self.bridges.get(key)
        if br is None:
            raise KeyError(f"no bridge {key!r}")
        return br

    def _check_free(self, c: Circuit) -> None:
        if c in self._owner:
            raise ValueError(f"circuit {c[0]}/{c[1]} is already in bridge {self._owner[c]!r}")
        if c[0] not in self.taps.spans:
            raise ValueError(f"span {c[0]} carries no tapped audio (tapped: {sorted(self.taps.spans)})")

    def _open(self, c: Circuit, key: Hashable) -> None:
        send = self.writer(c) if self.writer is not None else partial(self.write, c)
        port = _Port(stop=lambda: None, send=send)
        # the span's block fans out to the parties' queues (one call per span and block,
        # not one per party)
        port.stop = self.taps.feed(c, port.rx)
        self._ports[c] = port
        self._owner[c] = key

    def _close(self, c: Circuit) -> None:
        port = self._ports.pop(c, None)
        if port is not None:
            port.stop()
        self._owner.pop(c, None)
        self._inject.pop(c, None)

    def _rx(self, c: Circuit) -> bytes:
        q = self._ports[c].rx
        if not q:
            self.counters["underruns"] += 1
            return SILENCE
        while len(q) > 1 and len(q) >= MAX_BACKLOG:      # fell behind: keep the newest
            q.popleft()
        return q.popleft()

    def _with_injected(self, c: Circuit, block: bytes) -> bytes:
        extra = self._inject.get(c)
        return block if extra is None else g711.mix_alaw(block, extra)

    def _send(self, c: Circuit, block: bytes) -> None:
        try:
            self.write(c, block)
        except Exception:           # a full or closed span: the stacks report the fault
            self.counters["write_errors"] += 1

    def public(self) -> list[dict[str, Any]]:
        """The bridges as plain data (snapshot, tests)."""
        return [{"key": str(br.key), "a": list(br.a), "b": list(br.b), "held": br.held,
                 "supervisor": list(br.supervisor) if br.supervisor else None, "mode": br.mode.value}
                for br in self.bridges.values()]
