"""The simulator as a card on the network: a SimBoard served over TCP in the wire protocol.

Each client is its own :class:`ClientSession` (own decoder, handshake, audio
subscriptions), so one client sending garbage or disconnecting mid-message never
disturbs another. The card side is shared: CAS changes, alarms and received HDLC
frames go to every client; audio goes to the clients subscribed to the timeslot.

With a real-time board the server pumps the clock every few milliseconds; with a
virtual one time moves only when a client sends ADVANCE (deterministic tests),
and everything the card produced is sent before the TIME reply.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import fields

import numpy as np

from drivers.base import (VOICE_TIMESLOTS, AlarmChanged, AudioBlock, BoardError, CasChanged,
                          ConfigError, Span, check_abcd, check_timeslot)
from drivers.wire import protocol as P
from simulator.board import SimBoard
from simulator.clock import RealClock
from simulator.e1wire import Endpoint
from simulator.faults import apply_wire_fault

log = logging.getLogger("simulator.server")

#: stop queueing audio to a client whose socket has this much unsent data
MAX_CLIENT_BACKLOG = 8 * 1024 * 1024
#: longest ADVANCE one message may ask for
MAX_ADVANCE = 3600.0

_CARD_TO_HOST = {P.MsgType.HELLO_ACK, P.MsgType.CAS_CHANGED, P.MsgType.CAS_STATE, P.MsgType.ALARMS,
                 P.MsgType.COUNTERS, P.MsgType.TIME, P.MsgType.OK, P.MsgType.CAPABILITIES}
#: what acts on the line: refused on a span another connection holds by OWNER
_ORDERS = {P.MsgType.AUDIO, P.MsgType.CAS_SET, P.MsgType.HDLC_FRAME, P.MsgType.ECHO_SET}


class _Refused(Exception):
    def __init__(self, code: P.ErrorCode, text: str) -> None:
        super().__init__(text)
        self.code = code


class ClientSession(asyncio.Protocol):
    """One connected host."""

    def __init__(self, server: SimServer) -> None:
        self.server = server
        self.decoder = P.Decoder()
        self.transport: asyncio.Transport | None = None
        self.hello = False
        self.subscribed: dict[int, tuple[int, ...]] = {}
        self.audio_dropped = 0
        self.peer = "?"

    # ---- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.peer = str(transport.get_extra_info("peername"))
        self.server.sessions.add(self)
        log.info("client %s connected", self.peer)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.sessions.discard(self)
        for n, (epoch, session) in list(self.server.owners.items()):
            if session is self:               # its epoch stays: older claims are still refused
                self.server.owners[n] = (epoch, None)
        if self.decoder.buffered:
            log.warning("client %s went away mid-message (%d octets dropped)", self.peer,
                        self.decoder.buffered)
        log.info("client %s disconnected", self.peer)

    def data_received(self, data: bytes) -> None:
        for item in self.decoder.feed(data):
            if isinstance(item, P.BadMessage):
                log.warning("client %s: %s", self.peer, item.error)
                self.send(P.Error(item.code, item.type, str(item.error), item.span))
                continue
            try:
                self.handle(item)
            except _Refused as exc:
                self.send(P.Error(exc.code, item.TYPE, str(exc), item.span))
            except Exception as exc:  # a bug must not take the card down for everyone
                log.exception("client %s: %r failed", self.peer, item)
                self.send(P.Error(P.ErrorCode.INTERNAL, item.TYPE, f"{type(exc).__name__}: {exc}",
                                  item.span))

    def send(self, msg: P.Message) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(P.encode(msg))

    # ---- requests
    def _span(self, n: int) -> Endpoint:
        spans = self.server.endpoints()
        if not 0 <= n < len(spans):
            raise _Refused(P.ErrorCode.OUT_OF_RANGE, f"span {n} out of range 0..{len(spans) - 1}")
        return spans[n]

    def _ts(self, span: Endpoint, ts: int, *, audio: bool = False) -> int:
        try:
            check_timeslot(ts, allow_ts16=not audio)
        except ConfigError as exc:
            raise _Refused(P.ErrorCode.OUT_OF_RANGE, str(exc)) from None
        if audio and ts in span.config.hdlc:
            raise _Refused(P.ErrorCode.NOT_CONFIGURED, f"TS{ts} of span {span.number} carries HDLC")
        return ts

    def handle(self, msg: P.Message) -> None:
        t = msg.TYPE
        if isinstance(msg, P.Hello):
            return self._hello(msg)
        if isinstance(msg, P.Ping):
            return self.send(P.Pong(msg.data, msg.span))
        if isinstance(msg, P.Error):
            log.warning("client %s reports error %s: %s", self.peer, msg.code, msg.text)
            return None
        if isinstance(msg, P.Pong):
            return None
        if not self.hello:
            raise _Refused(P.ErrorCode.NO_HELLO, f"{t.name} before HELLO")
        if t in _CARD_TO_HOST:
            raise _Refused(P.ErrorCode.UNKNOWN_TYPE, f"{t.name} is sent by a card, not to one")
        if isinstance(msg, P.Owner):
            return self._claim(msg)
        if t in _ORDERS and msg.span != P.BOARD:
            owner = self.server.owners.get(msg.span)
            if owner is not None and owner[1] is not None and owner[1] is not self:
                raise _Refused(P.ErrorCode.STALE_OWNER, f"span {msg.span} is driven by the host of lease epoch "
                                                        f"{owner[0]}: {t.name} refused")
        board = self.server.board
        if isinstance(msg, P.Advance):
            if board.clock.kind != "virtual":
                raise _Refused(P.ErrorCode.UNSUPPORTED, "this card runs in real time")
            if not 0 <= msg.seconds <= MAX_ADVANCE:
                raise _Refused(P.ErrorCode.OUT_OF_RANGE, f"ADVANCE of {msg.seconds} s outside 0..{MAX_ADVANCE}")
            board.advance(msg.seconds)
            return self.send(P.Time(board.now()))
        if isinstance(msg, P.CapsQuery):
            caps = P.Capability.ECHO_CANCEL if self.server.echo_on_card else P.Capability.NONE
            return self.send(P.Capabilities(tuple(int(caps) for _ in board.spans)))
        span = self._span(msg.span)
        if isinstance(msg, P.Audio):
            per = msg.octets_per_timeslot
            for ts in msg.timeslots:
                self._ts(span, ts, audio=True)
            for i, ts in enumerate(msg.timeslots):
                try:
                    span.write_audio(ts, msg.data[i * per:(i + 1) * per])
                except BoardError as exc:
                    raise _Refused(P.ErrorCode.OVERFLOW, str(exc)) from None
        elif isinstance(msg, P.AudioSubscribe):
            for ts in msg.timeslots:
                self._ts(span, ts, audio=True)
            self.subscribed[span.number] = tuple(msg.timeslots)
        elif isinstance(msg, P.CasSet):
            self._ts(span, msg.timeslot, audio=True)    # range first: docs/wire-protocol.md "Errors"
            if span.config.signalling != "cas":
                raise _Refused(P.ErrorCode.NOT_CONFIGURED, f"span {span.number} signals CCS")
            try:
                check_abcd(msg.abcd)
            except ConfigError as exc:
                raise _Refused(P.ErrorCode.BAD_CAS, str(exc)) from None
            span.set_cas(msg.timeslot, msg.abcd)
        elif isinstance(msg, P.CasQuery):
            self.send(self.server.cas_state(span))
        elif isinstance(msg, P.HdlcFrame):
            self._ts(span, msg.timeslot)
            if msg.timeslot not in span.config.hdlc:
                raise _Refused(P.ErrorCode.NOT_CONFIGURED,
                               f"span {span.number} has no HDLC channel on TS{msg.timeslot}")
            try:
                span.hdlc(msg.timeslot).send(msg.frame)
            except ValueError as exc:
                raise _Refused(P.ErrorCode.MALFORMED, str(exc)) from None
        elif isinstance(msg, P.CountersQuery):
            c = span.counters
            self.send(P.CountersMsg(span.number, tuple(getattr(c, f.name) for f in fields(c))))
        elif isinstance(msg, P.FaultMsg):
            self._fault(span.number, msg)
            self.send(P.Ok(t, span.number))
        elif isinstance(msg, P.EchoSet):
            self._ts(span, msg.timeslot, audio=True)
            if not self.server.echo_on_card:
                raise _Refused(P.ErrorCode.UNSUPPORTED, "this card has no echo canceller")
            if msg.tail_ms > P.ECHO_TAIL_MAX_MS:
                raise _Refused(P.ErrorCode.OUT_OF_RANGE, f"tail {msg.tail_ms} ms above {P.ECHO_TAIL_MAX_MS}")
            span.echo_canceller(msg.timeslot, msg.tail_ms or None)
        else:  # pragma: no cover - every host-to-card type is handled above
            raise _Refused(P.ErrorCode.UNKNOWN_TYPE, f"unexpected {t.name}")
        return None

    def _claim(self, msg: P.Owner) -> None:
        """OWNER: this connection drives the span(s) from now on if its epoch is the highest
        claimed; the connections of lower epochs are told and closed (a paused host that wakes
        finds its connection gone), an equal or lower claim from another is refused."""
        spans = range(len(self.server.endpoints())) if msg.span == P.BOARD else (self._span(msg.span).number,)
        for n in spans:
            held = self.server.owners.get(n)
            if held is not None and held[1] is not self and msg.epoch <= held[0]:
                raise _Refused(P.ErrorCode.STALE_OWNER, f"span {n} is claimed with lease epoch {held[0]}; "
                                                        f"{msg.epoch} is not newer")
        for n in spans:
            held = self.server.owners.get(n)
            self.server.owners[n] = (msg.epoch, self)
            old = held[1] if held is not None else None
            if old is not None and old is not self and old.transport is not None:
                log.warning("span %d: lease epoch %d claimed by %s; closing the connection of epoch %d (%s)",
                            n, msg.epoch, self.peer, held[0] if held else 0, old.peer)
                old.send(P.Error(P.ErrorCode.STALE_OWNER, int(P.MsgType.OWNER),
                                 f"span {n} claimed with lease epoch {msg.epoch}", n))
                old.transport.close()
        self.send(P.Ok(msg.TYPE, msg.span))

    def _hello(self, msg: P.Hello) -> None:
        lo, hi = max(msg.min_version, P.MIN_VERSION), min(msg.max_version, P.MAX_VERSION)
        if lo > hi:
            raise _Refused(P.ErrorCode.BAD_VERSION,
                           f"no common version: host {msg.min_version}..{msg.max_version}, "
                           f"card {P.MIN_VERSION}..{P.MAX_VERSION}")
        self.hello = True
        self.decoder.version = hi
        board = self.server.board
        infos = tuple(P.SpanInfo(s.config.framing, s.config.signalling, tuple(sorted(s.config.hdlc)))
                      for s in board.spans)
        self.send(P.HelloAck(hi, infos, self.server.name))
        for s in board.spans:
            if s.config.signalling == "cas":
                self.send(self.server.cas_state(s))
            self.send(P.Alarms(s.number, s.alarms.value, board.now()))

    def _fault(self, span: int, msg: P.FaultMsg) -> None:
        try:
            apply_wire_fault(self.server.board.faults(span), msg.fault, msg.value)
        except ConfigError as exc:
            raise _Refused(P.ErrorCode.OUT_OF_RANGE, str(exc)) from None

    # ---- card -> this client
    def deliver_audio(self, span: int, seq: int, block: np.ndarray, out: list[bytes] | None = None) -> None:
        """AUDIO of ``span``'s block ``seq`` if this client streams it: sent, or appended to
        ``out`` (the card's block, written to the socket in one go by the caller)."""
        tss = self.subscribed.get(span)
        if not tss or self.transport is None:
            return
        if self.transport.get_write_buffer_size() > MAX_CLIENT_BACKLOG:
            self.audio_dropped += 1
            return
        raw = P.encode(P.Audio(span, seq, tss, block[list(tss)].tobytes()))
        if out is not None:
            out.append(raw)
        elif not self.transport.is_closing():
            self.transport.write(raw)


class SimServer:
    """Serves ``board`` on ``host:port`` (port 0: an ephemeral one, see :attr:`port`)."""

    def __init__(self, board: SimBoard, host: str = "127.0.0.1", port: int = 7000,
                 name: str = "cti-sim", echo_on_card: bool = False) -> None:
        self.board = board
        #: the card reports ECHO_CANCEL and cancels line echo itself (ECHO_SET), with the
        #: Board API's canceller on its own spans; else hosts cancel on theirs
        self.echo_on_card = bool(echo_on_card)
        self.host = host
        self.port = port
        self.name = name
        self.sessions: set[ClientSession] = set()
        #: span -> (highest lease epoch claimed by OWNER, the connection holding it or None)
        self.owners: dict[int, tuple[int, ClientSession | None]] = {}
        self._server: asyncio.AbstractServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._cursor = [0] * len(board.spans)
        board.add_ticker(self._on_block)

    def endpoints(self) -> tuple[Endpoint, ...]:
        """The board's spans as the simulator's endpoints (what this server reads blocks from)."""
        spans = self.board.spans
        assert all(isinstance(s, Endpoint) for s in spans)
        return spans  # type: ignore[return-value]  # checked just above

    def cas_state(self, span: Span) -> P.CasState:
        vals = [0] * 31
        for ts in VOICE_TIMESLOTS:
            vals[ts - 1] = span.cas(ts)
        return P.CasState(span.number, tuple(vals))

    # ---- one 20 ms block of the card, fanned out to the clients
    def _on_block(self, now: float) -> None:
        sessions = tuple(self.sessions)
        pending: dict[ClientSession, list[bytes]] = {s: [] for s in sessions}
        for span in self.endpoints():
            self._cursor[span.number], blocks = span.received_blocks(self._cursor[span.number])
            for seq, block, t in blocks:
                block = self._cancel_echo(span, block, t)
                for s in sessions:
                    s.deliver_audio(span.number, seq, block, pending[s])
        for s, raws in pending.items():       # a block's AUDIO of every span in one write, as a card's DMA
            if raws and s.transport is not None and not s.transport.is_closing():
                s.transport.write(b"".join(raws))
        for span in self.endpoints():
            for ts in span.config.hdlc:
                for frame in span.hdlc(ts).recv_all():
                    self._broadcast(P.HdlcFrame(span.number, ts, frame))
        for ev in self.board.poll_events():
            if isinstance(ev, CasChanged):
                self._broadcast(P.CasChanged(ev.span, ev.timeslot, ev.abcd, ev.time))
            elif isinstance(ev, AlarmChanged):
                self._broadcast(P.Alarms(ev.span, ev.alarms.value, ev.time))

    @staticmethod
    def _cancel_echo(span: Endpoint, block: np.ndarray, t: float) -> np.ndarray:
        """``block`` (32 x 160 A-law) with the timeslots an ECHO_SET enabled cancelled by the
        span's canceller (drivers.base.HostEcho: the reference is what hosts sent)."""
        configs = span.echo_configs()
        echo = span.__dict__.get("_host_echo")
        if not configs or echo is None:
            return block
        tss = tuple(sorted(configs))
        out = echo.received(AudioBlock(span.number, tss, block[list(tss)].tobytes(), t))
        block = block.copy()
        block[list(tss)] = np.frombuffer(out.data, np.uint8).reshape(len(tss), -1)
        return block

    def _broadcast(self, msg: P.Message) -> None:
        raw = P.encode(msg)
        for s in tuple(self.sessions):
            if s.hello and s.transport is not None and not s.transport.is_closing():
                s.transport.write(raw)

    # ---- running
    async def start(self) -> int:
        """Listen; returns the port (the ephemeral one when ``port`` was 0)."""
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._server = await self._loop.create_server(lambda: ClientSession(self), self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("serving %d span(s) on %s:%d (%s clock)", len(self.board.spans), self.host,
                 self.port, self.board.clock.kind)
        return self.port

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        assert self._stopping is not None and self._server is not None and self._loop is not None
        try:
            while not self._stopping.is_set():
                clock = self.board.clock
                if isinstance(clock, RealClock):
                    self.board.pump(max_blocks=5)   # then serve the sockets again
                    delay = max(0.001, clock.next_deadline() - self._loop.time())
                    delay = min(delay, 0.02)
                else:
                    delay = 0.2
                try:
                    await asyncio.wait_for(self._stopping.wait(), delay)
                except TimeoutError:
                    pass
        finally:
            self._server.close()
            for s in tuple(self.sessions):
                if s.transport is not None:
                    s.transport.close()
            await self._server.wait_closed()

    def stop(self) -> None:
        """Stop serving (thread-safe); the board stays open (its owner closes it)."""
        self.board.remove_ticker(self._on_block)
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def start_in_thread(self) -> int:
        """Serve from a daemon thread with its own event loop; returns the port once listening."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            async def main() -> None:
                try:
                    await self.start()
                except BaseException as exc:  # pragma: no cover - e.g. port in use
                    failure.append(exc)
                    ready.set()
                    return
                ready.set()
                await self.serve_forever()
            asyncio.run(main())

        self._thread = threading.Thread(target=run, name=f"cti-sim:{self.port}", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        return self.port

    def __enter__(self) -> SimServer:
        self.start_in_thread()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
