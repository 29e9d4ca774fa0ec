"""The main job: board(s) + trunk adapters + call model + bus + store, and the components
handed in, on one loop.

Everything runs in one thread (the loop in :meth:`CtiServer.run`): the board's clock runs
the signalling stacks and the call model every 20 ms block (a board ticker), model events are
published on the bus, CDRs go to the store, and bus requests are served between blocks, so
no state is shared between threads. Other threads reach in only through :meth:`call_soon`.

Everything else is a component handed in at construction (:mod:`cti.plugin`): the contact
centre, the demo scenario, simulated exchanges. The server runs them (start/stop, service
when their deadline is due), chains the requests they serve in front of its own call
control, adds their snapshot sections and hands them the events they want. The simulator is
wired in the command layer (:mod:`cti.cli.wiring`), never here.

The loop sleeps until the earliest deadline of the components, the call model and its
stacks, the board's next block, a bus socket or :meth:`call_soon` — there is no fixed poll.
"""
from __future__ import annotations

import collections
import gc
import logging
import os
import queue
import threading
import time
from typing import Any
from collections.abc import Callable, Collection, Iterable, Mapping

import zmq

from cti.bus.auth import Account, Security
from cti.bus.commands import install
from cti.bus.server import BusServer, Endpoints, Limits
from cti.call.errors import UnknownRequestError
from cti.call.events import ServerStarted, SpanState
from cti.call.loopback import FarBehaviour, LoopbackTrunk
from cti.call.model import CallModel
from cti.config import Config, ConfigError
from cti.media.progress import ProgressWatch
from cti.plugin import EVERY_BLOCK, Component, Handler, Link, Section, chain, event_type, serves
from cti.signaling.trunk import TrunkAdapter
from cti.store import open_store

log = logging.getLogger(__name__)
VERSION = "1"
BLOCK = 0.02                 #: seconds of one board block (G.704 multiframe pace of the kernels)
MAX_SLEEP = 1.0              #: the loop wakes at least this often (housekeeping, retention)
PRUNE_EVERY = 60.0           #: seconds between two applications of the journal's retention
#: CPython's automatic gen-2 collection walks the whole heap (117 ms at 128 loaded spans):
#: after start-up it never runs on its own; housekeeping collects everything this often
#: (seconds), so old cyclic garbage is still reclaimed, at a known cadence (docs/capacity.md)
GC_FULL_EVERY = 600.0
VIRTUAL_TURN_MS = 10         #: virtual clock: wall-clock ms a turn waits for sockets (leaves CPU to clients)


def _import(module: str, name: str, what: str) -> Any:
    import importlib
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"{what} is not available ({module}.{name}): {e}") from e


_STACKS = {"no1": ("cti.signaling.no1.trunk", "No1Trunk", "the No.1 stack"),
           "ss7": ("cti.signaling.ss7.trunk", "Ss7Trunk", "the SS7 stack"),
           "pri": ("cti.signaling.pri.trunk", "PriTrunk", "the PRI stack")}


class CallControl(Component):
    """The server's own requests: the CSTA services over the call model (:mod:`cti.bus.commands`),
    the ``calls`` / ``spans`` snapshot sections. The last link of every request chain."""

    name = "call-control"

    def __init__(self, bus: BusServer, model: CallModel, clock: Callable[[], float]) -> None:
        self.bus = bus
        self._links: dict[str, Link] = {}
        self._sections: dict[str, Section] = {}
        install(self, model, clock)          # type: ignore[arg-type]  # registers through the two methods below

    @property
    def security(self) -> Security:          # read by the handlers at request time
        return self.bus.security

    def register_command(self, name: str, handler: Handler) -> None:
        self._links[name] = serves(handler)

    def add_state(self, name: str, provider: Section) -> None:
        self._sections[name] = provider

    def requests(self) -> Mapping[str, Link]:
        return self._links

    def sections(self) -> Mapping[str, Section]:
        return self._sections


class CtiServer:
    """See the module docstring. ``board``/``adapters`` may be injected (tests); ``components``
    are the parts handed in (:mod:`cti.plugin`), in order: requests reach them in that order."""

    def __init__(self, config: Config | None = None, *, board: Any = None,
                 adapters: list[TrunkAdapter] | None = None, components: Iterable[Component] = (),
                 ctx: zmq.Context[Any] | None = None, strict: bool = True) -> None:
        self.config = cfg = config or Config()
        self.strict = strict
        self.store = open_store(cfg.server.store,       # a cluster node's own journal rows in a shared database
                                node=cfg.server.node if cfg.cluster is not None else "")
        self.board = board
        self.adapters: list[TrunkAdapter] = list(adapters or [])
        self._t0 = time.monotonic()
        self._calls: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        if board is None and adapters is None:
            self._open_board()
        media = None
        if self.board is not None:
            from cti.media.path import BoardMedia
            media = BoardMedia({i: s for i, s in enumerate(self.board.spans)})
        first = int(self.store.get_meta("next_call") or 1)
        self.model = CallModel(self.adapters, auto_alert=cfg.call.auto_alert, media=media,
                               first_call=first, fail_linger=cfg.call.fail_linger,
                               node=cfg.server.node if cfg.cluster is not None else "",   # ids unique across a cluster
                               presentation=cfg.call.presentation,
                               pickup_groups={g: d for g, d in cfg.call.pickup_groups.items()})
        self._saved_next = first
        security = (Security.curve(cfg.bus.keys, cfg.bus.accounts) if cfg.bus.security == "curve" else Security())
        self.bus = BusServer(self.store, security,
                             Endpoints(cfg.bus.events, cfg.bus.snapshot, cfg.bus.control),
                             Limits(max_request=cfg.bus.max_request, rate=cfg.bus.rate, burst=cfg.bus.burst,
                                    subscriber_buffer=cfg.bus.subscriber_buffer),
                             node=cfg.server.node, ctx=ctx)
        self.bus.after_request.append(self.flush_model)
        self.components: list[Component] = []
        self._control = CallControl(self.bus, self.model, self.now)
        self._wants: dict[str, list[Callable[[Any], None]]] = {}
        self._wants_all: list[Callable[[Any], None]] = []
        self._outbox: collections.deque[Any] = collections.deque()   #: published, not yet handed out
        self._dispatching = False
        self._started = False
        self.turns = 0                     #: loop turns so far (each waits for the next deadline)
        self._last_prune = 0.0
        self._active = True                #: the turn published or served something (next_call may move)
        self._last_full_gc = 0.0
        self._gc_threshold: tuple[int, int, int] | None = None   #: the process's, before start()
        self._board_fd = False             #: the loop waits on the (polled) board's descriptor
        self._served: float | None = None  #: board time of the last service (polled board)
        self._served_wall = 0.0
        # the simulator runs our stacks every 20 ms block; other boards are serviced per loop turn
        self._ticked = self.board is not None and hasattr(self.board, "add_ticker")
        #: a virtual-clock board is advanced one step per turn; a real-time simulator is pumped
        self._virtual = getattr(getattr(self.board, "clock", None), "kind", "real") == "virtual"
        self._pump: Callable[[], Any] | None = None if self._virtual else getattr(self.board, "pump", None)
        if self._ticked:
            self.board.add_ticker(self._service)
        self._wire()
        for c in components:
            self.add(c)

    # ---- components --------------------------------------------------------------------
    def add(self, component: Component) -> Component:
        """Hand in one more component (after those given at construction); started at once
        when the server already runs. Returns it."""
        if not isinstance(component, Component):
            raise TypeError(f"a component subclasses cti.plugin.Component, not {type(component).__name__}")
        if any(c.name == component.name for c in self.components):
            raise ConfigError(f"two components named {component.name!r}")
        self.components.append(component)
        self._wire()
        if self._started:
            component.start(self)
        return component

    def part(self, name: str) -> Component:
        """The component called ``name`` (KeyError when there is none)."""
        for c in self.components:
            if c.name == name:
                return c
        raise KeyError(name)

    def _wire(self) -> None:
        """Request chains, snapshot sections and event subscriptions from the components."""
        parts = [*self.components, self._control]
        links: dict[str, list[Link]] = {}
        for c in parts:
            for kind, link in c.requests().items():
                links.setdefault(kind, []).append(link)
        for kind, chain_links in links.items():
            self.bus.register_command(kind, chain(chain_links, _unknown(kind)))
        seen: dict[str, str] = {}
        for c in parts:
            for section, provider in c.sections().items():
                if seen.setdefault(section, c.name) != c.name:
                    raise ConfigError(f"snapshot section {section!r} added by {seen[section]} and {c.name}")
                self.bus.add_state(section, provider)
        self._wants, self._wants_all = {}, []
        for c in self.components:
            wanted: Collection[str] | None = c.events()
            if wanted is None:
                self._wants_all.append(c.on_event)
            else:
                for kind in wanted:
                    self._wants.setdefault(kind, []).append(c.on_event)

    # ---- building ----------------------------------------------------------------------
    def _open_board(self) -> None:
        cfg = self.config
        if cfg.board.driver == "loopback":
            for t in cfg.trunks:
                self.adapters.append(LoopbackTrunk(t.spans, signalling=t.signalling,
                                                   behaviour=lambda n: FarBehaviour("answer", after=2.0, hold_for=8.0)))
            return
        import drivers
        from drivers.base import SpanConfig
        if not self.strict:   # the demo: leave out stacks that are not installed, loudly
            keep = []
            for t in cfg.trunks:
                try:
                    _import(*_STACKS[t.signalling])
                    keep.append(t)
                except (ConfigError, KeyError) as e:
                    log.warning("trunk %s on spans %s left out: %s", t.signalling, t.spans, e)
            cfg.trunks = keep
        kwargs = dict(cfg.board.options)
        if cfg.board.driver == "sim":
            sig = {s: t.signalling for t in cfg.trunks for s in t.spans}
            kwargs.setdefault("spans", cfg.board.spans)
            kwargs.setdefault("clock", cfg.board.clock)
            kwargs.setdefault("config", [SpanConfig(signalling="ccs" if sig.get(i) in ("ss7", "pri") else "cas")
                                         for i in range(cfg.board.spans)])
        self.board = drivers.open(cfg.board.driver, **kwargs)
        for t in cfg.trunks:
            try:
                self._add_trunk(t)
            except ConfigError as e:
                if self.strict:
                    raise
                log.warning("trunk %s on spans %s skipped: %s", t.signalling, t.spans, e)

    def _add_trunk(self, t: Any) -> None:
        spans = [self.board.span(s) for s in t.spans]
        if t.signalling == "no1":
            no1, cfg_cls = (_import("cti.signaling.no1.trunk", "No1Trunk", "the No.1 stack"),
                            _import("cti.signaling.no1.config", "No1Config", "the No.1 stack"))
            cfg = cfg_cls.from_dict(dict(t.config))
            self.adapters += [no1(span, cfg) for span in spans]
        elif t.signalling == "ss7":
            ss7 = _import("cti.signaling.ss7.trunk", "Ss7Trunk", "the SS7 stack")
            cfg_cls = _import("cti.signaling.ss7.trunk", "Ss7Config", "the SS7 stack")
            self.adapters.append(ss7(spans, cfg_cls.from_dict(dict(t.config))))
        elif t.signalling == "pri":     # config: side = "user" | "network", variant, timers ...
            pri = _import("cti.signaling.pri.trunk", "PriTrunk", "the PRI stack")
            cfg_cls = _import("cti.signaling.pri.trunk", "PriConfig", "the PRI stack")
            self.adapters.append(pri(spans, cfg_cls.from_dict(dict(t.config))))
        else:
            raise ConfigError(f"signalling {t.signalling!r} needs the loopback driver")

    # ---- the loop ------------------------------------------------------------------------
    def now(self) -> float:
        """Model time: the board's clock, or seconds since start without a board."""
        return self.board.now() if self.board is not None else time.monotonic() - self._t0

    def start(self) -> CtiServer:
        self.bus.start()
        self.bus.publish(ServerStarted(node=self.config.server.node, version=VERSION))
        for sp in self.model.snapshot()["spans"]:
            self.bus.publish(SpanState(span=sp["span"], available=sp["available"], total=sp["total"],
                                       reason="server started"))
        self.bus.flush()
        self._poller = zmq.Poller()
        for fd in self.bus.fds():            # the bus's descriptors, not its sockets: see BusServer.fds
            self._poller.register(fd, zmq.POLLIN)
        self._poller.register(self._wake_r, zmq.POLLIN)
        if self.board is not None and not self._ticked:   # a polled card (wire): wake when its data arrives
            try:
                self._poller.register(self.board.fileno(), zmq.POLLIN)
                self._board_fd = True
            except Exception:    # a backend without a descriptor: the turn's 20 ms wait paces it
                pass
        self._started = True
        for c in self.components:
            c.start(self)
        gc.collect()
        gc.freeze()   # start-up objects leave later collections: shorter GC pauses, lower bus p99
        self._gc_threshold = gen0, gen1, _gen2 = gc.get_threshold()
        gc.set_threshold(gen0, gen1, 1_000_000_000)    # no gen 2 inside a block: see GC_FULL_EVERY
        self._last_full_gc = time.monotonic()
        return self

    def _service(self, now: float) -> None:
        """One block (board ticker) or one turn: the call model and its stacks, then every
        component whose deadline is due, in the order handed in; publishes what they produced."""
        self.model.service(now)
        self.flush_model()
        for c in self.components:
            due = c.deadline()
            if due is not None and due <= now:
                c.service(now)
                self.flush_model()

    def publish(self, event: Any) -> int:
        """Publish ``event`` and hand it to the components that want it; returns its seq."""
        seq = self.bus.publish(event)
        self._outbox.append(event)
        if not self._dispatching:
            self._dispatch()
        return seq

    def _dispatch(self) -> None:
        """Hand the published events to their subscribers in seq order: an event a subscriber
        publishes meanwhile waits until every subscriber has seen the ones before it."""
        self._dispatching = True
        wants, every, box = self._wants, self._wants_all, self._outbox
        try:
            while box:
                e = box.popleft()
                fns = wants.get(event_type(e))
                if fns:
                    for fn in fns:
                        fn(e)
                for fn in every:
                    fn(e)
        finally:
            self._dispatching = False

    def flush_model(self) -> None:
        """Publish what the model produced and store its CDRs."""
        publish, box = self.bus.publish, self._outbox
        events = self.model.take_events()
        if events:
            self._active = True
        for e in events:
            publish(e)
            box.append(e)
        if box and not self._dispatching:
            self._dispatch()
        cdrs = self.model.take_cdrs()
        if cdrs:
            offset = time.time() - self.now()      # model (board) time -> wall clock for the CDR
            for cdr in cdrs:
                for k in ("started", "answered", "ended"):
                    if cdr.get(k) is not None:
                        cdr[k] = round(cdr[k] + offset, 3)
                self.store.write_cdr(cdr)

    def _polled_service(self) -> None:
        """A polled card (wire, DAHDI): the model once per block the card delivered, several
        times after a late turn (bridges, recorders and prompts carry one block per service:
        a turn without a new block must not write one more), or once a second while the card's
        time stands still (no audio streaming yet: the stacks' first reads subscribe)."""
        now, t = self.board.now(), time.monotonic()
        last = self._served
        if last is None or now < last:
            n = 1
        else:
            n = min(50, int((now - last) / BLOCK + 0.5))
            if n == 0 and t - self._served_wall >= MAX_SLEEP:
                n = 1
        for _ in range(n):
            self._service(now)
        if n:
            self._served, self._served_wall = now, t

    def _board_events(self) -> None:
        evs = self.board.poll_events()      # a board with nothing queued answers at once (SimBoard: one count)
        if not evs:
            return
        from drivers.base import AlarmChanged
        alarms = [ev for ev in evs if isinstance(ev, AlarmChanged)]
        if not alarms:          # the snapshot below walks every call, so only on an alarm
            return
        spans = {sp["span"]: sp for sp in self.model.snapshot()["spans"]}
        for ev in alarms:
            sp = spans.get(ev.span, {"available": 0, "total": 0})
            names = [a.name for a in type(ev.alarms) if a.value and a in ev.alarms and a.name]
            self.publish(SpanState(span=ev.span, available=sp["available"], total=sp["total"],
                                   alarms=names, reason="alarm" if names else "alarm cleared"))

    def next_deadline(self) -> float | None:
        """The earliest model time at which the call model, its stacks or a component needs
        service (:data:`cti.plugin.EVERY_BLOCK` when one wants every block); None: only on input."""
        ds = [d for d in (self.model.timer_deadline(), *(c.deadline() for c in self.components)) if d is not None]
        return min(ds) if ds else None

    def _sleep_ms(self) -> int:
        """How long the loop may wait for sockets before the next turn is due."""
        board = self.board
        if board is not None and self._virtual:
            return VIRTUAL_TURN_MS
        if self._ticked:          # the board's clock runs our service: wait for its next block
            nxt = getattr(board, "next_block", None)
            wait = nxt() - time.monotonic() if nxt is not None else BLOCK
        elif self._board_fd:               # a polled card's descriptor wakes the loop when a block
            wait = BLOCK                   # is in: the model's time moves only then
        else:
            due = self.next_deadline()
            wait = MAX_SLEEP if due is None else due - self.now()
            if board is not None:
                wait = min(wait, BLOCK)    # a polled card fills its buffers block by block
        bus_due = self.bus.deadline()      # watchers to push, leases, the accounts file
        if bus_due is not None:
            wait = min(wait, bus_due - time.monotonic())
        return int(max(0.0, min(wait, MAX_SLEEP)) * 1000 + 0.999)

    def step(self, timeout_ms: int | None = None) -> None:
        """One turn: queued calls, the board (or loopback trunks), the bus, housekeeping; waits
        for sockets up to ``timeout_ms`` (default: until the next deadline, see :meth:`_sleep_ms`).

        One wait per turn: the bus's sockets, the wake-up pipe and a polled card's descriptor
        in one poll, whose answer the bus serves (:meth:`BusServer.serve`); a turn that does
        not wait asks the bus (:meth:`BusServer.poll`), which looks at its descriptors in one
        system call and reads the sockets only when one signalled. Nothing here is per span:
        board events are asked of the board once (a board with none queued answers at once),
        housekeeping runs when its time is due or the turn published something."""
        self.turns += 1
        calls = self._calls
        while not calls.empty():
            try:
                calls.get_nowait()()
            except queue.Empty:
                break
        board = self.board
        if board is not None:
            if self._virtual:
                board.advance(self.config.board.step)
            elif self._pump is not None:
                self._pump()
            if not self._ticked:
                self._polled_service()
            self._board_events()
        else:
            self._service(self.now())
        wait = self._sleep_ms() if timeout_ms is None else timeout_ms
        if wait > 0 and self._started:
            ready = dict(self._poller.poll(wait))
            if self._wake_r in ready:
                try:
                    os.read(self._wake_r, 4096)
                except BlockingIOError:
                    pass
            if self.bus.serve(ready):
                self._active = True
        elif self.bus.poll(0):
            self._active = True
        self._housekeeping()

    def _housekeeping(self) -> None:
        """The call number to continue from after a restart (only after a turn that published
        or served something: a new call publishes), every minute the journal's retention, and
        every GC_FULL_EVERY a full garbage collection: two comparisons on other turns."""
        if self._active:
            self._active = False
            nxt = self.model.next_call_number
            if nxt != self._saved_next:
                self.store.set_meta("next_call", str(nxt))
                self._saved_next = nxt
        t = time.monotonic()
        if self._gc_threshold is not None and t - self._last_full_gc > GC_FULL_EVERY:
            self._last_full_gc = t
            found = gc.collect()
            log.info("full garbage collection: %d unreachable objects, %.1f ms", found,
                     1e3 * (time.monotonic() - t))
        if t - self._last_prune > PRUNE_EVERY:
            self._last_prune = t
            s = self.config.server
            if s.retention_events or s.retention_seconds:
                # on the store's maintenance thread, in chunks: a large journal never stalls the loop
                self.store.prune_soon(keep_events=s.retention_events or None,
                                      keep_seconds=s.retention_seconds or None)

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"\0")
        except (BlockingIOError, OSError):    # full (a wake-up is pending anyway) or closed
            pass

    def call_soon(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` in the server's thread at the next turn (thread-safe; wakes the loop)."""
        self._calls.put(fn)
        self._wake()

    def run(self, duration: float | None = None) -> None:
        """Serve until :meth:`stop` (or ``duration`` seconds)."""
        end = None if duration is None else time.monotonic() + duration
        errors = 0
        while not self._stopping.is_set() and (end is None or time.monotonic() < end):
            try:
                self.step()
                errors = 0
            except Exception as e:   # one bad turn must not end the service; a dead board does
                from drivers.base import BoardClosed
                if isinstance(e, BoardClosed):
                    raise
                errors += 1
                log.exception("loop turn failed (%d in a row)", errors)
                time.sleep(min(1.0, 0.01 * errors))

    def stop(self) -> None:
        self._stopping.set()
        self._wake()

    def close(self) -> None:
        if self._gc_threshold is not None:     # the process's collector as it was (tests run many servers)
            gc.set_threshold(*self._gc_threshold)
            self._gc_threshold = None
        for c in reversed(self.components):
            try:
                c.stop()
            except Exception:      # one part failing to stop must not keep the journal open
                log.exception("component %s failed to stop", c.name)
        self.flush_model()
        self.store.set_meta("next_call", str(self.model.next_call_number))
        self.bus.close()
        self.store.close()
        if self.board is not None:
            self.board.close()
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass


class CallProgress(ProgressWatch, Component):
    """Call-progress tones heard on every busy trunk circuit (:mod:`cti.media.progress`), as a
    component: ``server.add(CallProgress(country="cn"))``."""


def _unknown(kind: str) -> Handler:
    def handler(account: Account, request: Any, t: float) -> dict[str, Any]:
        raise UnknownRequestError(f"request type {kind} is not served by this server", type=kind)
    return handler


class BackgroundServer:
    """Run a started :class:`CtiServer` in a thread (tests, embedding): ``with BackgroundServer(srv): ...``."""

    def __init__(self, server: CtiServer) -> None:
        self.server = server
        self.thread = threading.Thread(target=server.run, name="cti-server", daemon=True)

    def __enter__(self) -> CtiServer:
        self.thread.start()
        return self.server

    def __exit__(self, *exc: object) -> None:
        self.server.stop()
        self.thread.join(10)
        self.server.close()

    def do(self, fn: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Run ``fn`` in the server thread and return its result."""
        box: list[Any] = []
        done = threading.Event()

        def run() -> None:
            try:
                box.append((True, fn()))
            except BaseException as e:  # handed back to the caller
                box.append((False, e))
            done.set()
        self.server.call_soon(run)
        if not done.wait(timeout):
            raise TimeoutError("server thread did not run the call")
        ok, value = box[0]
        if not ok:
            raise value
        return value


__all__ = ["BackgroundServer", "CallControl", "CallProgress", "CtiServer", "EVERY_BLOCK", "VERSION"]
