"""The "wire" backend: a card reached over a pyserial URL, speaking docs/wire-protocol.md.

    board = drivers.open("wire", url="socket://127.0.0.1:7000")   # cti-sim serve, or a card
    board = drivers.open("wire", url="/dev/ttyUSB0", baudrate=4000000)
    board = drivers.open("wire", url="loop://", spans=1)          # a loopback plug, for tests

A reader thread decodes everything the card sends into per-span buffers and an
event queue, so reads never block. Bad input from the card (garbage, truncated or
unknown messages) is logged, kept in :attr:`WireBoard.protocol_errors` and raised
once as :class:`~drivers.base.WireProtocolError` by the next :meth:`poll_events`;
the link keeps running. When the card goes away, every span reports LOS, what was
already received stays readable, and then calls raise :class:`BoardClosed`.

Over ``loop://`` every message comes back to us, like a loopback plug on the
line: audio, CAS and HDLC frames sent on a span are received on that span.
"""
from __future__ import annotations

import logging
import os
import select
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, TypeVar
from collections.abc import Iterable

from drivers.base import (BLOCK_SECONDS, VOICE_TIMESLOTS, Alarm,
                          AlarmChanged, Board, BoardClosed, BoardError, BoardEvent,
                          CasChanged, ConfigError, Counters, HdlcFrameReady, Span,
                          WireProtocolError)

from . import protocol as P
from .span import WireSpan

log = logging.getLogger("drivers.wire")

_M = TypeVar("_M", P.HelloAck, P.Pong, P.Time, P.Ok, P.CountersMsg, P.Capabilities)


def readable(fd: int, timeout: float) -> bool:
    """``fd`` has data within ``timeout`` seconds (poll, not select: a busy process may hold
    descriptors above select's limit of 1024)."""
    p = select.poll()
    p.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(p.poll(timeout * 1000))


@dataclass(eq=False)
class _Waiter:
    """One request waiting for its reply: matched by the reply's type, or an ERROR's ref_type."""

    expect: int
    ref_type: int
    done: threading.Event = field(default_factory=threading.Event)
    reply: object = None


#: longest wait for CAPABILITIES at open (a card that ignores CAPS_QUERY has none)
CAPS_WAIT = 1.0
MAX_QUEUED = 100_000
MAX_AUDIO_CHUNK = 1600  # octets per AUDIO message and timeslot when writing
#: the timeslots that carry voice, as a set (an AUDIO's others are dropped)
VOICE_SET = frozenset(VOICE_TIMESLOTS)
#: octets the reader takes in one call (a block of 64 streaming spans is about 330 000)
READ_SIZE = 1 << 20
#: the reader thread sends audio written this long ago that nobody flushed (seconds)
FLUSH_AFTER = 0.005
#: block arrival times kept (WireBoard.arrivals)
ARRIVALS_KEPT = 500


class WireBoard(Board):
    """A board behind a byte stream (pyserial URL)."""

    backend = "wire"

    def __init__(self, url: str = "socket://127.0.0.1:7000", timeout: float = 5.0,
                 name: str = "cti", spans: int = 1, owner: int | None = None,
                 owner_spans: Iterable[int] | None = None, **serial_kwargs: Any) -> None:
        import serial  # pyserial: only this backend needs it

        if not isinstance(url, str) or not url:
            raise ConfigError(f"url must be a pyserial URL or device path, not {url!r}")
        self.url = url
        self.timeout = float(timeout)
        self._lock = threading.RLock()
        self._decoder = P.Decoder()
        self._events: deque[BoardEvent] = deque()
        self._waiters: deque[_Waiter] = deque()
        self._spans: tuple[WireSpan, ...] = ()
        self._now = 0.0
        #: the newest card block number every streaming span has delivered (-1: none yet), and
        #: when (time.monotonic) its last AUDIO arrived, for the newest blocks
        self.complete_seq = -1
        self.arrivals: dict[int, float] = {}
        self._streaming = 1            # spans with an audio subscription
        self._pending: dict[int, int] = {}   # card block number -> spans that delivered it
        self._newest = -1
        #: blocks declared complete before every streaming span had sent them
        self.incomplete = 0
        self._wake_due = False
        #: AUDIO written this turn, by span and timeslot: sent as one message per span and
        #: length by flush() (poll_events, any other message, a request, or the reader's timer)
        self._out_audio: list[tuple[int, int, bytes]] = []
        self._out_since = 0.0
        self._loopback = False
        self._loop_spans = spans
        self._early: list[P.Message] = []    # span messages that arrive with the handshake
        self.version = 0
        self.card_name = ""
        self.owner: int | None = None     #: the lease epoch the card accepted by OWNER
        #: decode problems of what the card sent (also raised once by poll_events)
        self.protocol_errors: list[WireProtocolError] = []
        self._unreported: list[WireProtocolError] = []
        #: ERROR messages the card sent about our messages that were not requests
        self.remote_errors: list[P.Error] = []
        #: why the link closed ("" while open)
        self.closed = ""
        self._host_closed = False
        self._pipe_closed = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        try:
            self._ser = serial.serial_for_url(url, timeout=0.05, **serial_kwargs)
        except (serial.SerialException, ValueError, OSError) as exc:
            self._close_pipe()
            raise BoardError(f"cannot open {url}: {exc}") from exc
        try:
            self._fd: int | None = self._ser.fileno()
            self._ser.timeout = 0
        except Exception:
            self._fd = None
        self._write_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._queue_lock = threading.Lock()
        self._reader = threading.Thread(target=self._read_loop, name=f"wire:{url}", daemon=True)
        self._reader.start()
        try:
            ack = self._request(P.Hello(P.MIN_VERSION, P.MAX_VERSION, name), P.HelloAck)
        except _Refused as exc:
            self.close()
            raise BoardError(f"{url}: the card refused the handshake: {exc}") from exc
        except BaseException:
            self.close()
            raise
        if not P.MIN_VERSION <= ack.version <= P.MAX_VERSION:
            self.close()
            raise WireProtocolError(f"{url}: the card chose version {ack.version}, "
                                    f"this host speaks {P.MIN_VERSION}..{P.MAX_VERSION}")
        self.version = ack.version
        self.card_name = ack.name
        self._decoder.version = ack.version
        with self._lock:
            self._spans = tuple(WireSpan(self, i, info) for i, info in enumerate(ack.spans))
            for ev in list(self._early):
                self._dispatch(ev)
            self._early.clear()
        try:
            caps = self._request(P.CapsQuery(), P.Capabilities, timeout=min(self.timeout, CAPS_WAIT))
        except _Refused:        # a card with nothing to report answers ERROR UNKNOWN_TYPE
            caps = P.Capabilities()
        except BoardError:
            if self.closed:
                raise
            # a card that ignores unknown types (against the spec): none; a late reply still counts
            log.warning("%s: no answer to CAPS_QUERY; taking the card to have no capabilities", url)
            caps = P.Capabilities()
        except BaseException:
            self.close()
            raise
        self._capabilities(caps)
        if owner is not None:
            self._claim(owner, owner_spans)

    def _claim(self, epoch: int, spans: Iterable[int] | None) -> None:
        """OWNER: drive ``spans`` (all: None) with lease ``epoch``; the card closes the connection
        of any older owner and refuses ours if a newer one holds them (docs/wire-protocol.md)."""
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            self.close()
            raise ConfigError(f"owner must be a lease epoch (an integer >= 0), not {epoch!r}")
        for n in [P.BOARD] if spans is None else list(spans):
            try:
                self._request(P.Owner(epoch, n), P.Ok)
            except _Refused as exc:
                if exc.error.code == P.ErrorCode.UNKNOWN_TYPE:
                    log.warning("%s: the card does not know OWNER: it cannot refuse an older owner "
                                "(docs/cluster.md, fencing)", self.url)
                    return
                self.close()
                raise BoardError(f"{self.url}: the card refused lease epoch {epoch} for span {n}: {exc}") from exc
            except BaseException:
                self.close()
                raise
        self.owner = epoch

    def _capabilities(self, caps: P.Capabilities) -> None:
        for span in self._spans:
            span.capabilities = caps.of(span.number)
            span.echo_on_card = bool(span.capabilities & P.Capability.ECHO_CANCEL)

    # ---------------------------------------------------------------- Board API
    @property
    def spans(self) -> tuple[Span, ...]:
        return self._spans

    def now(self) -> float:
        return self._now

    def poll_events(self) -> list[BoardEvent]:
        if self._host_closed:
            raise BoardClosed(self.closed)
        if self._out_audio and not self.closed:
            self.flush()                # the end of a loop turn: what it wrote goes out at once
        with self._lock:
            if self._unreported:
                errs, self._unreported = self._unreported, []
                raise WireProtocolError("; ".join(str(e) for e in errs))
            out = list(self._events)
            self._events.clear()
        if not self._pipe_closed:
            try:
                while os.read(self._wake_r, 4096):
                    pass
            except OSError:
                pass
        if not out and self.closed:
            raise BoardClosed(self.closed)
        return out

    def fileno(self) -> int:
        return self._wake_r

    def advance(self, seconds: float) -> None:
        """Virtual-time card: ADVANCE and wait for TIME; real-time card: wait ``seconds``."""
        if not isinstance(seconds, (int, float)) or not seconds >= 0:
            raise ConfigError(f"advance needs a non-negative number of seconds, not {seconds!r}")
        try:
            reply = self._request(P.Advance(float(seconds)), P.Time,
                                  timeout=self.timeout + 4 * seconds)
            self._now = max(self._now, reply.now)
        except _Refused as exc:
            if exc.error.code != P.ErrorCode.UNSUPPORTED:
                raise
            time.sleep(seconds)
            self.sync()

    def close(self) -> None:
        if self._out_audio and not self.closed:
            try:
                self.flush()
            except BoardClosed:
                pass
        self._host_closed = True
        if not self.closed:
            self.closed = "closed by the host"
        try:
            self._ser.close()
        except Exception:  # pragma: no cover
            pass
        if self._reader.is_alive() and threading.current_thread() is not self._reader:
            self._reader.join(timeout=2)
        self._close_pipe()

    def _close_pipe(self) -> None:
        if self._pipe_closed:
            return
        self._pipe_closed = True
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass

    # ---------------------------------------------------------------- extras
    @property
    def virtual_time(self) -> bool:
        """Does the card accept ADVANCE (a simulator in virtual time)?"""
        try:
            self._request(P.Advance(0.0), P.Time)
            return True
        except _Refused:
            return False

    def sync(self) -> None:
        """Round trip (PING/PONG): everything sent before has been processed by the card."""
        self.ping()

    def ping(self, data: bytes = b"") -> bytes:
        return self._request(P.Ping(bytes(data)), P.Pong).data

    def fault(self, span: int, fault: P.Fault | int, value: float = 1.0) -> None:
        """Inject a line fault (simulator extension; a card may refuse with UNSUPPORTED)."""
        self.span(span)
        self._request(P.FaultMsg(span, int(fault), float(value)), P.Ok)

    def send_raw(self, data: bytes) -> None:
        """Write octets as they are (conformance checks send bad input with it)."""
        self._write(bytes(data))

    def query_cas(self, span: int) -> None:
        self._send(P.CasQuery(self.span(span).number))

    # ---------------------------------------------------------------- plumbing
    def _write(self, raw: bytes) -> None:
        if self.closed:
            raise BoardClosed(self.closed)
        try:
            with self._write_lock:
                self._ser.write(raw)
        except Exception as exc:
            self._lost(f"write failed: {exc}")
            raise BoardClosed(self.closed) from exc

    def _send(self, msg: P.Message) -> None:
        if self._out_audio:             # audio written before this message goes before it
            self.flush()
        self._write(P.encode(msg, self.version or P.VERSION))

    def _queue_audio(self, span: int, ts: int, data: bytes) -> None:
        with self._queue_lock:
            out = self._out_audio
            if not out:
                self._out_since = time.monotonic()
            out.append((span, ts, data))
        if len(data) >= MAX_AUDIO_CHUNK:    # a long prompt written at once: out in chunks now
            self.flush()

    def flush(self) -> None:
        """Send the audio written since the last flush: per span, one AUDIO message for the
        timeslots written with the same number of octets (most turns: every timeslot written
        once with a 20 ms block), in one write. The Board API's users need not call it: the
        next :meth:`poll_events`, request or other message sends it, or the reader thread
        within :data:`FLUSH_AFTER` seconds."""
        with self._flush_lock:          # one flush at a time: the card gets audio in the order written
            with self._queue_lock:
                queued, self._out_audio = self._out_audio, []
            if queued:
                out: dict[int, dict[int, bytearray]] = {}
                for span, ts, data in queued:
                    by_ts = out.get(span)
                    if by_ts is None:
                        by_ts = out[span] = {}
                    q = by_ts.get(ts)
                    if q is None:
                        by_ts[ts] = bytearray(data)
                    else:
                        q += data
                self._write(b"".join(self._encode_audio(out)))

    def _encode_audio(self, out: dict[int, dict[int, bytearray]]) -> list[bytes]:
        raws = []
        version = self.version or P.VERSION
        for span, by_ts in out.items():
            groups: dict[int, list[int]] = {}
            for ts, q in by_ts.items():
                groups.setdefault(len(q), []).append(ts)
            for n, tss in groups.items():
                if not n:
                    continue
                tss.sort()
                step = min(n, MAX_AUDIO_CHUNK)
                for i in range(0, n, step):
                    data = b"".join(by_ts[ts][i:i + step] for ts in tss)
                    raws.append(P.encode(P.Audio(span, 0, tuple(tss), data), version))
        return raws

    def _request(self, msg: P.Message, expect: type[_M], timeout: float | None = None) -> _M:
        waiter = _Waiter(expect.TYPE, int(msg.TYPE))
        with self._lock:
            self._waiters.append(waiter)
        try:
            self._send(msg)
            if not waiter.done.wait(self.timeout if timeout is None else timeout):
                raise BoardError(f"{self.url}: no {expect.TYPE.name} reply to {msg.TYPE.name} "
                                 f"within {self.timeout if timeout is None else timeout:g} s")
        finally:
            with self._lock:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        reply = waiter.reply
        if isinstance(reply, P.Error):
            raise _Refused(reply)
        if isinstance(reply, BoardClosed):
            raise reply
        if not isinstance(reply, expect):
            raise BoardError(f"{self.url}: {msg.TYPE.name} answered by {reply!r}, not {expect.TYPE.name}")
        return reply

    def _answer(self, mtype: int, reply: object, ref_type: int | None = None) -> bool:
        for w in self._waiters:
            if (ref_type is None and w.expect == mtype) or (ref_type is not None and w.ref_type == ref_type):
                self._waiters.remove(w)
                w.reply = reply
                w.done.set()
                return True
        return False

    def _read_loop(self) -> None:
        sock = getattr(self._ser, "_socket", None)      # socket://: recv straight from the socket,
        if not hasattr(sock, "recv_into"):               # into one buffer (no 1 MiB allocation a read)
            sock = None
        rx = bytearray(READ_SIZE)
        rx_view = memoryview(rx)
        data: bytes | memoryview
        while not self.closed:
            try:
                if self._fd is not None:
                    wait = FLUSH_AFTER if self._out_audio else 0.05
                    if not readable(self._fd, wait):
                        data = b""
                    elif sock is not None:
                        got = sock.recv_into(rx)
                        if not got:
                            raise OSError("socket disconnected")
                        data = rx_view[:got]
                    else:
                        data = self._ser.read(READ_SIZE)
                else:
                    n = self._ser.in_waiting
                    data = self._ser.read(n if n else 1)
            except Exception as exc:
                if not self.closed:
                    self._lost(f"link lost: {exc}")
                return
            if self._out_audio and time.monotonic() - self._out_since >= FLUSH_AFTER and not self._host_closed:
                try:
                    self.flush()        # a user that writes audio and never polls
                except BoardClosed:
                    return
            if data:
                items = self._decoder.feed(data)
                with self._lock:
                    for item in items:
                        self._dispatch(item)
                    wake, self._wake_due = self._wake_due, False
                if wake:                # a whole block on every span, or anything but audio
                    self._wake()

    def _wake(self) -> None:
        if self._pipe_closed:
            return
        try:
            os.write(self._wake_w, b"\0")
        except OSError:
            pass

    def _lost(self, why: str) -> None:
        with self._lock:
            if self.closed:
                return
            if self._decoder.buffered:
                err = WireProtocolError(f"peer disconnected mid-message: {self._decoder.buffered} "
                                        f"octets of an incomplete message ({why})")
                self._protocol_error(err)
            self.closed = why
            for s in self._spans:
                s._alarms = Alarm.LOS
                self._queue(AlarmChanged(s.number, Alarm.LOS, self._now))
            for w in list(self._waiters):
                w.reply = BoardClosed(why)
                w.done.set()
            self._waiters.clear()
        log.warning("%s: %s", self.url, why)
        self._wake()

    def _protocol_error(self, err: WireProtocolError) -> None:
        log.warning("%s: %s", self.url, err)
        self.protocol_errors.append(err)
        self._unreported.append(err)

    def _queue(self, ev: BoardEvent) -> None:
        if len(self._events) >= MAX_QUEUED:
            self._events.popleft()
        self._events.append(ev)

    def _dispatch(self, item: P.Message | P.BadMessage) -> None:
        if isinstance(item, P.BadMessage):
            return self._protocol_error(item.error)
        m: P.Message | None = item
        if self._loopback or (isinstance(item, P.Hello) and not self._spans):
            m = self._loop_turn(item)
        if m is None:
            return None
        t = m.TYPE
        if isinstance(m, (P.HelloAck, P.Pong, P.Time, P.Ok, P.CountersMsg, P.Capabilities)):
            if isinstance(m, P.Time):
                self._now = max(self._now, m.now)
            if not self._answer(t, m):
                if isinstance(m, P.Capabilities):   # after CAPS_WAIT: it still counts
                    return self._capabilities(m)
                log.info("%s: unexpected %s", self.url, t.name)
            return None
        if isinstance(m, P.Error):
            if not self._answer(t, m, ref_type=m.ref_type):
                log.warning("%s: card reports %s: %s", self.url, _code_name(m.code), m.text)
                self.remote_errors.append(m)
            return None
        if isinstance(m, P.Ping):       # straight out: the reader never waits for a flush
            return self._write(P.encode(P.Pong(m.data, m.span), self.version or P.VERSION))
        if not self._spans:
            self._early.append(m)       # CAS_STATE / ALARMS right after HELLO_ACK
            return None
        if not 0 <= m.span < len(self._spans):
            return self._protocol_error(WireProtocolError(f"{t.name} for span {m.span}, card has "
                                                          f"{len(self._spans)}"))
        span = self._spans[m.span]
        if isinstance(m, P.Audio):
            return self._audio(span, m)
        self._wake_due = True
        if isinstance(m, P.CasChanged):
            if m.timeslot in span._cas:
                span._cas[m.timeslot] = m.abcd
                span._cas_row[m.timeslot] = m.abcd
                span._cas_since[m.timeslot] = m.time
                span._changed()
                self._now = max(self._now, m.time)
                self._queue(CasChanged(span.number, m.timeslot, m.abcd, m.time))
        elif isinstance(m, P.CasState):
            for ts in VOICE_TIMESLOTS:
                span._cas[ts] = span._cas_row[ts] = m.abcd[ts - 1]
                span._cas_since[ts] = None
            span._changed()
        elif isinstance(m, P.Alarms):
            span._changed()
            span._alarms = Alarm(m.alarms & 0xFF)
            self._now = max(self._now, m.time)
            self._queue(AlarmChanged(span.number, span._alarms, m.time))
        elif isinstance(m, P.HdlcFrame):
            ch = span._hdlc.get(m.timeslot)
            if ch is None:
                return self._protocol_error(WireProtocolError(
                    f"HDLC frame on span {m.span} TS{m.timeslot}, which is not an HDLC channel"))
            if len(ch.rx) < MAX_QUEUED:
                ch.rx.append(m.frame)
            span._counters.hdlc_rx += 1
            span._changed()
            self._queue(HdlcFrameReady(span.number, m.timeslot, self._now))
        else:
            self._protocol_error(WireProtocolError(f"{t.name} is not sent by a card"))
        return None

    def _audio(self, span: WireSpan, m: P.Audio) -> None:
        """One AUDIO (one block of one span): into the span's ring as received; the block is
        complete when every streaming span has sent it (the loop is woken then, once)."""
        seq = m.seq
        if self._now < (seq + 1) * BLOCK_SECONDS:
            self._now = (seq + 1) * BLOCK_SECONDS
        tss = m.timeslots
        if not VOICE_SET.issuperset(tss):       # only voice timeslots carry audio
            n = m.octets_per_timeslot
            data = b"".join(m.data[i * n:(i + 1) * n] for i, ts in enumerate(tss) if ts in VOICE_SET)
            tss = tuple(ts for ts in tss if ts in VOICE_SET)
        else:
            data = m.data
        span._ring.append((seq, tss, data, seq * BLOCK_SECONDS))
        span._next += 1
        last = span._last_seq
        if last >= 0 and seq > last + 1:
            span.gaps += seq - last - 1
        span._last_seq = seq
        if seq <= self.complete_seq:
            return
        count = self._pending.get(seq, 0) + 1
        if count >= self._streaming:
            self._complete(seq)
        else:
            self._pending[seq] = count
            if seq > self._newest:
                self._newest = seq
                if seq - 2 > self.complete_seq:      # a span stopped streaming: do not wait for it
                    self.incomplete += 1
                    self._complete(seq - 2)

    def _complete(self, seq: int) -> None:
        self.complete_seq = seq
        self.arrivals[seq] = time.monotonic()
        self.arrivals.pop(seq - ARRIVALS_KEPT, None)
        if self._pending:
            self._pending = {k: v for k, v in self._pending.items() if k > seq}
        self._wake_due = True

    def _loop_turn(self, m: P.Message) -> P.Message | None:
        """loop:// (or a looped line): turn our own message into what a looped card would say."""
        t = m.TYPE
        if isinstance(m, P.Hello):
            self._loopback = True
            info = P.SpanInfo("crc4", "cas", ())
            return P.HelloAck(P.VERSION, (info,) * self._loop_spans, "loopback")
        if isinstance(m, P.Ping):
            return P.Pong(m.data, m.span)
        if isinstance(m, P.Advance):
            return P.Error(P.ErrorCode.UNSUPPORTED, t, "a loopback runs in real time")
        if isinstance(m, P.FaultMsg):
            return P.Error(P.ErrorCode.UNSUPPORTED, t, "a loopback cannot inject faults")
        if isinstance(m, P.CapsQuery):
            return P.Capabilities((0,) * len(self._spans))     # a plug cancels no echo
        if isinstance(m, P.Owner):
            return P.Ok(t, m.span)                               # one host on a plug: always the owner
        if isinstance(m, P.CountersQuery):
            span = self._spans[m.span] if 0 <= m.span < len(self._spans) else None
            c = span._counters if span else Counters()
            return P.CountersMsg(m.span, tuple(getattr(c, f) for f in P.COUNTER_FIELDS))
        if isinstance(m, P.CasSet):
            return P.CasChanged(m.span, m.timeslot, m.abcd, self._now)
        if isinstance(m, P.Audio):
            span = self._spans[m.span] if 0 <= m.span < len(self._spans) else None
            if span is not None:
                seq = span._next
                return P.Audio(m.span, seq, m.timeslots, m.data)
            return None
        if isinstance(m, (P.HdlcFrame)):
            return m
        return None      # AUDIO_SUBSCRIBE, CAS_QUERY: nothing comes back on a looped line

    def __repr__(self) -> str:
        return f"<WireBoard {self.url} v{self.version} spans={len(self._spans)}{' closed' if self.closed else ''}>"


class _Refused(BoardError):
    """The card answered a request with ERROR."""

    def __init__(self, error: P.Error) -> None:
        super().__init__(f"card refused: {_code_name(error.code)}: {error.text}")
        self.error = error


def _code_name(code: int) -> str:
    try:
        return P.ErrorCode(code).name
    except ValueError:
        return f"error {code}"


CardRefused = _Refused
