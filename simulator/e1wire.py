"""The E1 wire of the simulator: two endpoints and the 2.048 Mbit/s bits between them.

An :class:`Endpoint` is one end of a span (the board's side or the network's) and
implements the :class:`drivers.base.Span` API. Its transmit side fills a 20 ms
payload (160 frames x 32 timeslots) from the audio queues and HDLC encoders, and
frames it with the G.704 framer kernel (FAS/NFAS, CRC-4, TS16 CAS multiframe). A
:class:`Line` carries those octets through a :class:`~simulator.faults.FaultInjector`
to the receive side of the other endpoint, whose deframer kernel recovers frame
alignment, CAS, alarms and counters from the bits alone. Kernels are entered once
per block, never per frame.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterable

import numpy as np

from _boardcore.e1frame import E1Deframer, E1Framer
from _boardcore.hdlc import HdlcDecoder, HdlcEncoder
from drivers.base import (ALAW_SILENCE, BLOCK_OCTETS, BLOCK_SECONDS, VOICE_TIMESLOTS, Alarm,
                          AlarmChanged, AudioBlock, BoardClosed, BoardEvent, CasChanged,
                          Counters, HdlcChannel, HdlcFrameReady, Span, SpanConfig,
                          as_alaw, audio_timeslots, check_abcd, check_audio_timeslot, check_timeslot,
                          hdlc_channel, need_cas, next_block_seq, queue_audio)

from .casrx import CasDebouncer
from .faults import FaultInjector

FRAME_OCTETS = 32
#: G.732 consequent action: a receiver in one of these states sends RAI (A bit) back
_RAI_CAUSES = Alarm.LOS | Alarm.AIS | Alarm.LOF
_NO_SIGNAL = Alarm.LOS | Alarm.LOF
#: G.732 5.2 consequent action: a CAS receiver in one of these states sends the Y bit back
_MF_RAI_CAUSES = Alarm.LOMF | Alarm.MF_AIS
#: span timing: "internal" runs on the span's own oscillator (master, it slips when the far
#: clock differs), "line" recovers the clock from the received signal (slave, never slips)
TIMINGS = ("internal", "line")
#: ITU Q.421 idle abcd sent until the application sets something else (a=1 b=0 c=0 d=1)
DEFAULT_IDLE_ABCD = 0x9
#: received 20 ms blocks kept per span for readers (1 s)
RX_BLOCKS = 50
#: transmit audio queued per timeslot at most (60 s of A-law)
TX_QUEUE_OCTETS = 60 * 8000
MAX_HDLC_FRAME = 4096
MAX_QUEUED_EVENTS = 100_000


def channel_of(ts: int) -> int:
    """CAS channel number (1..30) of voice timeslot ``ts`` (G.704 Table 9)."""
    return ts if ts < 16 else ts - 1


def timeslot_of(channel: int) -> int:
    """Voice timeslot of CAS channel ``channel`` (1..30)."""
    return channel if channel < 16 else channel + 1


class SimHdlc(HdlcChannel):
    """An HDLC channel on one timeslot of a simulated span."""

    def __init__(self, endpoint: Endpoint, timeslot: int) -> None:
        self.timeslot = timeslot
        self._ep = endpoint
        self.encoder = HdlcEncoder()
        self.decoder = HdlcDecoder()
        self.rx: deque[bytes] = deque()
        self.rx_dropped = 0

    def send(self, frame: bytes) -> None:
        self._ep._check_open()
        if not isinstance(frame, (bytes, bytearray, memoryview)):
            raise TypeError(f"an HDLC frame is bytes, not {type(frame).__name__}")
        lo = int(getattr(self.decoder, "min_frame", 1))
        hi = int(getattr(self.decoder, "max_frame", MAX_HDLC_FRAME))
        if not lo <= len(frame) <= hi:
            # the receiving decoder would drop it (Q.703: at least BSN/FSN/LI): refuse, do not lose it
            raise ValueError(f"HDLC frame of {len(frame)} octets outside {lo}..{hi}")
        self.encoder.send(bytes(frame))
        self._ep._counters.hdlc_tx += 1

    def recv(self) -> bytes | None:
        return self.rx.popleft() if self.rx else None

    def mtp2_fill(self, on: bool = True) -> bool:
        """MTP2 fill-in on the card, as SS7 HDLC controllers do (``_boardcore.hdlc``'s mode):
        a received FISU or LSSU equal to the frame before it is counted (``fill_repeats``), not
        queued, and the last one sent is repeated instead of idle flags once the card at the
        other end filters too (else it would hand every repeat to its host). True: done."""
        on = self._fill_wanted = bool(on)
        self.decoder.mtp2_fill = on
        peer = self._peer()
        self.encoder.mtp2_fill = on and peer is not None and bool(peer.decoder.mtp2_fill)
        if peer is not None and getattr(peer, "_fill_wanted", False):
            peer.encoder.mtp2_fill = on
        return True

    def _peer(self) -> SimHdlc | None:
        """The channel on the same timeslot of the endpoint that transmits to this one."""
        ep = getattr(self._ep, "peer", None)
        return None if ep is None else ep._hdlc.get(self.timeslot)

    @property
    def fill_repeats(self) -> int:
        """Received fill-ins dropped as repeats of the frame before them (``mtp2_fill``)."""
        return int(self.decoder.fill_repeats)


class Endpoint(Span):
    """One end of a simulated span: the Span API over a framer (TX) and a deframer (RX)."""

    def __init__(self, number: int, config: SpanConfig, side: str = "near",
                 idle_abcd: int = DEFAULT_IDLE_ABCD) -> None:
        self.number = number
        self.config = config
        self.side = side
        crc4 = config.framing == "crc4"
        self._cas_mode = config.signalling == "cas"
        self.framer = E1Framer(crc4=crc4, cas=self._cas_mode)
        self.deframer = E1Deframer(crc4=crc4, cas=self._cas_mode)
        self._hdlc = {ts: SimHdlc(self, ts) for ts in config.hdlc}
        self._audio_ts = tuple(ts for ts in VOICE_TIMESLOTS if ts not in self._hdlc)
        self._audio_set = frozenset(self._audio_ts)
        self._audio_rows = np.array(self._audio_ts, dtype=np.intp)
        self._closed = False
        self.now = 0.0
        self.events: deque[BoardEvent] = deque()
        self.events_dropped = 0
        # transmit side
        self._pay = np.full((BLOCK_OCTETS, FRAME_OCTETS), ALAW_SILENCE, dtype=np.uint8)
        self._pay[:, 0] = 0
        if self._cas_mode:
            self._pay[:, 16] = 0
        self._line = np.zeros(BLOCK_OCTETS * FRAME_OCTETS, dtype=np.uint8)
        self._txq: dict[int, bytearray] = {}
        self._tx_live: set[int] = set()
        self._tx_cas = {ts: idle_abcd for ts in VOICE_TIMESLOTS} if self._cas_mode else {}
        for ts, abcd in self._tx_cas.items():
            self.framer.set_cas(channel_of(ts), abcd)
        self.force_rai = False
        self.force_mf_rai = False
        self.timing = "internal"
        # receive side
        self._rxout = np.zeros(4 * BLOCK_OCTETS * FRAME_OCTETS, dtype=np.uint8)
        self._acc = np.zeros((4 * BLOCK_OCTETS, FRAME_OCTETS), dtype=np.uint8)
        self._acc_n = 0
        self._ring: deque[tuple[np.ndarray, float]] = deque(maxlen=RX_BLOCKS)
        self._seq_next = 0            # sequence number of the next block to enter the ring
        self._cursor: dict[int, int] = {}   # per timeslot, once anyone read a subset of them
        self._all_next = 0            # the next block of a read of every timeslot, until then
        self._skipped = 0             # blocks before this one were passed over (skip_audio)
        self.changes: int = 0         # CAS / alarm changes and HDLC frames received (Span.changes)
        self._rx_cas = {ts: 0 for ts in VOICE_TIMESLOTS} if self._cas_mode else {}
        self._cas_all = bytes(32)     # the same bits indexed by timeslot (Span.cas_all), rebuilt on a change
        self._rx_cas_since = {ts: 0.0 for ts in self._rx_cas}   # when each was first received
        self.casrx = CasDebouncer()
        self._alarms = Alarm.NONE
        self._counters = Counters()
        self._crc_reported = 0

    # ---------------------------------------------------------------- Span API
    def _check_open(self) -> None:
        if self._closed:
            raise BoardClosed(f"span {self.number} ({self.side} end) is closed")

    def _read_audio(self, timeslots: Iterable[int] | None) -> AudioBlock | None:
        if self._closed:
            self._check_open()
        first = self._seq_next - len(self._ring)
        if timeslots is None and not self._cursor:
            # every reader so far read every timeslot (the stacks, taps, detectors): one cursor
            # for all of them, no per-timeslot bookkeeping
            seq = self._all_next
            if seq < self._skipped:
                seq = self._skipped
            if seq < first:
                self._counters.audio_overruns += first - seq
                seq = first
            if seq >= self._seq_next:
                return None
            self._all_next = seq + 1
            block, t = self._ring[seq - first]
            return AudioBlock(self.number, self._audio_ts, block[self._audio_rows].tobytes(), t)
        if not self._cursor:          # the first read of a subset: per-timeslot cursors from here on
            self._cursor.update(dict.fromkeys(self._audio_ts, self._all_next))
        tss = audio_timeslots(timeslots, self._audio_ts, self._hdlc, self.number)
        nxt = next_block_seq(self._cursor, tss, first, self._seq_next, self._counters, self._skipped)
        if nxt is None:
            return None
        block, t = self._ring[nxt - first]
        return AudioBlock(self.number, tss, block[list(tss)].tobytes(), t)

    def _write_audio(self, ts: int, alaw: bytes) -> None:
        if self._closed:
            self._check_open()
        if type(ts) is not int or ts not in self._audio_set:    # the common case: no more checking (True == 1)
            check_audio_timeslot(ts, self._hdlc, self.number)
        if type(alaw) is not bytes:
            alaw = as_alaw(alaw)
        q = self._txq.get(ts)
        if q is None:
            q = self._txq[ts] = bytearray()
        queue_audio(q, alaw, TX_QUEUE_OCTETS, self.number, ts)
        if q:
            self._tx_live.add(ts)

    def read_audio(self, timeslots: Iterable[int] | None = None) -> AudioBlock | None:
        # every reader asks until None, every block (stacks, taps, call progress): the common
        # "nothing new" answer without the Span API's wrapper
        if timeslots is None and not self._cursor and not self._closed:
            seq = self._all_next
            if seq < self._skipped:
                seq = self._skipped
            if seq >= self._seq_next:
                return None
        return Span.read_audio(self, timeslots)

    def write_audio(self, ts: int, alaw: bytes) -> None:
        # per written timeslot, every block (bridges, tones, prompts): the Span API's wrapper and
        # checks folded in for the common case (bytes to a live voice timeslot with a queue, no
        # host echo canceller); anything else takes the general path
        q = self._txq.get(ts)
        if (q is None or type(alaw) is not bytes or type(ts) is not int or self._closed
                or "_host_echo" in self.__dict__ or len(q) + len(alaw) > TX_QUEUE_OCTETS):
            Span.write_audio(self, ts, alaw)
            return
        q += alaw
        if q:
            self._tx_live.add(ts)

    def skip_audio(self) -> None:
        if self._closed:
            self._check_open()
        hooks = self.__dict__
        if "_listeners" in hooks or "_block_listeners" in hooks or "_host_echo" in hooks:
            super().skip_audio()
        else:
            self._skipped = self._seq_next

    def cas(self, ts: int) -> int:
        if self._closed or not self._cas_mode:
            self._check_open()
            self._need_cas()
        return self._rx_cas[check_timeslot(ts)]

    def cas_all(self) -> bytes:
        if self._closed or not self._cas_mode:
            self._check_open()
            self._need_cas()
        return self._cas_all

    def cas_age(self, ts: int) -> float | None:
        """How long the received abcd of ``ts`` has been on the line (its CasChanged time to now)."""
        self._check_open()
        self._need_cas()
        return max(0.0, self.now - self._rx_cas_since[check_timeslot(ts)])

    def tx_cas(self, ts: int) -> int:
        """The abcd bits this end transmits on ``ts``."""
        self._need_cas()
        return self._tx_cas[check_timeslot(ts)]

    def set_cas(self, ts: int, abcd: int) -> None:
        self._check_open()
        self._need_cas()
        ts = check_timeslot(ts)
        abcd = check_abcd(abcd)
        self.framer.set_cas(channel_of(ts), abcd)
        self._tx_cas[ts] = abcd

    def _need_cas(self) -> None:
        need_cas(self._cas_mode, self.number)

    def hdlc(self, ts: int = 16) -> HdlcChannel:
        self._check_open()
        return hdlc_channel(self._hdlc, ts, self.number)

    @property
    def alarms(self) -> Alarm:
        return self._alarms

    @property
    def counters(self) -> Counters:
        c = self._counters
        d = self.deframer.counters
        c.frames_rx = int(d.get("frames", 0))
        c.fas_errors = int(d.get("fas_errors", 0))
        c.crc4_errors = int(d.get("crc4_errors", 0))
        c.e_bits = int(d.get("e_bits", 0))
        c.slips = int(d.get("slips", 0))
        c.realignments = int(d.get("realignments", 0))
        c.hdlc_fcs_errors = sum(ch.decoder.fcs_errors for ch in self._hdlc.values())
        c.hdlc_aborts = sum(ch.decoder.aborts for ch in self._hdlc.values())
        return Counters(**{k: getattr(c, k) for k in c.__dataclass_fields__})

    def received_blocks(self, since: int) -> tuple[int, list[tuple[int, np.ndarray, float]]]:
        """Blocks received from sequence number ``since`` on (older ones are gone), and the next
        number to ask for: ``(next, [(seq, block, time), ...])``; ``block[ts]`` is TS ``ts``'s 160 octets.
        Independent of read_audio's positions (the wire server fans blocks out with it)."""
        first = self._seq_next - len(self._ring)
        start = max(since, first)
        out = [(seq, *self._ring[seq - first]) for seq in range(start, self._seq_next)]
        return self._seq_next, out

    def poll_events(self) -> list[BoardEvent]:
        """Events of this endpoint since the last call (the board gathers its spans' too)."""
        out = list(self.events)
        self.events.clear()
        return out

    def close(self) -> None:
        self._closed = True

    # ---------------------------------------------------------------- data path
    #: the board's count of events queued on any of its spans (SimBoard: poll_events with
    #: nothing queued answers without asking each span)
    queued: list[int] | None = None

    def _emit(self, ev: BoardEvent) -> None:
        self.changes += 1
        q = self.queued
        if q is not None:
            q[0] += 1
        if len(self.events) >= MAX_QUEUED_EVENTS:
            self.events.popleft()
            self.events_dropped += 1
        self.events.append(ev)

    def transmit_block(self) -> np.ndarray:
        """Frame the next 20 ms (160 frames) of this end's payload; returns the line octets."""
        pay = self._pay
        for ts in tuple(self._tx_live):
            q = self._txq[ts]
            n = min(len(q), BLOCK_OCTETS)
            if n:
                pay[:n, ts] = np.frombuffer(q, dtype=np.uint8, count=n)
                del q[:n]
            if n < BLOCK_OCTETS:
                pay[n:, ts] = ALAW_SILENCE
                if n:
                    self._counters.audio_underruns += 1
                else:
                    self._tx_live.discard(ts)
        for ts, ch in self._hdlc.items():
            pay[:, ts] = np.frombuffer(ch.encoder.pull(BLOCK_OCTETS), dtype=np.uint8)
        self.framer.remote_alarm = bool(self.force_rai or (self._alarms & _RAI_CAUSES))
        if self._cas_mode:
            self.framer.mf_remote_alarm = bool(self.force_mf_rai or (self._alarms & _MF_RAI_CAUSES))
        if self._alarms & Alarm.LOCRC and self.config.framing == "crc4" and not self.framer.pending_e_bits:
            # G.704 2.3.3.4 / G.706 Annex B: E bits are sent as 0 until the CRC-4 multiframe
            # is found, and for good in interworking (2 E bits per 2 ms multiframe)
            self.framer.report_crc_errors(2 * BLOCK_OCTETS // 16)
        n = self.framer.encode(pay, self._line)
        self._counters.frames_tx += n
        return self._line

    def receive_line(self, octets: np.ndarray, now: float) -> None:
        """Deframe one block of line octets received at ``now`` (end of the block)."""
        self.now = now
        if len(octets) + FRAME_OCTETS > len(self._rxout):
            self._rxout = np.zeros(2 * (len(octets) + FRAME_OCTETS), dtype=np.uint8)
        n = self.deframer.decode(octets, self._rxout) // FRAME_OCTETS
        crc = int(self.deframer.counters.get("crc4_errors", 0))
        if crc > self._crc_reported:
            # G.704 2.3.3.4: report received CRC-4 block errors back in our E bits
            self.framer.report_crc_errors(crc - self._crc_reported)
            self._crc_reported = crc
        frames = self._rxout[:n * FRAME_OCTETS].reshape(n, FRAME_OCTETS)
        if self._cas_mode and n and self.deframer.cas_aligned:
            # debounced per multiframe (simulator/casrx.py), reported first: their time is
            # when the new abcd was first received, up to a block before ``now``
            changed = self.casrx.feed(frames[:, 16], now)
            for chan, v, t in changed:
                ts = timeslot_of(chan)
                self._rx_cas[ts] = v
                self._rx_cas_since[ts] = t
                self._emit(CasChanged(self.number, ts, v, t))
            if changed:
                table = bytearray(32)
                for ts, v in self._rx_cas.items():
                    table[ts] = v
                self._cas_all = bytes(table)
        alarms = Alarm(int(self.deframer.alarms) & 0xFF)
        if not self._cas_mode:
            alarms &= ~(Alarm.LOMF | Alarm.MF_AIS | Alarm.MF_RAI)
        if alarms != self._alarms:
            self._alarms = alarms
            self._emit(AlarmChanged(self.number, alarms, now))
        if n:
            for ts, ch in self._hdlc.items():
                for f in ch.decoder.feed(frames[:, ts].tobytes()):
                    if len(ch.rx) >= MAX_QUEUED_EVENTS:
                        ch.rx.popleft()
                        ch.rx_dropped += 1
                    ch.rx.append(f)
                    self._counters.hdlc_rx += 1
                    self._emit(HdlcFrameReady(self.number, ts, now))
        self._collect_audio(frames, now)

    def receive_nothing(self, now: float) -> None:
        """A block time with no line attached (far end of a cross-connected span): LOS."""
        self.now = now
        if self._alarms != _NO_SIGNAL:
            self._alarms = _NO_SIGNAL
            self._emit(AlarmChanged(self.number, self._alarms, now))

    def _collect_audio(self, frames: np.ndarray, now: float) -> None:
        n = len(frames)
        if self._acc_n + n > len(self._acc):          # a burst after realignment: keep the newest
            drop = self._acc_n + n - len(self._acc)
            keep = self._acc_n - min(drop, self._acc_n)
            self._acc[:keep] = self._acc[self._acc_n - keep:self._acc_n]
            self._acc_n = keep
            frames = frames[-(len(self._acc) - keep):]
            n = len(frames)
        self._acc[self._acc_n:self._acc_n + n] = frames
        self._acc_n += n
        if self._acc_n < BLOCK_OCTETS and not self.deframer.aligned:
            # out of alignment: downstream gets all ones (AIS, G.704 consequent action)
            self._acc[self._acc_n:BLOCK_OCTETS] = 0xFF
            self._acc_n = BLOCK_OCTETS
        while self._acc_n >= BLOCK_OCTETS:
            block = np.ascontiguousarray(self._acc[:BLOCK_OCTETS].T)
            self._ring.append((block, now - BLOCK_SECONDS))
            self._seq_next += 1
            rest = self._acc_n - BLOCK_OCTETS
            self._acc[:rest] = self._acc[BLOCK_OCTETS:self._acc_n]
            self._acc_n = rest


class Line:
    """One direction of a span: ``src`` framer -> faults -> ``dst`` deframer."""

    def __init__(self, src: Endpoint | None, dst: Endpoint, faults: FaultInjector) -> None:
        self.src = src
        self.dst = dst
        dst.peer = src                # type: ignore[attr-defined]  # who transmits to dst (SimHdlc._peer)
        self.faults = faults
        self._hdlc_ts = tuple(dst.config.hdlc)
        self._cas = dst.config.signalling == "cas"

    def step(self, now: float) -> None:
        """Carry one 20 ms block; a line with no transmitter carries no signal (LOS)."""
        if self.src is None:
            # nothing transmits here: no signal. Skip the deframer's (costly) hunt over zeros.
            self.dst.receive_nothing(now)
            return
        f = self.faults
        self.src.force_rai = f.rai
        self.src.force_mf_rai = f.settings.mrai
        octets = self.src.transmit_block()
        if f.settings.clock_ppm:
            f.clock_slip(len(octets) // FRAME_OCTETS, free_running=self.dst.timing == "internal")
        if f.active:
            octets = f.apply(octets, self._hdlc_ts, self._cas)
        self.dst.receive_line(octets, now)
