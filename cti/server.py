"""The main job: board(s) + trunk adapters + call model + bus + store, on one loop.

Everything runs in one thread (the loop in :meth:`CtiServer.run`): the board's clock runs
the signalling stacks and the call model every 20 ms block (board tickers), model events are
published on the bus, CDRs go to the store, and bus requests are served between blocks, so
no state is shared between threads. Other threads reach in only through :meth:`call_soon`.

On a simulator board the far ends get simulated exchanges (No.1 / SS7) and, with the demo
on, a :class:`simulator.scenario.Scenario` places and answers calls continuously. The
"loopback" driver runs with no board at all (LoopbackTrunk + LoopbackNetwork).
"""
from __future__ import annotations

import gc
import logging
import queue
import threading
import time
from typing import Any, Callable

import zmq

from cti.bus.auth import Security
from cti.bus.commands import install
from cti.bus.server import BusServer, Endpoints, Limits
from cti.call.events import ServerStarted, SpanState
from cti.call.loopback import FarBehaviour, LoopbackTrunk
from cti.call.model import CallModel
from cti.config import Config, ConfigError
from cti.signaling.trunk import TrunkAdapter
from cti.store import open_store

log = logging.getLogger(__name__)
VERSION = "1"


def _import(module: str, name: str, what: str) -> Any:
    import importlib
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"{what} is not available ({module}.{name}): {e}") from e


_STACKS = {"no1": ("cti.signaling.no1.trunk", "No1Trunk", "the No.1 stack"),
           "ss7": ("cti.signaling.ss7.trunk", "Ss7Trunk", "the SS7 stack")}


class CtiServer:
    """See the module docstring. ``board``/``adapters``/``networks`` may be injected (tests)."""

    def __init__(self, config: Config | None = None, *, board: Any = None,
                 adapters: list[TrunkAdapter] | None = None, networks: list[Any] | None = None,
                 scenario: Any = None, ctx: zmq.Context | None = None, strict: bool = True) -> None:
        self.config = cfg = config or Config()
        self.strict = strict
        self.store = open_store(cfg.server.store)
        self.board = board
        self.networks: list[Any] = list(networks or [])
        self.exchanges: list[Any] = []
        self.adapters: list[TrunkAdapter] = list(adapters or [])
        self._t0 = time.monotonic()
        self._calls: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._stopping = threading.Event()
        if board is None and adapters is None:
            self._open_board()
        media = None
        if self.board is not None:
            from cti.call.inband import BoardMedia
            media = BoardMedia({i: s for i, s in enumerate(self.board.spans)})
        first = int(self.store.get_meta("next_call") or 1)
        self.model = CallModel(self.adapters, auto_alert=cfg.call.auto_alert, media=media,
                               first_call=first, fail_linger=cfg.call.fail_linger)
        self._saved_next = first
        security = (Security.curve(cfg.bus.keys, cfg.bus.accounts) if cfg.bus.security == "curve" else Security())
        self.bus = BusServer(self.store, security,
                             Endpoints(cfg.bus.events, cfg.bus.snapshot, cfg.bus.control),
                             Limits(max_request=cfg.bus.max_request, rate=cfg.bus.rate, burst=cfg.bus.burst),
                             node=cfg.server.node, ctx=ctx)
        install(self.bus, self.model, self.now)
        self.bus.after_request.append(self.flush_model)
        self.scenario = scenario
        if scenario is None and cfg.demo.enabled:
            self.scenario = self._demo()
        self.event_hooks: list[Callable[[dict[str, Any] | Any], None]] = []
        if self.scenario is not None:
            self.event_hooks.append(self.scenario.on_event)
        self._last_prune = 0.0
        # the simulator runs our stacks every 20 ms block; other boards are serviced per loop turn
        self._ticked = self.board is not None and hasattr(self.board, "add_ticker")
        if self._ticked:
            for t in (*self.exchanges, self._tick):
                self.board.add_ticker(t)
        self.contact = None
        if cfg.contact is not None:    # after the call-control install: it takes over some handlers
            from cti.contact import ContactConfig, install as install_contact
            self.contact = install_contact(self, ContactConfig.from_dict(cfg.contact))

    # ---- building ----------------------------------------------------------------------
    def _open_board(self) -> None:
        cfg = self.config
        if cfg.board.driver == "loopback":
            for t in cfg.trunks:
                trunk = LoopbackTrunk(t.spans, signalling=t.signalling,
                                      behaviour=lambda n: FarBehaviour("answer", after=2.0, hold_for=8.0))
                self.adapters.append(trunk)
                from simulator.scenario import LoopbackNetwork
                self.networks.append(LoopbackNetwork(trunk))
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
            kwargs.setdefault("config", [SpanConfig(signalling="ccs" if sig.get(i) == "ss7" else "cas")
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
        sim = self.config.board.driver == "sim"
        if t.signalling == "no1":
            no1, cfg_cls = (_import("cti.signaling.no1.trunk", "No1Trunk", "the No.1 stack"),
                            _import("cti.signaling.no1.config", "No1Config", "the No.1 stack"))
            cfg = cfg_cls.from_dict(dict(t.config))
            self.adapters += [no1(span, cfg) for span in spans]
            if sim:
                ex = _import("simulator.exchange.no1", "No1Exchange", "the No.1 simulated exchange")
                self._add_exchange(ex([self.board.far_end(s) for s in t.spans], default=self._far_subscriber()))
        elif t.signalling == "ss7":
            ss7 = _import("cti.signaling.ss7.trunk", "Ss7Trunk", "the SS7 stack")
            try:    # the contract names the class, not its module
                cfg_cls = _import("cti.signaling.ss7.trunk", "Ss7Config", "the SS7 stack")
            except ConfigError:
                cfg_cls = _import("cti.signaling.ss7.config", "Ss7Config", "the SS7 stack")
            self.adapters.append(ss7(spans, cfg_cls.from_dict(dict(t.config))))
            if sim:
                ex = _import("simulator.exchange.ss7", "Ss7Exchange", "the SS7 simulated exchange")
                self._add_exchange(ex([self.board.far_end(s) for s in t.spans], default=self._far_subscriber()))
        else:
            raise ConfigError(f"signalling {t.signalling!r} needs the loopback driver")

    def _far_subscriber(self) -> Any:
        from simulator.exchange.base import Behaviour, Subscriber
        return Subscriber("*", Behaviour.ANSWER, answer_after=2.0, hold_for=8.0)

    def _add_exchange(self, ex: Any) -> None:
        self.exchanges.append(ex.service)
        self.networks.append(ex)

    def _demo(self) -> Any:
        from simulator.scenario import Scenario, ScenarioConfig
        sc = ScenarioConfig.load(self.config.demo.scenario) if self.config.demo.scenario else ScenarioConfig()
        sc.seed = self.config.demo.seed
        if self.config.contact:
            sc.acd_numbers = [str(n) for n in self.config.contact.get("route_points", {})]
        if not self.networks:
            raise ConfigError("the demo needs a simulated network (board driver 'sim' or 'loopback')")
        return Scenario(sc, self.networks, self.model, start=self.now())

    # ---- the loop ------------------------------------------------------------------------
    def now(self) -> float:
        """Model time: the board's clock, or seconds since start without a board."""
        return self.board.now() if self.board is not None else time.monotonic() - self._t0

    def start(self) -> "CtiServer":
        self.bus.start()
        self.bus.publish(ServerStarted(node=self.config.server.node, version=VERSION))
        for sp in self.model.snapshot()["spans"]:
            self.bus.publish(SpanState(span=sp["span"], available=sp["available"], total=sp["total"],
                                       reason="server started"))
        self.bus.flush()
        gc.collect()
        gc.freeze()   # start-up objects leave later collections: shorter GC pauses, lower bus p99
        return self

    def _tick(self, now: float) -> None:
        self.model.service(now)
        if self.scenario is not None:
            self.scenario.tick(now)
        self.flush_model()

    def flush_model(self) -> None:
        """Publish what the model produced and store its CDRs."""
        for e in self.model.take_events():
            self.bus.publish(e)
            for hook in self.event_hooks:
                hook(e)
        cdrs = self.model.take_cdrs()
        if cdrs:
            offset = time.time() - self.now()      # model (board) time -> wall clock for the CDR
            for cdr in cdrs:
                for k in ("started", "answered", "ended"):
                    if cdr.get(k) is not None:
                        cdr[k] = round(cdr[k] + offset, 3)
                self.store.write_cdr(cdr)

    def _board_events(self) -> None:
        from drivers.base import AlarmChanged
        spans = {sp["span"]: sp for sp in self.model.snapshot()["spans"]}
        for ev in self.board.poll_events():
            if isinstance(ev, AlarmChanged):
                sp = spans.get(ev.span, {"available": 0, "total": 0})
                names = [a.name for a in type(ev.alarms) if a.value and a in ev.alarms and a.name]
                self.bus.publish(SpanState(span=ev.span, available=sp["available"], total=sp["total"],
                                           alarms=names, reason="alarm" if names else "alarm cleared"))

    def step(self, timeout_ms: int = 20) -> None:
        """One turn: queued calls, the board (or loopback trunks), the bus, housekeeping."""
        while True:
            try:
                self._calls.get_nowait()()
            except queue.Empty:
                break
        if self.board is not None:
            if getattr(getattr(self.board, "clock", None), "kind", "real") == "virtual":
                self.board.advance(self.config.board.step)
            elif hasattr(self.board, "pump"):
                self.board.pump()
            if not self._ticked:
                self._tick(self.board.now())
            self._board_events()
        else:
            now = self.now()
            for n in self.networks:
                n.service(now)
            self._tick(now)
        self.bus.poll(timeout_ms)
        self._housekeeping()

    def _housekeeping(self) -> None:
        nxt = self.model.next_call_number
        if nxt != self._saved_next:
            self.store.set_meta("next_call", str(nxt))
            self._saved_next = nxt
        t = time.monotonic()
        if t - self._last_prune > 60.0:
            self._last_prune = t
            s = self.config.server
            if s.retention_events or s.retention_seconds:
                # on the store's maintenance thread, in chunks: a large journal never stalls the loop
                self.store.prune_soon(keep_events=s.retention_events or None,
                                      keep_seconds=s.retention_seconds or None)

    def call_soon(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` in the server's thread at the next turn (thread-safe)."""
        self._calls.put(fn)

    def run(self, duration: float | None = None) -> None:
        """Serve until :meth:`stop` (or ``duration`` seconds)."""
        end = None if duration is None else time.monotonic() + duration
        errors = 0
        while not self._stopping.is_set() and (end is None or time.monotonic() < end):
            try:
                self.step(10)
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

    def close(self) -> None:
        if getattr(self, "contact", None) is not None:
            self.contact.close()
        self.flush_model()
        self.store.set_meta("next_call", str(self.model.next_call_number))
        self.bus.close()
        self.store.close()
        if self.board is not None:
            self.board.close()


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
