"""No1Trunk: China No.1 signalling for the 30 circuits of one CAS span, through the Board API.

Each service() call reads the span's audio blocks (20 ms), runs the MF detector on the
circuits whose register is active, feeds the received abcd bits to each circuit's line
FSM, runs timers, and writes back CAS bits and MF tones (MfGenerator, A-law). The FSMs
are the sans-IO ones of :mod:`.line` and :mod:`.register`; this module only moves
signals between them, the board and the call model (TrunkEvents).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from _boardcore.mf import MfDetector, MfGenerator
from cti.signaling.causes import Cause
from cti.signaling.errors import LocalProtocolError
from _boardcore.dtmf import DtmfDetector
from _boardcore.g711 import alaw_encode
from cti.signaling.trunk import (Alerting, Answered, CasSpan, Circuit, CircuitState, DigitsReceived, IncomingCall,
                                 Proceeding, Reattempted, Released, SeizureFailed, TrunkAdapter, TrunkError,
                                 TrunkEvent)
from drivers.base import BLOCK_OCTETS, BLOCK_SECONDS, VOICE_TIMESLOTS, Alarm, AudioBlock

from .config import No1Config
from .line import Line, LineEvent, LineState
from .register import IncomingRegister, OutgoingRegister, RegisterEvent, check_digits
from .variants import CAUSE_ROLES, OUTCOME_CAUSES, OUTCOMES

#: Span alarms that take every circuit out of service (G.775 defects).
DOWN_ALARMS = Alarm.LOS | Alarm.AIS | Alarm.LOF | Alarm.RAI | Alarm.LOMF | Alarm.MF_AIS | Alarm.MF_RAI


@dataclass
class _Call:
    direction: str                  # "out" | "in"
    called: str = ""
    calling: str | None = None
    announced: bool = False         # the call model knows about it
    released: bool = False          # Released emitted
    local: bool = False             # we asked for the release
    cause: int = Cause.NORMAL_CLEARING
    answer_pending: bool = False
    answered: bool = False
    kd: int | None = None           # the category sent (kept for a repeat attempt)
    repeats: int = 0                # automatic repeat attempts made (Q.12)
    failed_seizure: bool = False    # incoming: the register failed before the call was offered


class _Channel:
    def __init__(self, ts: int, cfg: No1Config) -> None:
        self.ts = ts
        self.line = Line(cfg.variant, cfg.timers, cfg.glare, name=f"line-{ts}", early_answer=cfg.early_answer)
        self.reg: OutgoingRegister | IncomingRegister | None = None
        #: the register listens to MF (the span's detector of this direction: True forward
        #: signals, False backward), None when it does not
        self.mf_forward: bool | None = None
        self.gen: MfGenerator | None = None
        self.call: _Call | None = None
        self.tx_cas: int | None = None
        self.dtmf = False      # DTMF detection while the call is connected (the span's detector)
        self.rx_seen = -1      # the abcd bits the line FSM last took in service()
        self.quiet_until = -1.0  # before this, with rx_seen unchanged and no register, service() skips it
        self.unavailable = False   # a failed seizure holds the circuit until clear-forward




class No1Trunk(TrunkAdapter):
    """China No.1 (or another R2 variant) on one CAS span."""

    signalling = "no1"

    def __init__(self, board_span: CasSpan, config: No1Config | dict[str, Any] | None = None) -> None:
        if isinstance(config, dict) or config is None:
            config = No1Config.from_dict(config or {})
        if not isinstance(config, No1Config):
            raise TypeError(f"config must be a No1Config or a dict, not {type(config).__name__}")
        span_cfg = getattr(board_span, "config", None)
        if span_cfg is not None and getattr(span_cfg, "signalling", "cas") != "cas":
            raise ValueError(f"No.1 signals on CAS spans; span {getattr(board_span, 'number', '?')} "
                             f"is configured for {span_cfg.signalling!r}")
        self.span = board_span
        self.config = config
        self.variant = config.variant_table
        self.number = int(getattr(board_span, "number", 0))
        self.channels: dict[int, _Channel] = {ts: _Channel(ts, config)
                                              for ts in (config.timeslots or VOICE_TIMESLOTS)}
        self._events: list[TrunkEvent] = []
        #: (timeslots of the blocks, the span's DTMF detector, timeslot -> its row)
        self._dtmf: tuple[tuple[int, ...], Any, dict[int, int]] | None = None
        self._dtmf_on: set[int] = set()       #: timeslots with DTMF detection (connected calls)
        self._dtmf_fresh: set[int] = set()    #: connected since the last block: forget their past first
        self._dtmf_rows: Any = None           #: the detector rows of _dtmf_on (None: to be sorted again)
        self._mf: dict[int, _Channel] = {}    #: timeslot -> circuit whose register listens (MF detector)
        #: (timeslots of the blocks, the span's forward and backward MF detectors, timeslot ->
        #: its row): every listening register of the span in one batch call per direction
        self._mfdet: tuple[tuple[int, ...], Any, Any, dict[int, int]] | None = None
        self._mf_fresh: set[int] = set()      #: registers started since the last block: forget their past first
        self._down = False
        self._alarms_seen: Alarm | None = None
        self._now = 0.0
        self.errors = 0   #: unexpected signals seen (ignored or turned into releases)
        #: Q.12 automatic repeat attempts made after a lost double seizure, and those that
        #: found no idle circuit (the call ended with cause 34)
        self.counters: dict[str, int] = {"repeat_attempts": 0, "repeat_no_circuit": 0,
                                         "failed_seizures": 0, "ani_not_sent": 0}
        self._plan = config.numbering_plan
        #: the quiet-block test of service(): the span's Span.changes at the last full turn,
        #: the time before which no timer of ours is due (-1: every block), whether any
        #: circuit listens to audio (DTMF or MF), and the span's skip_audio when it has one
        self._changes: int | None = None
        self._wake = -1.0
        #: the circuits a turn looks at when nothing changed on the span (see service()): those
        #: whose register runs or line recognises (hot), those touched since the last turn, and
        #: the earliest line timer of the others (a turn at or after it looks at every circuit)
        self._hot: set[int] = set()
        self._touched: set[int] = set()
        self._next_due = -1.0
        self._order = {ts: i for i, ts in enumerate(self.channels)}
        self._hearing = False
        self._skip = getattr(board_span, "skip_audio", None)
        #: the span keeps Span.changes (read as an attribute every block: no getattr call)
        self._counted = getattr(board_span, "changes", None) is not None
        for ch in self.channels.values():
            self._write_cas(ch)

    # ------------------------------------------------------------------ TrunkAdapter
    def circuits(self) -> list[Circuit]:
        return [(self.number, ts) for ts in self.channels]

    def service(self, now: float) -> list[TrunkEvent]:
        self._now = now
        span = self.span
        changes = span.changes if self._counted else None   # type: ignore[attr-defined]
        if changes is not None and changes == self._changes and now < self._wake:
            # the span's quiet block: no abcd change, alarm or frame since the last one
            # (Span.changes), no line or register timer due, no register running: only the
            # audio of connected circuits (DTMF), if any, is work
            if self._hearing:
                self._read_audio()
            elif self._skip is not None:
                self._skip()
            if not self._events:
                return []
            out, self._events = self._events, []
            return out
        prev, self._changes = self._changes, changes
        self._check_alarms(now)
        down, inf = self._down, float("inf")
        # which circuits to look at: all of them after a CAS or alarm change (Span.changes moved,
        # or the backend keeps no count), a line timer due or an alarm; otherwise (a register
        # running somewhere on the span, the usual case at full load) only the circuits that can
        # have work: registers and recognising lines (hot), and those a request or a signal
        # touched since (_drain, _write_cas). Looking at one more is harmless (the loop below
        # skips a quiet circuit), missing one is not: both sets are supersets.
        full = changes is None or changes != prev or now >= self._next_due or down
        if full:
            chans: Any = self.channels.values()
        else:
            order = self._order
            chans = [self.channels[ts] for ts in sorted(self._hot | self._touched, key=order.__getitem__)]
        self._touched = set()
        cas_all = None if down else getattr(span, "cas_all", None)
        if cas_all is not None:         # one call for the 30 circuits' abcd bits, not 30
            rxs = cas_all()
            cas = rxs.__getitem__
        else:
            cas = span.cas
        # line signals first: a change the card stamped (Span.cas_age: how long each abcd has
        # been on the line) is recognised 20 ms after it began and dated then (Q.421 20 +/- 10
        # ms), so before the MF signals of this block that came after it
        age = None if down else getattr(span, "cas_age", None)
        active: list[tuple[_Channel, int]] = []
        for ch in chans:
            rx = -1 if down else cas(ch.ts)
            if rx != ch.rx_seen:
                if not down:
                    a = age(ch.ts) if age is not None else None
                    ch.line.receive(rx, now, None if a is None else now - a)
                    self._drain(ch, now)
            elif now >= ch.quiet_until:
                if not down and ch.line.recognising:
                    ch.line.receive(rx, now)
                    self._drain(ch, now)
            elif ch.mf_forward is None and (ch.reg is None or ch.reg.finished):
                # no register listening (none, or finished: a call in conversation), no timer
                # due and the same abcd bits as last block: nothing to do (every request that
                # changes it goes through _drain or _write_cas, which end the quiet spell):
                # most circuits, most blocks, at full load
                continue
            active.append((ch, rx))
        self._hearing = bool(self._dtmf_on or self._mf)
        if self._hearing:
            self._read_audio()
        elif self._skip is not None:
            self._skip()
        for ch, rx in active:
            ch.line.handle_timer(now)
            if ch.reg is not None:
                ch.reg.handle_timer(now)
            self._drain(ch, now)
            self._write_cas(ch)
            d = ch.line.timer_deadline()
            if ch.reg is not None:
                rd = ch.reg.timer_deadline()
                if rd is not None and (d is None or rd < d):
                    d = rd
            ch.rx_seen = rx
            ch.quiet_until = inf if d is None else d
        # the next block may be a quiet one (above) until the earliest line timer, unless a
        # register runs, a line is recognising a signal or a circuit was touched meanwhile
        if full:
            hot: set[int] = set()
            due = inf
            chans = self.channels.values()
        else:
            hot, due = self._hot, self._next_due
        for ch in chans:
            if ch.mf_forward is not None or ch.line.recognising or (ch.reg is not None and not ch.reg.finished):
                hot.add(ch.ts)
            else:
                hot.discard(ch.ts)
                if ch.quiet_until < due:
                    due = ch.quiet_until
        self._hot, self._next_due = hot, due
        self._wake = -1.0 if hot or self._touched else due
        self._hearing = bool(self._dtmf_on or self._mf)
        out, self._events = self._events, []
        return out

    def _read_audio(self) -> None:
        read = self.span.read_audio
        while (blk := read()) is not None:
            self._audio(blk)

    def make_call(self, called: str, calling: str | None, now: float,
                  circuit: Circuit | None = None, *, category: int | None = None) -> Circuit:
        """Seize a circuit and send ``called`` by MFC; ``category`` overrides the configured KD."""
        try:
            check_digits(called, "called number")
            if calling:
                check_digits(calling, "calling number")
        except (TypeError, ValueError) as exc:
            raise TrunkError(str(exc), cause=Cause.INVALID_NUMBER_FORMAT) from None
        if not called:
            raise TrunkError("called number is empty", cause=Cause.INVALID_NUMBER_FORMAT)
        if circuit is not None:
            ch = self._channel(circuit)
            if not self._free(ch):
                raise TrunkError(f"circuit {circuit} is not idle ({ch.line.state.value})",
                                 cause=Cause.NO_CIRCUIT_AVAILABLE)
        else:
            # hunt one way while the far end hunts the other: double seizures stay rare
            order = sorted(self.channels.items(), reverse=self.config.hunt == "descending")
            free = [c for ts, c in order if self._free(c)]
            if not free:
                raise TrunkError("no idle circuit", cause=Cause.NO_CIRCUIT_AVAILABLE)
            ch = free[0]
        cfg = self.config
        kd = cfg.kd_signal if category is None else category
        if isinstance(kd, bool) or not isinstance(kd, int) or not 1 <= kd <= 15:
            raise TrunkError(f"category must be a signal 1..15, not {category!r}")
        ch.reg = OutgoingRegister(called, calling or None, variant=self.variant, ka=cfg.ka_signal, kd=kd,
                                  timers=cfg.timers, name=f"mfc-out-{ch.ts}",
                                  end_of_digits=cfg.end_of_digits)
        ch.call = _Call("out", called, calling or None, announced=True, kd=kd)
        ch.line.seize(now)
        self._write_cas(ch)
        return (self.number, ch.ts)

    def alert(self, circuit: Circuit, now: float) -> None:
        ch = self._channel(circuit)
        if ch.call is None or ch.call.direction != "in":
            raise TrunkError(f"no incoming call on {circuit}")
        if isinstance(ch.reg, IncomingRegister) and not ch.reg.finished:
            ch.reg.decide("free", now)
            self._drain(ch, now)

    def answer(self, circuit: Circuit, now: float) -> None:
        ch = self._channel(circuit)
        if ch.call is None or ch.call.direction != "in" or ch.call.released:
            raise TrunkError(f"no incoming call to answer on {circuit}")
        if isinstance(ch.reg, IncomingRegister) and not ch.reg.finished:
            ch.call.answer_pending = True       # B1 first, then the answer signal
            ch.reg.decide("free", now)
            self._drain(ch, now)
            return
        self._line_answer(ch, now)

    def release(self, circuit: Circuit, cause: int, now: float) -> None:
        ch = self._channel(circuit)
        call = ch.call
        if call is None or call.released or call.local:
            return   # nothing to clear, or clearing already: release is idempotent
        call.local = True
        call.cause = int(cause)
        reg = ch.reg
        if call.direction == "in" and isinstance(reg, IncomingRegister) and not reg.finished:
            role = CAUSE_ROLES.get(int(cause))
            reg.decide(OUTCOMES[role] if role else "congestion", now)   # told by the B signal
            self._drain(ch, now)
            return
        if reg is not None and not reg.finished:
            reg.abort(now, "released by the call model")
        self._stop_mf(ch)
        try:
            ch.line.clear(now, cause)
        except LocalProtocolError:
            pass
        self._drain(ch, now)
        self._write_cas(ch)

    def timer_deadline(self) -> float | None:
        """The next line/register timer, or the next 20 ms block while MF or DTMF audio is being
        listened to (audio arrives without board events, so it must be polled)."""
        deadlines = [d for ch in self.channels.values()
                     for d in (ch.line.timer_deadline(), ch.reg.timer_deadline() if ch.reg else None)
                     if d is not None]
        if self._dtmf_on or self._mf:
            deadlines.append(self._now + BLOCK_SECONDS)
        return min(deadlines, default=None)

    # ------------------------------------------------------------------ extras
    def block(self, circuit: Circuit, now: float) -> None:
        """Block a circuit (at once when idle, after the call otherwise)."""
        ch = self._channel(circuit)
        ch.line.block(now)
        self._drain(ch, now)
        self._write_cas(ch)

    def unblock(self, circuit: Circuit, now: float) -> None:
        ch = self._channel(circuit)
        ch.line.unblock(now)
        self._drain(ch, now)
        self._write_cas(ch)

    def state(self, circuit: Circuit) -> tuple[str, str | None]:
        """(line state, register state or None) of a circuit, for monitors and tests."""
        ch = self._channel(circuit)
        return ch.line.state.value, (ch.reg.state.value if ch.reg is not None else None)

    def resend_line_state(self, now: float) -> None:
        """Write every circuit's current CAS bits again, changed or not: after the card or
        the peer behind the span reconnected and may have lost what we sent."""
        self._now = now
        for ch in self.channels.values():
            ch.tx_cas = None
            self._write_cas(ch)

    def attach(self, span: CasSpan, now: float) -> None:
        """Move the trunk to a new span object (a reopened card, a reconnected peer): the
        circuits keep their names and calls, the line state is sent on the new span at once."""
        if not isinstance(span, CasSpan):
            raise TypeError(f"a No.1 trunk needs a CAS span (cas, set_cas, alarms, read_audio, "
                            f"write_audio), not {type(span).__name__}")
        self.span = span
        self._changes = None
        self._skip = getattr(span, "skip_audio", None)
        self._counted = getattr(span, "changes", None) is not None
        self.resend_line_state(now)

    def idle_circuits(self) -> list[Circuit]:
        return [(self.number, ts) for ts, ch in self.channels.items() if self._free(ch)]

    # ------------------------------------------------------------------ internals
    def _channel(self, circuit: Circuit) -> _Channel:
        try:
            span, ts = circuit
        except (TypeError, ValueError):
            raise TrunkError(f"circuit must be (span, timeslot), not {circuit!r}") from None
        if span != self.number or ts not in self.channels:
            raise TrunkError(f"circuit {circuit!r} is not on this No.1 trunk (span {self.number})")
        return self.channels[ts]

    def _free(self, ch: _Channel) -> bool:
        return (ch.line.state is LineState.IDLE and not ch.line.block_wanted and ch.call is None
                and not self._down)

    def _emit(self, ev: TrunkEvent) -> None:
        self._events.append(ev)

    def _write_cas(self, ch: _Channel) -> None:
        ch.quiet_until = self._wake = -1.0
        self._touched.add(ch.ts)
        tx = ch.line.data_to_send(self._now)
        if tx != ch.tx_cas:
            self.span.set_cas(ch.ts, tx)
            ch.tx_cas = tx

    def _check_alarms(self, now: float) -> None:
        alarms = self.span.alarms
        if alarms is self._alarms_seen:      # the same Alarm member as last block: no Flag arithmetic
            return
        self._alarms_seen = alarms
        down = bool(alarms & DOWN_ALARMS)
        if down == self._down:
            return
        self._down = down
        reason = str(self.span.alarms.name or "alarm") if down else ""
        self._next_due = -1.0            # every circuit at the next look
        for ch in self.channels.values():
            ch.quiet_until = -1.0
            if down:
                if ch.reg is not None and not ch.reg.finished:
                    ch.reg.abort(now, f"span alarm {reason}")
                ch.line.alarm(now, reason)
            else:
                ch.line.alarm_cleared(now)

    def _digits(self, blk: AudioBlock) -> None:
        """DTMF on the connected circuits: one detector for the span, the whole block in one call
        (one kernel call per block, not one per circuit; the block decoded once, shared with MF
        and call progress: AudioBlock.pcm)."""
        timeslots, t = blk.timeslots, blk.time
        if self._dtmf is None or self._dtmf[0] != timeslots:
            self._dtmf = (timeslots, DtmfDetector(len(timeslots)), {ts: i for i, ts in enumerate(timeslots)})
            self._dtmf_fresh = set(self._dtmf_on)
            self._dtmf_rows = None
        _, det, row = self._dtmf
        if self._dtmf_fresh:
            for ts in self._dtmf_fresh:
                if ts in row:
                    det.reset(row[ts])
            self._dtmf_fresh.clear()
        # only the connected channels, in one batch call (an idle one is skipped, and starts
        # afresh when it is fed again); their rows sorted again only when the set changed
        rows = self._dtmf_rows
        if rows is None:
            rows = self._dtmf_rows = np.array(sorted(row[ts] for ts in self._dtmf_on if ts in row), np.int32)
        if not rows.size:
            return
        pcm = blk.pcm()
        channels = self.channels
        for dev in det.process_channels(pcm[rows], t, rows):
            if dev.kind == "start":
                hit = channels.get(timeslots[dev.channel])
                if hit is not None and hit.dtmf:
                    self._emit(DigitsReceived((self.number, hit.ts), dev.time, dev.digit))

    def _mf_signals(self, blk: AudioBlock) -> tuple[dict[int, list[Any]], dict[int, int]]:
        """MF on the circuits whose register listens: one detector per direction for the span,
        all its listening circuits in one batch call (one A-law decode, one kernel call per
        direction and block, not one of each per circuit). The events per timeslot, and the
        detectors' row of each timeslot in the block."""
        timeslots, t = blk.timeslots, blk.time
        if self._mfdet is None or self._mfdet[0] != timeslots:
            n = len(timeslots)
            self._mfdet = (timeslots, MfDetector(n, forward=True, frequencies=6),
                           MfDetector(n, forward=False, frequencies=6), {ts: i for i, ts in enumerate(timeslots)})
            self._mf_fresh = set(self._mf)
        _, fwd, bwd, row = self._mfdet
        if self._mf_fresh:
            for ts in self._mf_fresh:
                if ts in row:
                    fwd.reset(row[ts])
                    bwd.reset(row[ts])
            self._mf_fresh.clear()
        pcm = blk.pcm()
        got: dict[int, list[Any]] = {}
        for det, forward in ((fwd, True), (bwd, False)):
            rows = np.array(sorted(row[ts] for ts, ch in self._mf.items()
                                   if ch.mf_forward is forward and ts in row), np.int32)
            if rows.size:
                for ev in det.process_channels(pcm[rows], t, rows):
                    got.setdefault(timeslots[ev.channel], []).append(ev)
        return got, row

    def _audio(self, blk: AudioBlock) -> None:
        if self._dtmf_on:
            self._digits(blk)
        if not self._mf:
            return
        t = blk.time
        got, row = self._mf_signals(blk)
        for ch in tuple(self._mf.values()):
            if ch.reg is None or ch.mf_forward is None or ch.ts not in row:
                continue
            for ev in got.get(ch.ts, ()):
                ch.reg.receive(int(ev.signal), ev.time)
            self._drain(ch, t)
            if ch.gen is not None and ch.reg is not None:
                tone = ch.reg.data_to_send(t)
                if tone:
                    self.span.write_audio(ch.ts, alaw_encode(ch.gen.tone(tone, BLOCK_OCTETS)))

    def _set_dtmf(self, ch: _Channel, on: bool) -> None:
        """DTMF detection on ``ch`` from the next block (its past forgotten) or no more."""
        if on:
            self._dtmf_fresh.add(ch.ts)
        elif not ch.dtmf:
            return
        ch.dtmf = on
        (self._dtmf_on.add if on else self._dtmf_on.discard)(ch.ts)
        self._dtmf_rows = None

    def _start_mf(self, ch: _Channel, outgoing: bool) -> None:
        v = self.variant
        # outgoing: we send forward signals and listen to the backward group on all six
        # frequencies even in China (four), to hear peers' out-of-table signals (Variant.tolerated_b)
        ch.mf_forward = not outgoing
        self._mf[ch.ts] = ch
        self._mf_fresh.add(ch.ts)       # its row starts afresh at the next block
        ch.gen = MfGenerator(forward=outgoing, level_dbm0=self.config.mf_level_dbm0,
                             frequencies=6 if outgoing else v.backward_frequencies)

    def _stop_mf(self, ch: _Channel) -> None:
        ch.mf_forward = None
        self._mf.pop(ch.ts, None)
        ch.gen = None

    def _line_answer(self, ch: _Channel, now: float) -> None:
        try:
            ch.line.answer(now)
        except LocalProtocolError as exc:
            raise TrunkError(str(exc)) from None
        if ch.call is not None:
            ch.call.answered = True
            self._set_dtmf(ch, True)
        self._write_cas(ch)

    def _released(self, ch: _Channel, cause: int, reason: str, remote: bool, now: float) -> None:
        self._set_dtmf(ch, False)
        call = ch.call
        if call is None or call.released:
            return
        call.released = True
        if call.announced:
            self._emit(Released((self.number, ch.ts), now, int(cause), remote, reason))

    # ---- the signals between the FSMs, and TrunkEvents ----
    def _drain(self, ch: _Channel, now: float) -> None:
        ch.quiet_until = self._wake = -1.0
        self._touched.add(ch.ts)
        for _ in range(8):   # an event may cause another (register done -> line clear)
            lev = ch.line.events()
            rev = ch.reg.events() if ch.reg is not None else []
            if not lev and not rev:
                return
            for e in lev:
                self._on_line(ch, e)
            for r in rev:
                self._on_register(ch, r)

    def _on_line(self, ch: _Channel, e: LineEvent) -> None:
        circuit = (self.number, ch.ts)
        call = ch.call
        k = e.kind
        if k == "seized":
            cfg = self.config
            ch.call = _Call("in")
            ask = cfg.ani is True or (cfg.ani == "auto" and not self.counters["ani_not_sent"])
            ch.reg = IncomingRegister(variant=self.variant, dnis_length=cfg.dnis_length, ani=ask,
                                      ani_after=cfg.ani_after, ani_max_digits=cfg.ani_max_digits,
                                      default_b=cfg.default_b, timers=cfg.timers, name=f"mfc-in-{ch.ts}",
                                      dnis_lengths=self._plan)
            self._start_mf(ch, outgoing=False)
            ch.reg.start(e.time)
        elif k == "seize_ack":
            if isinstance(ch.reg, OutgoingRegister) and ch.reg.state.value == "idle":
                self._start_mf(ch, outgoing=True)
                ch.reg.start(e.time)
                self._emit(Proceeding(circuit, e.time))
        elif k in ("answer", "reanswer"):
            if call is not None and not call.answered and not call.released:
                call.answered = True
                self._set_dtmf(ch, True)
                self._emit(Answered(circuit, e.time))
        elif k == "clear_back":
            self._released(ch, e.cause or Cause.NORMAL_CLEARING, "clear-back", True, e.time)
            ch.line.clear(e.time)                     # answer clear-back with clear-forward
        elif k == "clear_forward":
            if call is not None and call.direction == "in" and not call.announced and not call.failed_seizure:
                self._seizure_failed(ch, call, Cause.NORMAL_CLEARING, "clear-forward in the register", e.time)
            self._end_register(ch, e.time, "clear-forward")
            if call is not None:
                self._released(ch, call.cause if call.local else Cause.NORMAL_CLEARING,
                               "released" if call.local else "clear-forward", not call.local, e.time)
        elif k == "failed":
            self._end_register(ch, e.time, e.reason)
            self._released(ch, e.cause or Cause.NORMAL_UNSPECIFIED, e.reason, True, e.time)
        elif k == "glare":
            self._end_register(ch, e.time, "glare")
            if call is None or not self._repeat(ch, call, e):
                self._released(ch, e.cause or Cause.TEMPORARY_FAILURE, e.reason, True, e.time)
            ch.call = None
        elif k == "idle":
            if call is not None:
                self._released(ch, call.cause, "released", not call.local, e.time)
            self._end_register(ch, e.time, "idle")
            ch.call = None
            ch.reg = None
            self._stop_mf(ch)
            if ch.unavailable:
                ch.unavailable = False
                self._emit(CircuitState(circuit, e.time, True, "idle after a failed seizure"))
        elif k in ("blocked", "unavailable"):
            if k == "unavailable":
                ch.unavailable = False       # the CircuitState below says it from now on
            if k == "unavailable" and call is not None:
                # the circuit leaves service with our release unanswered (T_RELEASE / T_CLEAR_FWD)
                self._end_register(ch, e.time, e.reason)
                self._released(ch, call.cause, f"released; {e.reason}", not call.local, e.time)
                ch.call = None
                ch.reg = None
            self._emit(CircuitState(circuit, e.time, False, e.reason))
        elif k in ("unblocked", "available"):
            self._emit(CircuitState(circuit, e.time, True, e.reason))
        elif k == "error":
            self.errors += 1

    def _repeat(self, ch: _Channel, call: _Call, e: LineEvent) -> bool:
        """Our seizure of ``ch`` lost a double seizure: the automatic repeat attempt of ITU-T Q.12,
        the same call seized again on another idle circuit in hunting order (Reattempted), or,
        when none is idle, its end with cause 34. False when the call has no repeat left (or
        is not ours to repeat): the caller ends it as before (cause 41)."""
        if call.direction != "out" or call.released or call.local or call.repeats >= self.config.repeat_attempts:
            return False
        order = sorted(self.channels.items(), reverse=self.config.hunt == "descending")
        free = [c for ts, c in order if c is not ch and self._free(c)]
        old = (self.number, ch.ts)
        if not free:
            call.released = True
            self.counters["repeat_no_circuit"] += 1
            self._emit(Released(old, e.time, int(Cause.NO_CIRCUIT_AVAILABLE), True,
                                f"{e.reason}; no idle circuit for the repeat attempt"))
            return True
        new = free[0]
        cfg = self.config
        call.repeats += 1
        new.reg = OutgoingRegister(call.called, call.calling, variant=self.variant, ka=cfg.ka_signal,
                                   kd=cfg.kd_signal if call.kd is None else call.kd,
                                   timers=cfg.timers, name=f"mfc-out-{new.ts}",
                                   end_of_digits=cfg.end_of_digits)
        new.call = call
        new.line.seize(e.time)
        self._write_cas(new)
        self.counters["repeat_attempts"] += 1
        self._emit(Reattempted(old, e.time, (self.number, new.ts), int(e.cause or Cause.TEMPORARY_FAILURE),
                               f"{e.reason}: automatic repeat attempt (Q.12)", call.repeats))
        return True

    def _end_register(self, ch: _Channel, now: float, why: str) -> None:
        if ch.reg is not None and not ch.reg.finished:
            ch.reg.abort(now, why)
            ch.reg.events()
        self._stop_mf(ch)

    def _seizure_failed(self, ch: _Channel, call: _Call, cause: int, reason: str, now: float) -> None:
        """An incoming seizure failed before it was offered: say so at once (counted), and
        keep the circuit visibly unavailable until the far end clears forward."""
        call.failed_seizure = True
        ch.unavailable = True
        self.counters["failed_seizures"] += 1
        reg = ch.reg if isinstance(ch.reg, IncomingRegister) else None
        self._emit(SeizureFailed((self.number, ch.ts), now, False, f"seizure failed: {reason}", int(cause),
                                 reg.dnis if reg else "", reg.ani if reg else None))

    def _on_register(self, ch: _Channel, r: RegisterEvent) -> None:
        circuit = (self.number, ch.ts)
        call = ch.call
        if call is None:
            return
        if r.kind == "outcome":
            # the B signal (or an ending A signal) was recognised: the called party's answer may
            # follow at once; until now an answer would have come before the address was complete
            if call.direction == "out" and r.outcome == "free":
                try:
                    ch.line.alerted(r.time)
                except LocalProtocolError:
                    pass
        elif r.kind == "collected":
            if isinstance(ch.reg, IncomingRegister) and ch.reg.ani_absent:
                # asked with A6, the far end sent its category and no calling number: with
                # ani = "auto" this trunk asks no more (each such call costs T_MF_WAIT)
                self.counters["ani_not_sent"] += 1
            call.called, call.calling, call.announced = r.dnis, r.ani, True
            if not call.local:
                self._emit(IncomingCall(circuit, r.time, r.dnis, r.ani, r.kd, "no1",
                                        {"ka": r.ka, "variant": self.variant.name}))
        elif r.kind == "done":
            self._stop_mf(ch)
            if call.direction == "out":
                if r.outcome == "free":
                    try:
                        ch.line.alerted(r.time)
                    except LocalProtocolError:
                        pass
                    if not call.released and not call.answered:   # the answer may overtake B1's end
                        self._emit(Alerting(circuit, r.time))
                else:
                    cause = OUTCOME_CAUSES.get(r.outcome, Cause.NORMAL_UNSPECIFIED)
                    call.cause = cause
                    self._released(ch, cause, f"B{r.signal} {r.outcome}", True, r.time)
                    call.local = True
                    ch.line.clear(r.time, cause)
            else:
                if r.outcome == "free" and not call.local:
                    if call.answer_pending:
                        call.answer_pending = False
                        self._line_answer(ch, r.time)
                else:
                    # we refused (busy / unallocated / congestion): the caller clears forward
                    call.local = True
                    if call.cause == Cause.NORMAL_CLEARING:
                        call.cause = OUTCOME_CAUSES.get(r.outcome, Cause.NORMAL_UNSPECIFIED)
                    try:
                        ch.line.clear(r.time, call.cause)
                    except LocalProtocolError:
                        pass
        elif r.kind == "failed":
            self._stop_mf(ch)
            if call.direction == "in" and not call.announced and not call.local and not call.failed_seizure:
                self._seizure_failed(ch, call, r.cause or Cause.NORMAL_UNSPECIFIED, f"register: {r.reason}", r.time)
            if call.released or (call.local and call.direction == "out"):
                return
            call.cause = r.cause or Cause.NORMAL_UNSPECIFIED
            self._released(ch, call.cause, f"register: {r.reason}", True, r.time)
            call.local = True
            try:
                ch.line.clear(r.time, call.cause)
            except LocalProtocolError:
                pass
