"""A ready-made run loop for the signalling stacks: the integrator's one object.

A :class:`Runner` owns one or more trunk adapters (:class:`~cti.signaling.trunk.TrunkAdapter`:
a :class:`~cti.signaling.no1.trunk.No1Trunk` over a board span or any
:class:`~cti.signaling.trunk.CasSpan`, an SS7 trunk over a link or a socket, a PRI trunk ...),
services them by their deadlines, and turns their events into :class:`Call` objects that a
program drives and waits on — so an integrator writes no loop of their own::

    runner = Runner.no1(span, {"ani": False})               # or Runner(any_trunk_adapter)
    runner = Runner.ss7(sock, {"opc": 1, "dpc": 2})          # SS7, link on a SOCK_SEQPACKET socket
    runner = Runner.pri(sock, {"side": "user"})              # PRI, D channel on a socket

    # plain blocking variant
    call = runner.make_call("2001", "13800138000")
    call.wait_answered(timeout=30)                          # raises CallFailed if it ends first
    call.release()
    call.wait_released()
    inc = runner.wait_incoming(timeout=60)                  # an IncomingCall, as a Call
    inc.answer()

    # asyncio
    async with Runner.no1(span) as runner:                  # runs the loop as a task
        call = runner.make_call("2001")
        await call.answered(timeout=30)
        async for ev in runner.events():                    # every TrunkEvent, as it happens
            ...

Time: ``clock`` (default :func:`time.monotonic`) gives ``now`` for every stack call; the
loop waits until the earliest deadline the adapters report, and at most ``poll`` seconds
(20 ms: one E1 block — CAS bits and audio arrive without a wake-up of their own). With a
virtual clock (a simulator board) pass ``clock=board.now, advance=board.advance``: the loop
then moves time itself instead of sleeping, in both variants.

One thread: every method runs on the loop's thread (from another thread, use
``loop.call_soon_threadsafe``). The runner is I/O around sans-IO stacks: it holds no protocol
state of its own beyond which call is on which circuit.
"""
from __future__ import annotations

import asyncio
import itertools
import socket
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from .causes import Cause
from .trunk import (Alerting, Answered, CasSpan, Circuit, DigitsReceived, IncomingCall, Proceeding,
                    Reattempted, Released, TrunkAdapter, TrunkError, TrunkEvent)

__all__ = ["Call", "CallFailed", "Runner"]

BLOCK = 0.020   #: one E1 block: the longest the loop sleeps while nothing is due


class CallFailed(Exception):
    """The call ended (``released``) before what was waited for happened."""

    def __init__(self, call: Call) -> None:
        rel = call.released
        super().__init__(f"call {call.id} on {call.circuit} ended: cause {rel.cause if rel else '?'}"
                         f" ({rel.reason if rel else ''})")
        self.call = call
        self.cause = rel.cause if rel else None


class Call:
    """One call on a trunk: its circuit, numbers, state and every event it had.

    ``state``: ``"offered"`` (incoming, numbers in), ``"dialling"`` / ``"proceeding"``
    (outgoing), ``"alerting"``, ``"answered"``, ``"released"``."""

    def __init__(self, runner: Runner, adapter: TrunkAdapter, circuit: Circuit, direction: str,
                 called: str, calling: str | None, now: float) -> None:
        self.runner = runner
        self.adapter = adapter
        self.id = next(runner._ids)
        self.circuit = circuit
        self.direction = direction
        self.called = called
        self.calling = calling
        self.state = "offered" if direction == "in" else "dialling"
        self.started = now
        self.answered_at: float | None = None
        self.released: Released | None = None
        self.digits = ""                       #: in-band DTMF received while connected
        self.events: list[TrunkEvent] = []

    def __repr__(self) -> str:
        return (f"<Call {self.id} {self.direction} {self.calling or '-'} -> {self.called} on "
                f"{self.circuit} {self.state}>")

    @property
    def ended(self) -> bool:
        return self.released is not None

    # ---- requests ----
    def alert(self) -> None:
        """Incoming: the called party is free and rung (No.1: B1; ISUP: ACM)."""
        self.adapter.alert(self.circuit, self.runner.now())

    def answer(self) -> None:
        """Incoming: answer. The trunk sends what its protocol needs first (No.1: the B1 signal
        ends the register, then the answer signal), so ``answered_at`` is when it was asked."""
        now = self.runner.now()
        self.adapter.answer(self.circuit, now)
        if self.answered_at is None:
            self.state, self.answered_at = "answered", now

    def release(self, cause: int = Cause.NORMAL_CLEARING) -> None:
        """Clear the call (or refuse it, with ``cause``: 17 busy, 1 unallocated ...)."""
        if self.released is None:
            self.adapter.release(self.circuit, int(cause), self.runner.now())

    # ---- waits: blocking ----
    def wait_answered(self, timeout: float | None = None) -> None:
        """Run the loop until the call is answered; CallFailed if it ends first, TimeoutError."""
        if not self.runner.run_until(lambda: self.answered_at is not None or self.ended, timeout):
            raise TimeoutError(f"call {self.id}: not answered within {timeout} s")
        if self.answered_at is None:
            raise CallFailed(self)

    def wait_released(self, timeout: float | None = None) -> Released:
        if not self.runner.run_until(lambda: self.ended, timeout):
            raise TimeoutError(f"call {self.id}: not released within {timeout} s")
        assert self.released is not None
        return self.released

    # ---- waits: asyncio (the runner's loop must be running: ``async with runner``) ----
    async def answered(self, timeout: float | None = None) -> None:
        await self.runner.until(lambda: self.answered_at is not None or self.ended, timeout)
        if self.answered_at is None:
            raise CallFailed(self)

    async def ended_event(self, timeout: float | None = None) -> Released:
        """Wait for the end of the call; its Released event."""
        await self.runner.until(lambda: self.ended, timeout)
        assert self.released is not None
        return self.released

    # ---- the runner feeds it ----
    def _on(self, ev: TrunkEvent) -> None:
        self.events.append(ev)
        if isinstance(ev, Proceeding) and self.state == "dialling":
            self.state = "proceeding"
        elif isinstance(ev, Alerting) and self.state in ("dialling", "proceeding", "offered"):
            self.state = "alerting"
        elif isinstance(ev, Answered):
            self.state = "answered"
            self.answered_at = ev.time
        elif isinstance(ev, Released):
            self.state = "released"
            self.released = ev
        elif isinstance(ev, Reattempted):
            self.circuit = ev.new_circuit
        elif isinstance(ev, DigitsReceived):
            self.digits += ev.digits


class Runner:
    """Runs trunk adapters and exposes their calls (see the module docstring)."""

    def __init__(self, *adapters: TrunkAdapter, clock: Callable[[], float] = time.monotonic,
                 advance: Callable[[float], Any] | None = None, poll: float = BLOCK,
                 on_event: Callable[[TrunkEvent], Any] | None = None, history: int = 1000) -> None:
        if not adapters:
            raise ValueError("a Runner needs at least one trunk adapter")
        for a in adapters:
            if not isinstance(a, TrunkAdapter):
                raise TypeError(f"not a TrunkAdapter: {type(a).__name__}")
        if not poll > 0:
            raise ValueError(f"poll must be > 0 s, not {poll!r}")
        self.adapters: list[TrunkAdapter] = list(adapters)
        self.clock = clock
        self.advance = advance
        self.poll = float(poll)
        self._ids = itertools.count(1)
        self._live: dict[Circuit, Call] = {}
        self._incoming: deque[Call] = deque()
        self._listeners: list[Callable[[TrunkEvent], Any]] = [on_event] if on_event else []
        self._queues: list[asyncio.Queue[TrunkEvent]] = []
        self._cond: asyncio.Condition | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        #: the last ``history`` events, for a look back (every event goes to listeners too)
        self.history: deque[TrunkEvent] = deque(maxlen=history)
        self.counters: Counter[str] = Counter()

    @classmethod
    def no1(cls, span: CasSpan, config: Any = None, **kw: Any) -> Runner:
        """A runner owning a China No.1 trunk (:class:`~cti.signaling.no1.trunk.No1Trunk`) over
        ``span``: a board span or any :class:`~cti.signaling.trunk.CasSpan`."""
        from .no1.trunk import No1Trunk
        return cls(No1Trunk(span, config), **kw)

    @classmethod
    def ss7(cls, link: socket.socket | Sequence[socket.socket] | None, config: Any = None, *,
            spans: Sequence[Any] = (), socket_options: dict[str, Any] | None = None, **kw: Any) -> Runner:
        """A runner owning an SS7 trunk (:class:`~cti.signaling.ss7.trunk.Ss7Trunk`): ``link`` is
        the SOCK_SEQPACKET socket of the signalling link (or one per configured link; one
        frame + FCS per datagram, libss7's framing), or None for the TS16 HDLC channels of
        ``spans`` (board spans; also where in-band DTMF is heard). ``config``: an
        :class:`~cti.signaling.ss7.config.Ss7Config` or its dict. Readiness: :attr:`ready`,
        :meth:`wait_ready`; a call made before the start-up reset is acknowledged fails with
        cause 41 ("not ready"), or waits ``ready_wait`` seconds of the config for it."""
        from .ss7.trunk import Ss7Trunk
        socks = None if link is None else [link] if isinstance(link, socket.socket) else list(link)
        return cls(Ss7Trunk(spans, config, socks, socket_options=socket_options), **kw)

    @classmethod
    def pri(cls, link: socket.socket | Sequence[socket.socket] | None, config: Any = None, *,
            spans: Sequence[Any] = (), **kw: Any) -> Runner:
        """A runner owning an ISDN PRI trunk (:class:`~cti.signaling.pri.trunk.PriTrunk`, user
        or network side by ``config["side"]``): ``link`` is the D channel's SOCK_SEQPACKET
        socket (one per span; one frame + FCS per datagram), or None for the TS16 HDLC
        channels of ``spans``. Ready (:attr:`ready`) when every D channel is up."""
        from .pri.trunk import PriTrunk
        from .ss7.transport import SeqpacketTransport
        if link is None:
            return cls(PriTrunk(spans, config), **kw)
        socks = [link] if isinstance(link, socket.socket) else list(link)
        if len(socks) != max(len(spans), 1):
            raise ValueError(f"{len(socks)} D-channel sockets for {max(len(spans), 1)} interfaces")
        trunk = PriTrunk(spans, config, transports=[])
        trunk.transports = [SeqpacketTransport(s, st, trunk.pcap, i)
                            for i, (s, st) in enumerate(zip(socks, trunk.stacks, strict=True))]
        return cls(trunk, **kw)

    # ---- readiness ----
    @staticmethod
    def _ready(a: TrunkAdapter) -> bool:
        return bool(getattr(a, "ready", getattr(a, "up", True)))

    @property
    def ready(self) -> bool:
        """Every adapter can take a call now (SS7: link in service and the start-up circuit
        reset acknowledged; PRI: every D channel up); an adapter with neither ``ready`` nor
        ``up`` counts as ready."""
        return all(self._ready(a) for a in self.adapters)

    def wait_ready(self, timeout: float | None = None) -> None:
        """Run the loop until :attr:`ready`; TimeoutError after ``timeout`` seconds of the clock.
        (On asyncio: ``await runner.until(lambda: runner.ready, timeout)``.)"""
        if not self.run_until(lambda: self.ready, timeout):
            raise TimeoutError(f"trunk not ready within {timeout} s")

    # ---- time ----
    def now(self) -> float:
        return float(self.clock())

    def deadline(self, now: float) -> float:
        """When :meth:`step` must run next: the earliest adapter deadline, at most ``poll`` away."""
        d = now + self.poll
        for a in self.adapters:
            t = a.timer_deadline()
            if t is not None and t < d:
                d = t
        return max(d, now)

    # ---- one turn of the loop ----
    def step(self, now: float | None = None) -> list[TrunkEvent]:
        """Service every adapter at ``now`` (default: the clock) and route what they report."""
        now = self.now() if now is None else now
        out: list[TrunkEvent] = []
        for a in self.adapters:
            for ev in a.service(now):
                self._route(a, ev)
                out.append(ev)
        return out

    def _route(self, adapter: TrunkAdapter, ev: TrunkEvent) -> None:
        self.counters[type(ev).__name__] += 1
        self.history.append(ev)
        call: Call | None
        if isinstance(ev, IncomingCall):
            call = Call(self, adapter, ev.circuit, "in", ev.called, ev.calling, ev.time)
            self._live[ev.circuit] = call
            self._incoming.append(call)
        else:
            call = self._live.get(ev.circuit)
        if call is not None:
            call._on(ev)
            if isinstance(ev, Reattempted):
                self._live.pop(ev.circuit, None)
                self._live[ev.new_circuit] = call
            elif isinstance(ev, Released):
                self._live.pop(ev.circuit, None)
        for fn in self._listeners:
            fn(ev)
        for q in self._queues:
            q.put_nowait(ev)

    # ---- requests ----
    def make_call(self, called: str, calling: str | None = None, circuit: Circuit | None = None,
                  adapter: TrunkAdapter | None = None) -> Call:
        """Place a call on ``circuit`` (or the first adapter with a free circuit); TrunkError
        (with a Q.850 ``cause``) when none can take it."""
        now = self.now()
        err: TrunkError | None = None
        for a in [adapter] if adapter is not None else self._adapters_for(circuit):
            if not self._can_wait_or_ready(a):
                err = TrunkError("not ready: the signalling link is not in service or its start-up circuit"
                                 " reset is not acknowledged yet", cause=Cause.TEMPORARY_FAILURE)
                continue
            try:
                got = a.make_call(called, calling, now, circuit)
            except TrunkError as exc:
                err = exc
                continue
            call = Call(self, a, got, "out", called, calling, now)
            self._live[got] = call
            return call
        raise err or TrunkError("no trunk adapter can place the call", cause=Cause.NO_CIRCUIT_AVAILABLE)

    @staticmethod
    def _can_wait_or_ready(a: TrunkAdapter) -> bool:
        """``a`` is ready, has no notion of readiness, or holds calls until it is (SS7
        ``ready_wait``); an IAM queued before link-up would meet the start-up reset."""
        if Runner._ready(a):
            return True
        return float(getattr(getattr(a, "config", None), "ready_wait", 0.0) or 0.0) > 0

    def _adapters_for(self, circuit: Circuit | None) -> list[TrunkAdapter]:
        if circuit is None:
            return self.adapters
        hits = [a for a in self.adapters if circuit in a.circuits()]
        if not hits:
            raise TrunkError(f"no adapter of this runner has circuit {circuit!r}")
        return hits

    def calls(self) -> list[Call]:
        """The calls in progress."""
        return list(self._live.values())

    def resend_line_state(self) -> None:
        """After a card or peer reconnected: every adapter sends again what the far end must
        see continuously (No.1: each circuit's CAS bits; the trunk otherwise writes bits only
        when they change)."""
        now = self.now()
        for a in self.adapters:
            a.resend_line_state(now)

    def attach(self, span: Any, adapter: TrunkAdapter | None = None) -> None:
        """Move ``adapter`` (default: the only one) to a new span object — a reopened card, a
        reconnected peer; its circuits keep their names and calls."""
        if adapter is None:
            if len(self.adapters) != 1:
                raise ValueError("several adapters: say which one moves")
            adapter = self.adapters[0]
        attach = getattr(adapter, "attach", None)
        if attach is None:
            raise TypeError(f"{type(adapter).__name__} cannot move to another span")
        attach(span, self.now())

    # ---- the plain blocking variant ----
    def _turn(self) -> None:
        """Sleep (or advance virtual time) to the next deadline, then step."""
        now = self.now()
        wait = self.deadline(now) - now
        if self.advance is not None:
            self.advance(max(wait, 1e-6))
        elif wait > 0:
            time.sleep(wait)
        self.step()

    def run_until(self, done: Callable[[], bool], timeout: float | None = None) -> bool:
        """Run the loop until ``done()`` (True) or ``timeout`` seconds of the clock pass (False)."""
        end = None if timeout is None else self.now() + timeout
        self.step()
        while not done():
            if end is not None and self.now() >= end:
                return False
            self._turn()
        return True

    def run(self, seconds: float) -> None:
        """Run the loop for ``seconds`` of the clock."""
        self.run_until(lambda: False, seconds)

    def run_forever(self) -> None:
        """Run until :meth:`stop` (from a listener or another thread's flag)."""
        self._stopping = False
        self.run_until(lambda: self._stopping)

    def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()

    def wait_incoming(self, timeout: float | None = None) -> Call | None:
        """The next incoming call (running the loop until one is offered), or None on timeout."""
        if not self.run_until(lambda: bool(self._incoming), timeout):
            return None
        return self._incoming.popleft()

    def add_listener(self, fn: Callable[[TrunkEvent], Any]) -> None:
        """``fn(event)`` for every TrunkEvent, as it is routed."""
        self._listeners.append(fn)

    # ---- asyncio ----
    async def serve(self) -> None:
        """Run the loop on asyncio until cancelled (``async with runner`` does this as a task)."""
        self._cond = asyncio.Condition()
        self._stopping = False
        try:
            while not self._stopping:
                now = self.now()
                wait = self.deadline(now) - now
                if self.advance is not None:
                    self.advance(max(wait, 1e-6))
                    await asyncio.sleep(0)
                else:
                    await asyncio.sleep(max(wait, 0.0))
                self.step()
                async with self._cond:
                    self._cond.notify_all()
        finally:
            self._cond = None

    async def __aenter__(self) -> Runner:
        self._task = asyncio.get_running_loop().create_task(self.serve())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def until(self, done: Callable[[], bool], timeout: float | None = None) -> None:
        """Wait (the loop running as a task) until ``done()``; TimeoutError after
        ``timeout`` seconds of the clock."""
        if self._task is None or self._task.done():
            raise RuntimeError("the runner is not running: use 'async with runner' (or run serve() as a task)")
        end = None if timeout is None else self.now() + timeout
        while not done():
            if end is not None and self.now() >= end:
                raise TimeoutError(f"not done within {timeout} s")
            cond = self._cond
            if cond is None:
                await asyncio.sleep(0)
                continue
            async with cond:
                await cond.wait()

    async def incoming(self, timeout: float | None = None) -> Call:
        """The next incoming call."""
        await self.until(lambda: bool(self._incoming), timeout)
        return self._incoming.popleft()

    async def events(self) -> AsyncIterator[TrunkEvent]:
        """Every TrunkEvent from now on, as it happens (an async iterator)."""
        q: asyncio.Queue[TrunkEvent] = asyncio.Queue()
        self._queues.append(q)
        try:
            while True:
                yield await q.get()
        finally:
            self._queues.remove(q)

