"""The spans of a wire card (drivers/wire/client.py): each a mirror of what the card reported
(CAS, alarms, received audio and HDLC frames) and the Board API's reads and writes on it, which
go to the card through the board's connection."""
from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING

from drivers.base import (ALAW_SILENCE, BLOCK_OCTETS, VOICE_TIMESLOTS, Alarm, AudioBlock,
                          BoardClosed, Counters, EchoConfig, HdlcChannel, Span, SpanConfig,
                          as_alaw, audio_timeslots, check_abcd, check_audio_timeslot,
                          check_timeslot, hdlc_channel, need_cas, next_block_seq)

from . import protocol as P

if TYPE_CHECKING:
    from .client import WireBoard

#: received blocks each span keeps for its readers
RX_BLOCKS = 50


class WireHdlc(HdlcChannel):
    def __init__(self, span: WireSpan, timeslot: int) -> None:
        self.timeslot = timeslot
        self._span = span
        self.rx: deque[bytes] = deque()

    def send(self, frame: bytes) -> None:
        if not isinstance(frame, (bytes, bytearray, memoryview)):
            raise TypeError(f"an HDLC frame is bytes, not {type(frame).__name__}")
        if not 1 <= len(frame) <= P.MAX_PAYLOAD - 1:
            raise ValueError(f"HDLC frame of {len(frame)} octets outside 1..{P.MAX_PAYLOAD - 1}")
        self._span._board._send(P.HdlcFrame(self._span.number, self.timeslot, bytes(frame)))
        self._span._counters.hdlc_tx += 1

    def recv(self) -> bytes | None:
        with self._span._board._lock:
            return self.rx.popleft() if self.rx else None


class WireSpan(Span):
    """A span of a remote card: a mirror of its CAS, alarms and received data."""

    def __init__(self, board: WireBoard, number: int, info: P.SpanInfo) -> None:
        self._board = board
        self.number = number
        self.config = SpanConfig(info.framing, info.signalling,
                                 tuple(ts for ts in info.hdlc if ts != 16 or info.signalling == "cas"))
        self._hdlc = {ts: WireHdlc(self, ts) for ts in info.hdlc}
        self._audio_ts = tuple(ts for ts in VOICE_TIMESLOTS if ts not in self._hdlc)
        self._cas = {ts: 0 for ts in VOICE_TIMESLOTS}
        self._cas_since: dict[int, float | None] = {ts: None for ts in VOICE_TIMESLOTS}  # CAS_CHANGED time
        self._alarms = Alarm.NONE
        self._counters = Counters()
        self._cas_row = bytearray(32)  # the same bits indexed by timeslot: cas_all()
        self._subscribed: tuple[int, ...] = ()
        self._sub_set: frozenset[int] = frozenset()
        #: what the card reported it does itself on this span (CAPABILITIES)
        self.capabilities = P.Capability.NONE
        #: (card block number, the AUDIO's timeslots, its payload, block time): kept as received,
        #: sliced only when a reader asks for other timeslots than the card sent
        self._ring: deque[tuple[int, tuple[int, ...], bytes, float]] = deque(maxlen=RX_BLOCKS)
        self._next = 0                 # local number of the next block to enter the ring
        self._cursor: dict[int, int] = {}
        #: the one cursor of every voice timeslot while they are read together (then _cursor is
        #: empty); None while some are read apart (per-timeslot _cursor); -1: nothing read yet
        self._full: int | None = -1
        self._audio_set = frozenset(self._audio_ts)
        self._last_seq = -1            # card block number of the last AUDIO received
        #: blocks missing between two AUDIO messages of this span (the card skipped or dropped them)
        self.gaps = 0
        #: Span.changes: moved on by every CAS change, alarm change and HDLC frame received
        self.changes: int = 0

    # ---- audio
    def subscribe(self, timeslots: Iterable[int] | None = None) -> None:
        """Ask the card to stream ``timeslots`` (default all voice timeslots) from now on."""
        tss = self._audio_ts if timeslots is None else tuple(sorted(set(timeslots)))
        for ts in tss:
            check_audio_timeslot(ts, self._hdlc, self.number)
        self._subscribed = tss
        self._sub_set = frozenset(tss)
        b = self._board
        with b._lock:
            b._streaming = sum(1 for s in b._spans if s._subscribed) or 1
        b._send(P.AudioSubscribe(self.number, tss))

    def _read_audio(self, timeslots: Iterable[int] | None) -> AudioBlock | None:
        tss = self._audio_ts if timeslots is None else audio_timeslots(timeslots, self._audio_ts, self._hdlc,
                                                                        self.number)
        if tss != self._subscribed and not self._sub_set.issuperset(tss) and not self._board.closed:
            self.subscribe(sorted(self._sub_set | set(tss)))
        b = self._board
        with b._lock:
            first = self._next - len(self._ring)
            full = self._full
            seq: int | None
            if tss is self._audio_ts and full is not None:
                # every voice timeslot read together (the stacks do): one cursor, not 30
                seq = full if full >= first else first
                if 0 <= full < first:
                    self._counters.audio_overruns += first - full
                if seq >= self._next:
                    seq = None
                else:
                    self._full = seq + 1
            else:
                if full is not None and full >= 0:     # a part read: per-timeslot cursors from here
                    self._cursor = dict.fromkeys(self._audio_ts, full)
                self._full = None
                seq = next_block_seq(self._cursor, tss, first, self._next, self._counters)
                if seq is not None and tss is self._audio_ts:   # all at one place again
                    self._full = seq + 1
                    self._cursor = {}
            if seq is None:
                if b.closed:
                    raise BoardClosed(b.closed)
                return None
            _, sent, data, t = self._ring[seq - first]
        if sent == tss:                # the usual case: the block as the card sent it, no copy
            return AudioBlock(self.number, tss, data, t)
        n = len(data) // len(sent) if sent else BLOCK_OCTETS
        at = {ts: i for i, ts in enumerate(sent)}
        silence = bytes([ALAW_SILENCE]) * BLOCK_OCTETS
        return AudioBlock(self.number, tss, b"".join(silence if (i := at.get(ts)) is None
                                                     else data[i * n:(i + 1) * n] for ts in tss), t)

    def skip_audio(self) -> None:
        """Pass every received block over unread (listeners and host echo still read theirs).
        A skip is a read that wants nothing now: the span's audio must stream as for a read,
        since the card's blocks are what moves this board's clock (``now``) on: a host that
        only ever skips (a quiet trunk) would otherwise see time stand still."""
        if not self._subscribed and not self._board.closed:
            self.subscribe()
        if self._listened():
            return super().skip_audio()
        with self._board._lock:
            self._cursor = {}
            self._full = self._next
        return None

    def _write_audio(self, ts: int, alaw: bytes) -> None:
        if ts not in self._audio_set:
            check_audio_timeslot(ts, self._hdlc, self.number)
        self._board._queue_audio(self.number, ts, alaw if type(alaw) is bytes else as_alaw(alaw))

    # ---- echo: the card's own canceller when it reports one, else the host's (drivers.base)
    def _echo_changed(self, ts: int, cfg: EchoConfig | None) -> None:
        if self.echo_on_card:
            self._board._send(P.EchoSet(self.number, ts, 0 if cfg is None else cfg.tail_ms))

    # ---- CAS
    def _need_cas(self) -> None:
        need_cas(self.config.signalling == "cas", self.number)

    def cas(self, ts: int) -> int:
        self._need_cas()
        return self._cas[check_timeslot(ts)]

    def _changed(self) -> None:
        self.changes = (self.changes or 0) + 1

    def cas_all(self) -> bytes:
        self._need_cas()
        return bytes(self._cas_row)

    def cas_age(self, ts: int) -> float | None:
        """Card time from the CAS_CHANGED ``time`` of ``ts`` (when the card first received the
        abcd) to the latest card time heard; None when only CAS_STATE told it."""
        self._need_cas()
        since = self._cas_since[check_timeslot(ts)]
        return None if since is None else max(0.0, self._board._now - since)

    def set_cas(self, ts: int, abcd: int) -> None:
        self._need_cas()
        ts = check_timeslot(ts)
        abcd = check_abcd(abcd)
        self._board._send(P.CasSet(self.number, ts, abcd))

    # ---- HDLC, alarms, counters
    def hdlc(self, ts: int = 16) -> HdlcChannel:
        return hdlc_channel(self._hdlc, ts, self.number)

    @property
    def alarms(self) -> Alarm:
        return self._alarms

    @property
    def counters(self) -> Counters:
        """The card's counters (one request/reply), plus this side's audio counters."""
        reply = self._board._request(P.CountersQuery(self.number), P.CountersMsg)
        c = reply.counters()
        c.audio_overruns += self._counters.audio_overruns
        return c


__all__ = ["RX_BLOCKS", "WireHdlc", "WireSpan"]
