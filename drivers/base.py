"""The Board API: one interface over every E1 backend (python-can's BusABC pattern).

A *board* has one or more *spans* (E1 lines, 2.048 Mbit/s, 32 timeslots). Per span:

* voice timeslots 1-15 and 17-31 carry A-law audio, read and written in 20 ms
  blocks (160 octets per timeslot);
* TS16 carries either CAS line signalling (abcd bits per channel, G.704 multiframe)
  or a 64 kbit/s HDLC channel (an SS7 signalling link);
* alarms (LOS, AIS, LOF, RAI, ...) and error counters come from the deframer.

Backends subclass :class:`Board` and :class:`Span`; the registry opens them by name.
Reads never block: a backend buffers received blocks, frames and events until read.
Time is passed in or owned by the board's clock, so the in-process simulator runs in
virtual time in tests (``board.advance(seconds)``) and in real time in production.
"""
from __future__ import annotations

import abc
import enum
import logging
import itertools
import numbers
from typing import Any
from dataclasses import dataclass, field
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping

log = logging.getLogger(__name__)

#: Octets per timeslot in one 20 ms block (8000 frames/s x 0.020 s).
BLOCK_OCTETS = 160
BLOCK_SECONDS = 0.020
#: Voice timeslots of a G.704 E1 span; TS0 is framing, TS16 signalling.
VOICE_TIMESLOTS: tuple[int, ...] = tuple(list(range(1, 16)) + list(range(17, 32)))
#: A-law idle/silence octet (0 linear after even-bit inversion).
ALAW_SILENCE = 0xD5


class BoardError(Exception):
    """Base of every error a board raises."""


class ConfigError(BoardError, ValueError):
    """A span, timeslot, CAS value or option is out of range or inconsistent."""


class BoardClosed(BoardError):
    """The board was closed, or the peer behind it went away."""


class WireProtocolError(BoardError):
    """A wire-protocol message was truncated, malformed or of an unknown type."""


class Alarm(enum.Flag):
    """Span alarms (G.775 / G.732 defects as seen by the deframer)."""

    NONE = 0
    LOS = enum.auto()      #: loss of signal: no ones for a while
    AIS = enum.auto()      #: alarm indication signal: all ones (< 3 zeros in 2 frames)
    LOF = enum.auto()      #: loss of frame alignment (3 consecutive bad FAS)
    RAI = enum.auto()      #: remote alarm indication: A bit of NFAS set by the far end
    LOMF = enum.auto()     #: loss of TS16 CAS multiframe alignment
    MF_AIS = enum.auto()   #: TS16 all ones
    MF_RAI = enum.auto()   #: remote multiframe alarm: Y bit of TS16 frame 0
    LOCRC = enum.auto()    #: loss of CRC-4 multiframe alignment


@dataclass
class Counters:
    """Monotonic per-span counters."""

    frames_rx: int = 0
    frames_tx: int = 0
    fas_errors: int = 0
    crc4_errors: int = 0      #: local CRC-4 sub-multiframe errors
    e_bits: int = 0           #: far-end block errors reported in E bits
    slips: int = 0
    audio_overruns: int = 0   #: received blocks dropped because nobody read them
    audio_underruns: int = 0  #: transmit blocks filled with silence
    hdlc_rx: int = 0
    hdlc_tx: int = 0
    hdlc_fcs_errors: int = 0
    hdlc_aborts: int = 0
    realignments: int = 0     #: frame alignment regained after a loss (G.706 4.1.2)


@dataclass(frozen=True, slots=True)
class SpanConfig:
    """How a span is framed and signalled."""

    framing: str = "crc4"         #: "crc4" (CRC-4 multiframe) or "df" (double frame, no CRC-4)
    signalling: str = "cas"       #: "cas" (TS16 abcd bits) or "ccs" (TS16 is an HDLC link)
    hdlc_timeslots: tuple[int, ...] = ()  #: HDLC channels; "ccs" implies (16,)

    def __post_init__(self) -> None:
        if self.framing not in ("crc4", "df"):
            raise ConfigError(f"framing must be 'crc4' or 'df', not {self.framing!r}")
        if self.signalling not in ("cas", "ccs"):
            raise ConfigError(f"signalling must be 'cas' or 'ccs', not {self.signalling!r}")
        for ts in self.hdlc_timeslots:
            check_timeslot(ts, allow_ts16=True)
        if self.signalling == "cas" and 16 in self.hdlc_timeslots:
            raise ConfigError("TS16 carries CAS on this span; it cannot also be an HDLC link")

    @property
    def hdlc(self) -> tuple[int, ...]:
        if self.signalling == "ccs" and 16 not in self.hdlc_timeslots:
            return (16,) + tuple(self.hdlc_timeslots)
        return tuple(self.hdlc_timeslots)


@dataclass(frozen=True, slots=True)
class AudioBlock:
    """20 ms of received audio: ``data`` holds 160 A-law octets per timeslot, timeslot-major."""

    span: int
    timeslots: tuple[int, ...]
    data: bytes
    time: float  #: board time of the first sample
    _pcm: Any = field(default=None, repr=False, compare=False)

    def timeslot(self, ts: int) -> bytes:
        i = self.timeslots.index(ts)
        return self.data[i * BLOCK_OCTETS:(i + 1) * BLOCK_OCTETS]

    def pcm(self) -> Any:
        """The block as linear PCM: an int16 array, one row per timeslot of :attr:`timeslots`.
        Decoded once (the G.711 kernel) and shared by every reader of this block: the
        stacks' DTMF and MF detectors and call progress each used to decode it again, per
        span and block. Read it, do not modify it (a copy: ``blk.pcm().copy()``)."""
        pcm = self._pcm
        if pcm is None:
            global _alaw_decode
            if _alaw_decode is None:
                from _boardcore.g711 import alaw_decode as _alaw_decode
            pcm = _alaw_decode(self.data).reshape(len(self.timeslots), -1)
            object.__setattr__(self, "_pcm", pcm)
        return pcm


_alaw_decode: Any = None


# ---- events a board reports (read with Board.poll_events() or ``async for``) ----

@dataclass(frozen=True, slots=True)
class AlarmChanged:
    span: int
    alarms: Alarm
    time: float


@dataclass(frozen=True, slots=True)
class CasChanged:
    span: int
    timeslot: int
    abcd: int
    time: float


@dataclass(frozen=True, slots=True)
class HdlcFrameReady:
    span: int
    timeslot: int
    time: float


BoardEvent = AlarmChanged | CasChanged | HdlcFrameReady

#: ``fn(alaw, time)``: the 160 A-law octets of one timeslot in a block read, and its time.
AudioListener = Callable[[bytes, float], None]
#: ``fn(block)``: every :class:`AudioBlock` read from a span (all its timeslots at once).
BlockListener = Callable[[AudioBlock], None]


_VOICE_SET = frozenset(VOICE_TIMESLOTS)


def check_timeslot(ts: int, *, allow_ts16: bool = False) -> int:
    """Validate a timeslot number; returns it or raises ConfigError."""
    if type(ts) is int and ts in _VOICE_SET:      # the common case, per channel per block: no ABC check
        return ts
    if not isinstance(ts, numbers.Integral) or isinstance(ts, bool):
        raise ConfigError(f"timeslot must be an int, not {type(ts).__name__}")
    ts = int(ts)
    if ts == 16 and allow_ts16:
        return ts
    if ts not in VOICE_TIMESLOTS:
        raise ConfigError(f"timeslot {ts} is not a voice timeslot (1-15, 17-31)")
    return ts


def as_alaw(data: object) -> bytes:
    """A-law octets from any 1-octet-per-item buffer (bytes, bytearray, uint8 array); else TypeError."""
    if isinstance(data, str):
        raise TypeError("audio is A-law octets (bytes-like), not str")
    try:
        mv = memoryview(data)  # type: ignore[arg-type]  # non-buffers raise TypeError, reported below
    except TypeError:
        raise TypeError(f"audio is A-law octets (bytes-like), not {type(data).__name__}") from None
    if mv.itemsize != 1:
        raise TypeError(f"audio must be 8-bit A-law octets, got items of {mv.itemsize} octets "
                        f"(format {mv.format!r}); encode linear PCM with _boardcore.g711 first")
    return mv.tobytes()


def check_abcd(abcd: int) -> int:
    """Validate CAS bits; 0000 must not be sent (G.704 5.1.3.2)."""
    if not isinstance(abcd, numbers.Integral) or isinstance(abcd, bool) or not 0 < abcd <= 0xF:
        raise ConfigError(f"abcd must be 0x1..0xF (0000 is forbidden on TS16), not {abcd!r}")
    return int(abcd)


# ---- span plumbing the backends share (checks and buffers behind the Span API) ----

def check_audio_timeslot(ts: int, hdlc: Iterable[int], span: int) -> int:
    """Validate an audio timeslot of ``span``: a voice timeslot not carrying HDLC; returns ``ts``."""
    check_timeslot(ts)
    if ts in hdlc:
        raise ConfigError(f"timeslot {ts} of span {span} carries HDLC, not audio")
    return ts


def audio_timeslots(timeslots: Iterable[int] | None, default: Iterable[int],
                    hdlc: Iterable[int], span: int) -> tuple[int, ...]:
    """The timeslots a ``read_audio`` call asks for (``default`` when None), each checked."""
    if timeslots is None:
        tss = tuple(default)
    else:
        tss = tuple(check_audio_timeslot(ts, hdlc, span) for ts in timeslots)
    if not tss:
        raise ConfigError("read_audio needs at least one timeslot")
    return tss


def next_block_seq(cursor: dict[int, int], timeslots: Iterable[int], first: int, end: int,
                   counters: Counters, skipped: int = 0) -> int | None:
    """Number of the block ``timeslots`` read next from a ring holding blocks ``first..end-1``.

    Blocks that left the ring unread count as ``counters.audio_overruns``, except those
    before ``skipped`` (passed over on purpose, :meth:`Span.skip_audio`); the timeslots'
    cursors move past the block returned. None when there is no new block.
    """
    tss = timeslots if isinstance(timeslots, (tuple, list)) else tuple(timeslots)
    get = cursor.get               # map over C callables: no generator frame per timeslot (every block)
    seq = min(map(get, tss, itertools.repeat(first, len(tss))))
    if seq < skipped:
        seq = skipped
    if seq < first:
        counters.audio_overruns += first - seq
        seq = first
    if seq >= end:
        return None
    cursor.update(zip(tss, itertools.repeat(seq + 1)))
    return seq


def queue_audio(queue: bytearray, alaw: bytes, limit: int, span: int, ts: int) -> None:
    """Append ``alaw`` to a transmit queue; BoardError (nothing queued) when over ``limit`` octets."""
    if len(queue) + len(alaw) > limit:
        raise BoardError(f"span {span} TS{ts}: transmit queue full "
                         f"({len(queue)} octets queued, limit {limit})")
    queue += alaw


def hdlc_channel(channels: Mapping[int, HdlcChannel], ts: int, span: int) -> HdlcChannel:
    """The HDLC channel of ``span`` on ``ts``; ConfigError naming the configured ones otherwise."""
    ch = channels.get(ts)
    if ch is None:
        raise ConfigError(f"span {span} has no HDLC channel on TS{ts!r} "
                          f"(configured: {sorted(channels) or 'none'})")
    return ch


def need_cas(cas: bool, span: int) -> None:
    """ConfigError unless ``span`` signals CAS (a CCS span's TS16 carries no CAS bits)."""
    if not cas:
        raise ConfigError(f"span {span} signals CCS: TS16 carries no CAS bits")


class HdlcChannel(abc.ABC):
    """A 64 kbit/s HDLC channel on one timeslot: whole frames in and out, FCS handled below."""

    timeslot: int

    @abc.abstractmethod
    def send(self, frame: bytes) -> None:
        """Queue one frame (without FCS) for transmission."""

    @abc.abstractmethod
    def recv(self) -> bytes | None:
        """The next received frame with a good FCS (FCS stripped), or None."""

    def recv_all(self) -> list[bytes]:
        out = []
        while (f := self.recv()) is not None:
            out.append(f)
        return out


#: G.168 echo canceller tails (ms): 64 by default, 128 at most (8 taps per ms).
ECHO_TAIL_DEFAULT_MS = 64
ECHO_TAIL_MAX_MS = 128


@dataclass(frozen=True, slots=True)
class EchoConfig:
    """The line echo canceller of one voice timeslot (G.168): its tail in ms (1..128)."""

    tail_ms: int = ECHO_TAIL_DEFAULT_MS

    def __post_init__(self) -> None:
        t = self.tail_ms
        if isinstance(t, bool) or not isinstance(t, numbers.Integral):
            raise ConfigError(f"echo canceller tail_ms must be an int, got {type(t).__name__}")
        if not 1 <= int(t) <= ECHO_TAIL_MAX_MS:
            raise ConfigError(f"echo canceller tail_ms must be 1..{ECHO_TAIL_MAX_MS} ms, got {t}")


class Span(abc.ABC):
    """One E1 line of a board."""

    number: int
    config: SpanConfig
    #: True when the card cancels line echo itself (its capability report says so): the
    #: backend then passes :meth:`echo_canceller` settings to it (:meth:`_echo_changed`);
    #: otherwise the host cancels, on the audio it reads (:class:`HostEcho`).
    echo_on_card: bool = False

    def echo_canceller(self, ts: int, tail_ms: int | None = ECHO_TAIL_DEFAULT_MS) -> EchoConfig | None:
        """Enable the G.168 echo canceller on voice timeslot ``ts`` with a ``tail_ms`` tail
        (64 ms default, 128 at most), change its tail, or disable it (``tail_ms=None``).
        Returns the timeslot's setting. ``span.echo_canceller(5)`` / ``(5, tail_ms=128)``."""
        ts = check_audio_timeslot(ts, self.config.hdlc, self.number)
        cfg = None if tail_ms is None else EchoConfig(tail_ms)
        table: dict[int, EchoConfig] = self.__dict__.setdefault("_echo", {})
        if cfg is None:
            table.pop(ts, None)
        else:
            table[ts] = cfg
        if not self.echo_on_card and "_host_echo" not in self.__dict__:
            self.__dict__["_host_echo"] = HostEcho(self)
        self._echo_changed(ts, cfg)
        return cfg

    def echo_configs(self) -> dict[int, EchoConfig]:
        """Voice timeslot -> echo canceller setting, for the timeslots that have one."""
        return dict(self.__dict__.get("_echo", {}))

    #: A count the backend moves on with every received change a poller must see: a CAS
    #: change, an alarm change, a received HDLC frame (never with plain audio). A reader that
    #: remembers it may skip a block in which it did not move (``changes`` unchanged: the same
    #: abcd bits, alarms and no new frame), for the price of one attribute read per span and
    #: block. None: the backend does not keep it (read everything every block).
    changes: int | None = None

    def cas_all(self) -> bytes:
        """The received abcd bits of every voice timeslot in one call: 32 octets indexed by
        timeslot (TS0 and TS16 are 0), ``span.cas_all()[ts] == span.cas(ts)``. One call per
        block instead of 30; backends that keep the bits in one table override it."""
        out = bytearray(32)
        for ts in VOICE_TIMESLOTS:
            out[ts] = self.cas(ts)
        return bytes(out)

    def skip_audio(self) -> None:
        """Move past every received block of every timeslot without reading it: a reader that
        needs no audio this block (no call listening) keeps its place current instead of
        finding a second-old block when it reads again. Blocks a listener waits for
        (:meth:`add_audio_listener`, :meth:`add_block_listener`, host echo cancellation) are
        read and handed out as :meth:`read_audio` does; skipped blocks are not overruns."""
        while self.read_audio() is not None:
            pass

    def _echo_changed(self, ts: int, cfg: EchoConfig | None) -> None:  # noqa: B027  (optional hook)
        """Backend hook: a card that cancels itself (``echo_on_card``) gets the setting here."""

    def read_audio(self, timeslots: Iterable[int] | None = None) -> AudioBlock | None:
        """The oldest unread 20 ms block for ``timeslots`` (default all voice), or None.

        The backend's :meth:`_read_audio` moves the octets; here the host cancels line echo
        on the timeslots that have an :meth:`echo_canceller` setting (unless the card does),
        then each timeslot's 160 octets go to its :meth:`add_audio_listener` listeners, so
        every reader and every listener hears the same, cancelled, signal."""
        blk = self._read_audio(timeslots)
        if blk is None:
            return None
        hooks = self.__dict__
        echo: HostEcho | None = hooks.get("_host_echo")
        if echo is not None:
            blk = echo.received(blk)
        if hooks.get("_listeners"):
            self._heard(blk)
        blocks: list[BlockListener] | None = hooks.get("_block_listeners")
        if blocks:
            for fn in tuple(blocks):
                try:
                    fn(blk)
                except Exception:
                    self.__dict__["_listener_errors"] = self.audio_listener_errors + 1
                    log.exception("span %s: block listener %r raised", self.number, fn)
        return blk

    def _listened(self) -> bool:
        """True when a block read here must reach someone besides its reader (listeners, echo)."""
        hooks = self.__dict__
        return bool(hooks.get("_listeners") or hooks.get("_block_listeners") or "_host_echo" in hooks)

    def write_audio(self, ts: int, alaw: bytes) -> None:
        """Queue A-law octets for transmission on ``ts`` (silence is sent when the queue is empty)."""
        self._write_audio(ts, alaw)
        echo: HostEcho | None = self.__dict__.get("_host_echo")
        if echo is not None:
            echo.sent(ts, alaw)

    @abc.abstractmethod
    def _read_audio(self, timeslots: Iterable[int] | None) -> AudioBlock | None:
        """Backend: take the oldest unread block for ``timeslots`` (checked here), or None."""

    @abc.abstractmethod
    def _write_audio(self, ts: int, alaw: bytes) -> None:
        """Backend: check ``ts`` and queue ``alaw`` for transmission."""

    # ---- audio listeners: hear every block anyone reads, without taking it from them
    def add_audio_listener(self, ts: int, fn: AudioListener) -> None:
        """Call ``fn(alaw, time)`` with the 160 octets of voice timeslot ``ts`` in every block
        :meth:`read_audio` returns (whoever reads it), and the block's time. A listener that
        raises is logged and counted (:attr:`audio_listener_errors`); the others still hear."""
        ts = check_audio_timeslot(ts, self.config.hdlc, self.number)
        if not callable(fn):
            raise TypeError(f"an audio listener is a callable taking (bytes, float), not {fn!r}")
        table: dict[int, list[AudioListener]] = self.__dict__.setdefault("_listeners", {})
        if ts not in table:
            self.__dict__.pop("_listen_order", None)
        table.setdefault(ts, []).append(fn)

    def remove_audio_listener(self, ts: int, fn: AudioListener) -> bool:
        """Stop calling ``fn`` for ``ts``; False when it was not listening there."""
        table: dict[int, list[AudioListener]] = self.__dict__.get("_listeners", {})
        fns = table.get(ts)
        if not fns or fn not in fns:
            return False
        fns.remove(fn)
        if not fns:
            del table[ts]
            self.__dict__.pop("_listen_order", None)
        return True

    def add_block_listener(self, fn: BlockListener) -> None:
        """Call ``fn(block)`` with every :class:`AudioBlock` :meth:`read_audio` returns (whoever
        reads it), after echo cancellation: one call per block for all its timeslots, so a
        span-wide detector shares the stacks' read instead of reading again. Errors are logged
        and counted as for audio listeners."""
        if not callable(fn):
            raise TypeError(f"a block listener is a callable taking an AudioBlock, not {fn!r}")
        self.__dict__.setdefault("_block_listeners", []).append(fn)

    def remove_block_listener(self, fn: BlockListener) -> bool:
        """Stop calling ``fn``; False when it was not listening."""
        fns: list[BlockListener] = self.__dict__.get("_block_listeners", [])
        if fn not in fns:
            return False
        fns.remove(fn)
        if not fns:
            del self.__dict__["_block_listeners"]
        return True

    def audio_listeners(self, ts: int) -> int:
        """How many listeners voice timeslot ``ts`` has."""
        return len(self.__dict__.get("_listeners", {}).get(ts, ()))

    @property
    def audio_listener_errors(self) -> int:
        """Listener calls that raised (each logged)."""
        return int(self.__dict__.get("_listener_errors", 0))

    def _heard(self, blk: AudioBlock) -> None:
        hooks = self.__dict__
        order: list[tuple[int, list[AudioListener]]] | None = hooks.get("_listen_order")
        if order is None:           # timeslot order, built again only when a timeslot gains or loses all
            order = hooks["_listen_order"] = sorted(hooks["_listeners"].items())
        tss, data, t = blk.timeslots, blk.data, blk.time
        n = len(data) // len(tss)
        pos = _positions(tss)
        for ts, fns in order:
            i = pos.get(ts)
            if i is None or not fns:
                continue
            chunk = data[i * n:(i + 1) * n]
            for fn in (fns if len(fns) == 1 else tuple(fns)):
                try:
                    fn(chunk, t)
                except Exception:
                    hooks["_listener_errors"] = self.audio_listener_errors + 1
                    log.exception("span %s TS%s: audio listener %r raised", self.number, ts, fn)

    @abc.abstractmethod
    def cas(self, ts: int) -> int:
        """The received abcd bits of the channel on voice timeslot ``ts``."""

    def cas_age(self, ts: int) -> float | None:
        """How long (s, board clock) the received abcd of ``ts`` has been on the line: from
        when the card first received it (a card that debounces CAS and stamps each change
        with the time it began, as docs/wire-protocol.md states) to the latest card time
        known. None when the backend does not know (no card debounce: the host's line
        signalling counts its recognition time from its own poll)."""
        return None

    @abc.abstractmethod
    def set_cas(self, ts: int, abcd: int) -> None:
        """Transmit ``abcd`` for the channel on voice timeslot ``ts``."""

    @abc.abstractmethod
    def hdlc(self, ts: int = 16) -> HdlcChannel:
        """The HDLC channel on ``ts`` (configured in SpanConfig.hdlc)."""

    @property
    @abc.abstractmethod
    def alarms(self) -> Alarm:
        """The span's current alarms."""

    @property
    @abc.abstractmethod
    def counters(self) -> Counters:
        """The span's counters (a copy)."""


_POSITIONS: dict[tuple[int, ...], dict[int, int]] = {}


def _positions(timeslots: tuple[int, ...]) -> dict[int, int]:
    """Timeslot -> its row in a block of ``timeslots`` (a few layouts, each built once)."""
    pos = _POSITIONS.get(timeslots)
    if pos is None:
        if len(_POSITIONS) > 256:
            _POSITIONS.clear()
        pos = _POSITIONS[timeslots] = {ts: i for i, ts in enumerate(timeslots)}
    return pos


class HostEcho:
    """Line echo cancellation on the host, for a span whose card does not cancel itself.

    What is sent on a timeslot with an :meth:`Span.echo_canceller` setting (:meth:`sent`,
    the canceller's Rin) queues as the card's transmit queue does; each block received on
    that timeslot (:meth:`received`, Sin) takes the next 160 samples of it as the echo
    reference and comes back cancelled (``_boardcore.echo``: NLMS, double talk, NLP +
    comfort noise, 2100 Hz phase-reversal disabler). One canceller per timeslot, so reads
    of any subset of timeslots keep each one aligned. Other timeslots pass unchanged;
    nothing is done when the card cancels itself.
    """

    #: most reference audio kept per timeslot (1 s): a writer far ahead of the line loses
    #: the oldest part, as the card's own queue limit would
    MAX_QUEUE = 8000

    def __init__(self, span: Span) -> None:
        self.span = span
        self._ec: dict[int, Any] = {}
        self._tails: dict[int, int] = {}
        self._tx: dict[int, bytearray] = {}

    def _configs(self) -> dict[int, EchoConfig]:
        return {} if self.span.echo_on_card else self.span.echo_configs()

    def sent(self, ts: int, alaw: bytes) -> None:
        """``alaw`` was queued for transmission on ``ts`` (the echo reference)."""
        if ts not in self._configs():
            self._tx.pop(ts, None)
            return
        q = self._tx.setdefault(ts, bytearray())
        q += alaw
        if len(q) > self.MAX_QUEUE:
            del q[:len(q) - self.MAX_QUEUE]

    def received(self, blk: AudioBlock) -> AudioBlock:
        """``blk`` with its echo-cancelled timeslots cancelled."""
        configs = self._configs()
        for ts in list(self._ec):
            if ts not in configs:               # cleared: forget the canceller and its state
                del self._ec[ts]
                self._tails.pop(ts, None)
        todo = [k for k, ts in enumerate(blk.timeslots) if ts in configs]
        if not todo or not blk.timeslots:
            return blk
        import numpy as np

        from _boardcore.echo import EchoCanceller
        from _boardcore.g711 import alaw_decode, alaw_encode

        n = len(blk.data) // len(blk.timeslots)
        data = bytearray(blk.data)
        for k in todo:
            ts = blk.timeslots[k]
            tail = configs[ts].tail_ms
            ec = self._ec.get(ts)
            if ec is None:
                ec = self._ec[ts] = EchoCanceller(1, tail)
            elif self._tails[ts] != tail:
                ec.set_tail(0, tail)
            self._tails[ts] = tail
            q = self._tx.setdefault(ts, bytearray())
            ref = bytes(q[:n]).ljust(n, bytes((ALAW_SILENCE,)))
            del q[:n]
            sin = np.asarray(alaw_decode(blk.data[k * n:(k + 1) * n]), np.int16)[None, :]
            out = ec.process(sin, np.asarray(alaw_decode(ref), np.int16)[None, :])
            data[k * n:(k + 1) * n] = alaw_encode(out[0])
        return AudioBlock(blk.span, blk.timeslots, bytes(data), blk.time)


class Board(abc.ABC):
    """A card with spans. Use as a context manager; iterate events with ``async for``."""

    #: registry name of the backend ("sim", "wire", "dahdi", ...)
    backend: str = ""

    @property
    @abc.abstractmethod
    def spans(self) -> tuple[Span, ...]:
        """All spans of the board."""

    def span(self, n: int) -> Span:
        spans = self.spans
        if not isinstance(n, int) or not 0 <= n < len(spans):
            raise ConfigError(f"span {n!r} out of range 0..{len(spans) - 1}")
        return spans[n]

    @abc.abstractmethod
    def now(self) -> float:
        """The board's clock in seconds (virtual time for the simulator in tests)."""

    @abc.abstractmethod
    def poll_events(self) -> list[BoardEvent]:
        """Events since the last call, oldest first (never blocks)."""

    def fileno(self) -> int:
        """A descriptor readable when events or data are pending (for select/asyncio)."""
        raise BoardError(f"{type(self).__name__} has no file descriptor")

    def advance(self, seconds: float) -> None:
        """Run a virtual-time board forward; real-time boards raise BoardError."""
        raise BoardError(f"{type(self).__name__} runs in real time; it cannot be advanced")

    @abc.abstractmethod
    def close(self) -> None:
        """Release the hardware or connection; further calls raise BoardClosed."""

    def __enter__(self) -> Board:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[BoardEvent]:
        return iter(self.poll_events())

    async def events(self, interval: float = BLOCK_SECONDS) -> AsyncIterator[BoardEvent]:
        """Async iteration of board events (polls every ``interval`` seconds)."""
        import asyncio

        while True:
            for ev in self.poll_events():
                yield ev
            await asyncio.sleep(interval)

    def __aiter__(self) -> AsyncIterator[BoardEvent]:
        return self.events()
