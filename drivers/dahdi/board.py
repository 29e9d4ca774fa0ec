"""The Board API on Linux DAHDI E1 cards (``drivers.open("dahdi", spans=[1, 2])``).

Spans are configured by ``dahdi_cfg`` (system.conf: framing, CRC-4, CAS or CCS, which
channels are HDLC); this backend opens what is there and checks it matches the
:class:`~drivers.base.SpanConfig` asked for. Per voice timeslot one
``/dev/dahdi/channel`` descriptor (``DAHDI_SPECIFY``, 160-octet blocks, A-law); CAS bits
with ``DAHDI_SETTXBITS`` / ``DAHDI_GETRXBITS`` and the ``BITSCHANGED`` event; HDLC
timeslots in HDLC-with-FCS mode (the kernel adds and checks the FCS; ``BADFCS`` and
``ABORT`` events are counted); alarms and error counters from ``DAHDI_SPANSTAT`` on
``/dev/dahdi/ctl``. All system calls go through a :class:`DeviceLayer`.
"""
from __future__ import annotations

import errno
import os
import time
from collections.abc import Iterable, Sequence
from typing import Any

from ..base import (
    BLOCK_OCTETS, VOICE_TIMESLOTS, Alarm, AlarmChanged, AudioBlock, Board,
    BoardClosed, BoardError, BoardEvent, CasChanged, ConfigError, Counters, HdlcChannel,
    HdlcFrameReady, Span, SpanConfig, as_alaw, audio_timeslots, check_abcd, check_audio_timeslot,
    hdlc_channel, need_cas, queue_audio,
)
from . import _ffi as abi
from .device import DeviceLayer

__all__ = ["DahdiBoard", "DahdiSpan", "DahdiHdlc", "alarms_of"]

#: Received audio kept per timeslot before the oldest blocks are dropped (1 s).
RX_LIMIT_OCTETS = 50 * BLOCK_OCTETS
#: Audio queued per timeslot for transmission before write_audio refuses more (2 s).
TX_QUEUE_OCTETS = 100 * BLOCK_OCTETS
#: HDLC channel block size: the largest frame + FCS the kernel takes in one write.
HDLC_BLOCKSIZE = abi.DAHDI_DEFAULT_BLOCKSIZE
MAX_HDLC_FRAME = HDLC_BLOCKSIZE - abi.HDLC_FCS_OCTETS
MAX_QUEUED = 1000


def alarms_of(dahdi_alarms: int, cas: bool) -> Alarm:
    """DAHDI span alarm bits as drivers.base.Alarm (red = LOS or LOF, blue = AIS, yellow = RAI)."""
    a = Alarm.NONE
    if dahdi_alarms & abi.DAHDI_ALARM_LOS:
        a |= Alarm.LOS
    if dahdi_alarms & abi.DAHDI_ALARM_LFA:
        a |= Alarm.LOF
    if dahdi_alarms & abi.DAHDI_ALARM_RED and not a & (Alarm.LOS | Alarm.LOF):
        a |= Alarm.LOF
    if dahdi_alarms & abi.DAHDI_ALARM_BLUE:
        a |= Alarm.AIS
    if dahdi_alarms & abi.DAHDI_ALARM_YELLOW:
        a |= Alarm.RAI
    if dahdi_alarms & abi.DAHDI_ALARM_LMFA:
        a |= Alarm.LOMF if cas else Alarm.LOCRC
    return a


class _Channel:
    """One open ``/dev/dahdi/channel`` descriptor bound to a timeslot."""

    def __init__(self, span: DahdiSpan, ts: int, hdlc: bool) -> None:
        board = span.board
        self.span = span
        self.ts = ts
        self.channo = span.basechan + ts
        self.hdlc = hdlc
        dev = board.device
        self.fd = dev.open(os.path.join(board.dev_dir, "channel"), os.O_RDWR | os.O_NONBLOCK)
        try:
            dev.ioctl(self.fd, abi.DAHDI_SPECIFY, abi.int_arg(self.channo))
            if hdlc:
                dev.ioctl(self.fd, abi.DAHDI_SET_BLOCKSIZE, abi.int_arg(HDLC_BLOCKSIZE))
                self._hdlc_mode(dev)
            else:
                dev.ioctl(self.fd, abi.DAHDI_SET_BLOCKSIZE, abi.int_arg(BLOCK_OCTETS))
                dev.ioctl(self.fd, abi.DAHDI_SETLAW, abi.int_arg(abi.DAHDI_LAW_ALAW))
        except OSError as exc:
            dev.close(self.fd)
            raise ConfigError(f"DAHDI channel {self.channo} (span {span.spanno} TS{ts}): "
                              f"{os.strerror(exc.errno or 0)}") from exc

    def _hdlc_mode(self, dev: DeviceLayer) -> None:
        try:
            dev.ioctl(self.fd, abi.DAHDI_HDLCFCSMODE, abi.int_arg(1))
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            # not a clear channel: fine if dahdi_cfg already made it an FCS-checking HDLC one
            p, buf = abi.new_params()
            dev.ioctl(self.fd, abi.DAHDI_GET_PARAMS, buf)
            if p.sigtype & abi.DAHDI_SIG_HDLCFCS != abi.DAHDI_SIG_HDLCFCS:
                raise ConfigError(f"DAHDI channel {self.channo} is neither a clear channel nor "
                                  f"HDLC with FCS (sigtype {p.sigtype:#x}); see system.conf") from exc

    def close(self) -> None:
        self.span.board.device.close(self.fd)


class DahdiHdlc(HdlcChannel):
    """An HDLC timeslot of a DAHDI span; the kernel does flags, bit stuffing and FCS-16."""

    def __init__(self, chan: _Channel) -> None:
        self.timeslot = chan.ts
        self._chan = chan
        self.rx: list[bytes] = []
        self.tx: list[bytes] = []

    def send(self, frame: bytes) -> None:
        span = self._chan.span
        span._check_open()
        if not isinstance(frame, (bytes, bytearray, memoryview)):
            raise TypeError(f"an HDLC frame is bytes, not {type(frame).__name__}")
        if not 1 <= len(frame) <= MAX_HDLC_FRAME:
            raise ValueError(f"HDLC frame of {len(frame)} octets outside 1..{MAX_HDLC_FRAME}")
        if len(self.tx) >= MAX_QUEUED:
            raise BoardError(f"span {span.number} TS{self.timeslot}: HDLC transmit queue full")
        self.tx.append(bytes(frame) + bytes(abi.HDLC_FCS_OCTETS))   # room for the kernel's FCS
        span._flush_hdlc(self)

    def recv(self) -> bytes | None:
        span = self._chan.span
        span._check_open()
        if not self.rx:
            span.pump()
        return self.rx.pop(0) if self.rx else None


class DahdiSpan(Span):
    """One E1 span of a DAHDI card."""

    def __init__(self, board: DahdiBoard, number: int, spanno: int, basechan: int,
                 config: SpanConfig) -> None:
        self.board = board
        self.number = number
        self.spanno = spanno
        self.basechan = basechan
        self.config = config
        self._cas_mode = config.signalling == "cas"
        self._chans: dict[int, _Channel] = {}
        self._hdlc: dict[int, DahdiHdlc] = {}
        self._rx: dict[int, bytearray] = {}
        self._rx_t0: dict[int, float] = {}
        self._rx_taken: dict[int, int] = {}
        self._tx: dict[int, bytearray] = {}
        self._rx_cas: dict[int, int] = {}
        self._alarms = Alarm.NONE
        self._counters = Counters()
        self._octets_rx = 0
        self._octets_tx = 0
        self._closed = False
        try:
            for ts in config.hdlc:
                ch = _Channel(self, ts, hdlc=True)
                self._chans[ts] = ch
                self._hdlc[ts] = DahdiHdlc(ch)
            for ts in VOICE_TIMESLOTS:
                if ts not in self._hdlc:
                    self._chans[ts] = _Channel(self, ts, hdlc=False)
                    self._rx[ts] = bytearray()
                    self._tx[ts] = bytearray()
                    self._rx_taken[ts] = 0
                    if self._cas_mode:
                        self._rx_cas[ts] = self._getrxbits(ts)
        except BaseException:
            self.close()
            raise

    # ---------------------------------------------------------------- helpers
    def _check_open(self) -> None:
        if self._closed:
            raise BoardClosed(f"DAHDI span {self.spanno} is closed")

    def _audio_ts(self, ts: int) -> int:
        return check_audio_timeslot(ts, self._hdlc, self.number)

    def _need_cas(self) -> None:
        need_cas(self._cas_mode, self.number)

    def _getrxbits(self, ts: int) -> int:
        arg = abi.int_arg()
        self.board.device.ioctl(self._chans[ts].fd, abi.DAHDI_GETRXBITS, arg)
        return abi.int_of(arg) & 0xF

    # ---------------------------------------------------------------- Span API
    def _read_audio(self, timeslots: Iterable[int] | None) -> AudioBlock | None:
        self._check_open()
        tss = audio_timeslots(timeslots, self._rx, self._hdlc, self.number)
        if any(len(self._rx[ts]) < BLOCK_OCTETS for ts in tss):
            self.pump()
            if any(len(self._rx[ts]) < BLOCK_OCTETS for ts in tss):
                return None
        first = tss[0]
        t = self._rx_t0.get(first, 0.0) + self._rx_taken[first] / 8000.0
        data = bytearray()
        for ts in tss:
            buf = self._rx[ts]
            data += buf[:BLOCK_OCTETS]
            del buf[:BLOCK_OCTETS]
            self._rx_taken[ts] += BLOCK_OCTETS
        return AudioBlock(self.number, tss, bytes(data), t)

    def _write_audio(self, ts: int, alaw: bytes) -> None:
        self._check_open()
        self._audio_ts(ts)
        alaw = as_alaw(alaw)
        queue_audio(self._tx[ts], alaw, TX_QUEUE_OCTETS, self.number, ts)
        self._flush_audio(ts)

    def cas(self, ts: int) -> int:
        self._check_open()
        self._need_cas()
        return self._getrxbits(self._audio_ts(ts))

    def set_cas(self, ts: int, abcd: int) -> None:
        self._check_open()
        self._need_cas()
        ts = self._audio_ts(ts)
        abcd = check_abcd(abcd)
        self.board.device.ioctl(self._chans[ts].fd, abi.DAHDI_SETTXBITS, abi.int_arg(abcd))

    def hdlc(self, ts: int = 16) -> HdlcChannel:
        self._check_open()
        return hdlc_channel(self._hdlc, ts, self.number)

    @property
    def alarms(self) -> Alarm:
        self.pump()
        return self._alarms

    @property
    def counters(self) -> Counters:
        self.pump()
        c = self._counters
        c.frames_rx = self._octets_rx
        c.frames_tx = self._octets_tx
        return Counters(**{k: getattr(c, k) for k in c.__dataclass_fields__})

    # ---------------------------------------------------------------- data path
    def pump(self) -> None:
        """Read what the kernel has for this span, send what is queued, look at the span."""
        self._check_open()
        now = self.board.now()
        for ts, ch in self._chans.items():
            if ch.hdlc:
                self._read_hdlc(self._hdlc[ts], now)
            else:
                self._pull_audio(ch, now)
                if self._tx[ts]:
                    self._flush_audio(ts)
        for h in self._hdlc.values():
            if h.tx:
                self._flush_hdlc(h)
        self._spanstat(now)

    def _read(self, ch: _Channel, n: int, now: float) -> bytes | None:
        """One read(); None when nothing is there. Pending events are handled first."""
        dev = self.board.device
        for _ in range(abi.DAHDI_DEFAULT_BLOCKSIZE):       # bounded: a bad driver cannot hang us
            try:
                return dev.read(ch.fd, n)
            except BlockingIOError:
                return None
            except OSError as exc:
                if exc.errno == errno.EAGAIN:
                    return None
                if exc.errno != abi.ELAST:
                    raise BoardError(f"read on DAHDI channel {ch.channo}: {os.strerror(exc.errno or 0)}") from exc
                self._events(ch, now)
        return None

    def _write(self, ch: _Channel, data: bytes) -> int | None:
        """Octets written to ``ch``, or None when it would block (pending events drained on ELAST)."""
        while True:
            try:
                return self.board.device.write(ch.fd, data)
            except BlockingIOError:
                return None
            except OSError as exc:
                if exc.errno == errno.EAGAIN:
                    return None
                if exc.errno != abi.ELAST:
                    raise BoardError(f"write on DAHDI channel {ch.channo}: "
                                     f"{os.strerror(exc.errno or 0)}") from exc
                self._events(ch, self.board.now())

    def _events(self, ch: _Channel, now: float) -> None:
        dev = self.board.device
        for _ in range(64):                                 # DAHDI_MAX_EVENTSIZE
            arg = abi.int_arg()
            dev.ioctl(ch.fd, abi.DAHDI_GETEVENT, arg)
            ev = abi.int_of(arg)
            if ev == abi.DAHDI_EVENT_NONE:
                return
            c = self._counters
            if ev == abi.DAHDI_EVENT_BADFCS:
                c.hdlc_fcs_errors += 1
            elif ev in (abi.DAHDI_EVENT_ABORT, abi.DAHDI_EVENT_OVERRUN):
                c.hdlc_aborts += 1
            elif ev == abi.DAHDI_EVENT_BITSCHANGED and self._cas_mode and not ch.hdlc:
                v = self._getrxbits(ch.ts)
                if v != self._rx_cas.get(ch.ts):
                    self._rx_cas[ch.ts] = v
                    self.board._emit(CasChanged(self.number, ch.ts, v, now))
            elif ev in (abi.DAHDI_EVENT_ALARM, abi.DAHDI_EVENT_NOALARM):
                self._spanstat(now)
            elif ev == abi.DAHDI_EVENT_REMOVED:
                raise BoardClosed(f"DAHDI channel {ch.channo} was removed")

    def _pull_audio(self, ch: _Channel, now: float) -> None:
        buf = self._rx[ch.ts]
        while (data := self._read(ch, BLOCK_OCTETS, now)):
            if ch.ts not in self._rx_t0:
                self._rx_t0[ch.ts] = max(0.0, now - len(data) / 8000.0)
            buf += data
            if ch.ts == self._first_audio_ts():
                self._octets_rx += len(data)
        if len(buf) > RX_LIMIT_OCTETS:                      # nobody reads: drop the oldest blocks
            drop = (len(buf) - RX_LIMIT_OCTETS + BLOCK_OCTETS - 1) // BLOCK_OCTETS * BLOCK_OCTETS
            del buf[:drop]
            self._rx_taken[ch.ts] += drop
            self._counters.audio_overruns += drop // BLOCK_OCTETS

    def _first_audio_ts(self) -> int:
        return next(iter(self._rx))

    def _flush_audio(self, ts: int) -> None:
        q = self._tx[ts]
        ch = self._chans[ts]
        while q:
            n = self._write(ch, bytes(q[:BLOCK_OCTETS]))
            if n is None or n <= 0:
                return
            del q[:n]
            if ts == self._first_audio_ts():
                self._octets_tx += n

    def _read_hdlc(self, h: DahdiHdlc, now: float) -> None:
        ch = h._chan
        while (data := self._read(ch, HDLC_BLOCKSIZE, now)) is not None:
            if len(data) <= abi.HDLC_FCS_OCTETS:            # nothing but an FCS: not a frame
                self._counters.hdlc_aborts += 1
                continue
            if len(h.rx) >= MAX_QUEUED:
                h.rx.pop(0)
            h.rx.append(bytes(data[:-abi.HDLC_FCS_OCTETS]))
            self._counters.hdlc_rx += 1
            self.board._emit(HdlcFrameReady(self.number, h.timeslot, now))

    def _flush_hdlc(self, h: DahdiHdlc) -> None:
        ch = h._chan
        while h.tx:
            if self._write(ch, h.tx[0]) is None:
                return
            h.tx.pop(0)
            self._counters.hdlc_tx += 1

    def _spanstat(self, now: float | None = None) -> None:
        info = self.board._spanstat(self.spanno)
        c = self._counters
        c.fas_errors = int(info.fascount)
        c.crc4_errors = int(info.crc4count)
        c.e_bits = int(info.ebitcount)
        alarms = alarms_of(int(info.alarms), self._cas_mode)
        if alarms != self._alarms:
            self._alarms = alarms
            self.board._emit(AlarmChanged(self.number, alarms, self.board.now() if now is None else now))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for ch in self._chans.values():
            try:
                ch.close()
            except OSError:
                pass
        self._chans.clear()


class DahdiBoard(Board):
    """The spans of a DAHDI system as one board: ``DahdiBoard(spans=[1, 2])``.

    ``spans``: DAHDI span numbers (an int n means spans 1..n). ``config``: the SpanConfig
    of each (default: read from the span's line configuration). ``device``: the system-call
    layer (a double in tests). ``basechan``: first channel number - 1 of each span
    (default: from the spans before it).
    """

    backend = "dahdi"

    def __init__(self, spans: int | Sequence[int] = 1,
                 config: SpanConfig | Sequence[SpanConfig] | None = None, *,
                 device: DeviceLayer | None = None, dev_dir: str = "/dev/dahdi",
                 basechan: Sequence[int] | None = None) -> None:
        if isinstance(spans, bool) or not isinstance(spans, (int, list, tuple)):
            raise ConfigError(f"spans must be a count or a list of DAHDI span numbers, not {spans!r}")
        numbers = list(range(1, spans + 1)) if isinstance(spans, int) else [int(s) for s in spans]
        if not numbers or any(not 1 <= s <= 128 for s in numbers) or len(set(numbers)) != len(numbers):
            raise ConfigError(f"DAHDI span numbers must be distinct, 1..128: {numbers}")
        if isinstance(config, SpanConfig) or config is None:
            configs: list[SpanConfig | None] = [config] * len(numbers)
        else:
            configs = list(config)
            if len(configs) != len(numbers):
                raise ConfigError(f"{len(configs)} span configs for {len(numbers)} spans")
        if basechan is not None and len(basechan) != len(numbers):
            raise ConfigError(f"{len(basechan)} base channels for {len(numbers)} spans")
        self.device = device or DeviceLayer()
        self.dev_dir = dev_dir
        self._t0 = time.monotonic()
        self._events: list[BoardEvent] = []
        self._closed = False
        self._spans: list[DahdiSpan] = []
        try:
            self._ctl = self.device.open(os.path.join(dev_dir, "ctl"), os.O_RDWR)
        except OSError as exc:
            raise ConfigError(f"cannot open {dev_dir}/ctl ({os.strerror(exc.errno or 0)}): "
                              "is DAHDI loaded and configured?") from exc
        try:
            for i, (spanno, cfg) in enumerate(zip(numbers, configs, strict=True)):
                span_cfg = self._config(spanno, cfg)
                base = basechan[i] if basechan is not None else self._basechan(spanno)
                self._spans.append(DahdiSpan(self, i, spanno, base, span_cfg))
        except BaseException:
            self.close()
            raise

    # ---------------------------------------------------------------- span status
    def _spanstat(self, spanno: int) -> Any:
        if self._closed:
            raise BoardClosed("DAHDI board is closed")
        info, buf = abi.new_spaninfo(spanno)
        try:
            self.device.ioctl(self._ctl, abi.DAHDI_SPANSTAT, buf)
        except OSError as exc:
            raise ConfigError(f"DAHDI span {spanno}: {os.strerror(exc.errno or 0)}") from exc
        return info

    def _basechan(self, spanno: int) -> int:
        return sum(int(self._spanstat(s).totalchans) for s in range(1, spanno))

    def _config(self, spanno: int, asked: SpanConfig | None) -> SpanConfig:
        info = self._spanstat(spanno)
        if int(info.totalchans) < 31:
            raise ConfigError(f"DAHDI span {spanno} has {int(info.totalchans)} channels: not an E1 span")
        lc = int(info.lineconfig)
        have = SpanConfig(framing="crc4" if lc & abi.DAHDI_CONFIG_CRC4 else "df",
                          signalling="ccs" if lc & abi.DAHDI_CONFIG_CCS else "cas")
        if asked is None:
            return have
        if (asked.framing, asked.signalling) != (have.framing, have.signalling):
            raise ConfigError(f"DAHDI span {spanno} is configured {have.framing}/{have.signalling} "
                              f"(system.conf), not {asked.framing}/{asked.signalling}")
        return asked

    # ---------------------------------------------------------------- Board API
    @property
    def spans(self) -> tuple[Span, ...]:
        return tuple(self._spans)

    def now(self) -> float:
        return time.monotonic() - self._t0

    def _emit(self, ev: BoardEvent) -> None:
        if len(self._events) >= 10 * MAX_QUEUED:
            del self._events[0]
        self._events.append(ev)

    def poll_events(self) -> list[BoardEvent]:
        if self._closed:
            raise BoardClosed("DAHDI board is closed")
        for s in self._spans:
            s.pump()
        out, self._events = self._events, []
        return out

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for s in self._spans:
            s.close()
        if hasattr(self, "_ctl"):
            try:
                self.device.close(self._ctl)
            except OSError:
                pass

    def __repr__(self) -> str:
        return f"DahdiBoard(spans={[s.spanno for s in self._spans]}, dev_dir={self.dev_dir!r})"

