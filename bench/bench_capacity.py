"""End-to-end capacity: how many fully loaded E1 spans one core carries, our side only.

One *point* is a whole cti-server (:func:`cti.cli.wiring.build_server`) on the simulated card in
virtual time, in a fresh process of its own: N trunk spans (No.1, SS7 and PRI in turn), callers
arriving Poisson-style at a rate that keeps ``occupancy`` (default 95 %) of the circuits busy
with exponential hold times (mean 120 s, at least 5 s), every connected No.1 and SS7 circuit
with its DTMF detector running (callers type digits), call-progress tone detection on every
busy trunk circuit (:class:`cti.server.CallProgress`), a share of the calls routed to a contact-centre queue
whose agents sit on station timeslots (bridged both ways every block and recorded to WAV),
every event published on the bus with a subscriber process decoding it, the journal in a
SQLite WAL file. The run first fills the spans to the target (calls with residual hold times),
then measures a window of ``seconds`` of line time.

What counts as *our side*: everything the server process does except the far end. The far end
is the simulated exchanges (``network``), the callers and the agents' desktops and phones (the
humans), and the card's line (``Card.step``: framing, the line and deframing of both directions,
which an E1 card does in hardware). Each of those is timed separately with the CPU clock of the
thread (``time.thread_time``) and subtracted from the turn it ran in; the server's background
threads (ZeroMQ I/O, the journal writer) count as ours. Both are reported. The clock is CPU time,
so another process's load on the host moves the figures little (caches aside).

Reported per point: real-time factor of our side (line seconds per CPU second), spans per core
(N x that factor), CPU per call and per busy channel, our CPU per 20 ms block (p50 / p99 /
p99.9 / max) and two loop latenesses: *derived*, the one a real-time loop on one core would see
with those costs (Lindley's recursion: block k starts when block k-1 is done or at its due
time), and *measured on the real clock* (:func:`run_real`: ``real`` seconds more, each block
started when ``time.monotonic`` says it is due, the far end's wall time cut out), memory per span
(resident set growth over a server with no spans), achieved occupancy. Then idle spans (no calls)
and a profile of one point grouped by where the time goes.

``python -m bench capacity [--quick]``; ``python -m bench.bench_capacity --spans 16 --seconds 10
--profile`` for one point; ``--plot docs/img/capacity.png`` draws the curve (matplotlib).
"""
from __future__ import annotations

import argparse
import cProfile
import dataclasses
import json
import math
import os
import pstats
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from bench.common import Result

BLOCK = 0.02
TYPES = ("no1", "ss7", "pri")
TARGET_SPANS_PER_CORE = 128
TARGET_LATE_MS = 5.0
TARGET_IDLE = 0.01            #: of a core, per 64 idle spans
CURVE = (1, 4, 16, 64, 128)
QUICK_CURVE = (1, 3)
ANY = "tcp://127.0.0.1:*"


@dataclasses.dataclass
class Load:
    spans: int = 16                      #: trunk spans, types in turn (No.1, SS7, PRI)
    types: tuple[str, ...] = TYPES
    occupancy: float = 0.95              #: share of the circuits kept busy
    hold: float = 120.0                  #: mean hold time (exponential), seconds
    min_hold: float = 5.0
    acd_share: float = 0.1               #: calls to the contact centre: bridged to a station, recorded
    seconds: float = 10.0                #: measured window, line time
    fill: float = 4.0                    #: seconds over which the spans are filled to the target
    #: then this long before the window: the fill's calls (thousands placed in ``fill`` seconds,
    #: about 30 times the steady arrival rate at 128 spans) are answered and type their digits
    #: 1-5 s after they are placed; the window measures the steady load, not that burst
    settle: float = 6.0
    idle: bool = False                   #: no calls at all (idle-span cost)
    subscriber: bool = True              #: a bus subscriber process decoding every event
    progress: bool = True                #: call-progress detection on every busy trunk circuit
    real: float = 5.0                    #: then this much line time paced by the real clock (0: none)
    seed: int = 1
    spikes: bool = False                 #: what ran in each block (bench/capacity_spikes.py)


# ------------------------------------------------------------------------------ the far end
class Meter:
    """CPU seconds of the far end's parts, by name (thread CPU clock)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.total = 0.0
        self.wall = 0.0                     #: wall-clock seconds of the same parts (perf_counter)
        self._depth = 0
        #: a profiler of our side: paused while a far-end part runs, so its dump is ours only
        self.profiler: cProfile.Profile | None = None

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        clock, wall = time.thread_time, time.perf_counter
        self.seconds.setdefault(name, 0.0)

        def timed(*a: Any, **k: Any) -> Any:
            if self._depth:                 # nested far-end parts count once, in the outer one
                return fn(*a, **k)
            self._depth += 1
            prof = self.profiler
            if prof is not None:
                prof.disable()
            t0, w0 = clock(), wall()
            try:
                return fn(*a, **k)
            finally:
                if prof is not None:
                    prof.enable()
                dt = clock() - t0
                self.wall += wall() - w0
                self._depth -= 1
                self.seconds[name] += dt
                self.total += dt
        return timed


def _far_tickers(meter: Meter, tickers: list[Callable[[float], None]],
                 labels: dict[int, str]) -> list[Callable[[float], None]]:
    """The clock's tickers with each run of far-end ones (``labels``: id -> part) called as one,
    timed once: a phone and a desktop per station would otherwise put two clock reads and a
    wrapper call per station and block on our side of the ledger (the wrapper's own cost)."""
    out: list[Callable[[float], None]] = []
    run: list[Callable[[float], None]] = []
    label = ""

    def close() -> None:
        if run:
            fns = tuple(run)

            def each(now: float) -> None:
                for fn in fns:
                    fn(now)
            out.append(meter.wrap(label, each))
            run.clear()
    for t in tickers:
        part = labels.get(id(t))
        if part != label or part is None:
            close()
            label = part or ""
        if part is None:
            out.append(t)
        else:
            run.append(t)
    close()
    return out


def place_call(r: random.Random, networks: list[Any], weights: list[int], at: float, acd_number: str,
               acd_share: float, hold: float, min_hold: float) -> None:
    """One caller of the load model (bench_capacity and bench/capacity_rt.py): a trunk group in
    proportion to its circuits, the contact centre's number for ``acd_share`` of the calls, an
    exponential hold time, digits typed after answer."""
    from simulator.exchange.base import CallScript
    net = r.choices(networks, weights)[0]
    called = acd_number if r.random() < acd_share else f"80{r.randrange(100):02d}"
    held = max(min_hold, r.expovariate(1.0 / hold))
    digits = r.choice(("", "1", "1234#", "0", "99#"))
    net.place_call(CallScript(at=at, called=called, calling=f"138{r.randrange(10**8):08d}",
                              hold_for=held, digits=digits))


def _callers_component(load: Load, circuits: dict[int, int], acd_number: str) -> Any:
    """The callers (far end): fill, then Poisson arrivals; our side's "answering machine" for
    calls not routed to the contact centre (answers 1-3 s after Delivered)."""
    from cti.call.errors import CallControlError
    from cti.plugin import Component

    class Callers(Component):
        name = "callers"

        def __init__(self) -> None:
            self.rng = random.Random(load.seed)
            self.networks: list[Any] = []
            self.weights: list[int] = []
            self.model: Any = None
            self.placed = 0
            self.answer_at: dict[str, float] = {}
            self.next_in = math.inf
            self.rate = 0.0

        def start(self, host: Any) -> None:
            self.model = host.model
            self.networks = list(host.part("network").networks)
            self.weights = [circuits[i] for i in range(len(self.networks))]
            total = sum(self.weights)
            mean_answer = 2.0
            target = int(load.occupancy * total)
            self.rate = 0.0 if load.idle else target / (load.hold + mean_answer)
            t0 = host.now() + 2.5              # SS7 links align and PRI comes up first
            if not load.idle:
                for i in range(target):        # residual hold times of a steady state: exponential too
                    self._place(t0 + load.fill * i / max(1, target))
                self.next_in = t0 + load.fill + self.rng.expovariate(self.rate)

        def _place(self, at: float) -> None:
            place_call(self.rng, self.networks, self.weights, at, acd_number, load.acd_share, load.hold,
                       load.min_hold)
            self.placed += 1

        def deadline(self) -> float | None:
            due = min([self.next_in, *(a if a >= 0 else -math.inf for a in self.answer_at.values())])
            return None if due == math.inf else due

        def service(self, now: float) -> None:
            while self.next_in <= now:
                self._place(self.next_in)
                self.next_in += self.rng.expovariate(self.rate)
            for call, at in list(self.answer_at.items()):
                if at < 0:
                    self.answer_at[call] = now + self.rng.uniform(1.0, 3.0)
                elif at <= now:
                    del self.answer_at[call]
                    try:
                        self.model.answer_call(call, now)
                    except CallControlError:
                        pass

        def events(self) -> tuple[str, ...]:
            return ("Delivered", "CallCleared")

        def on_event(self, e: Any) -> None:
            kind = type(e).__name__
            if (kind == "Delivered" and e.direction == "in" and not str(e.device).startswith("trunk/")
                    and e.called != acd_number):
                self.answer_at[str(e.call)] = -1.0
            elif kind == "CallCleared":
                self.answer_at.pop(str(e.call), None)

    return Callers()


# ------------------------------------------------------------------------------ one point
def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _pct(xs: list[float], q: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(len(xs) * q))] if xs else float("nan")


def _lateness(costs: list[float]) -> list[float]:
    """Lateness of each block's start on one core that runs only these costs (Lindley)."""
    late, out = 0.0, []
    for c in costs:
        out.append(late)
        late = max(0.0, late + c - BLOCK)
    return out


def run_real(srv: Any, meter: Meter, seconds: float) -> tuple[list[float], list[float], list[float]]:
    """``seconds`` of line time paced by the real clock (``time.monotonic``): block k is due at
    start + k x 20 ms and runs when it is due (the loop waits for its sockets until then, as
    ``cti-server`` does, with the server's millisecond poll); returns how late each block
    started. The far end (card line, exchanges, people) runs in the same turns, so its wall
    time, measured around each of its parts, is taken out of the clock: the timeline is the
    one of a server whose far end runs elsewhere (another core, a card, the network).

    Also returns, per turn, our wall time and how much of it the thread did not run (wall
    minus thread CPU, far end out of both): waiting for a core on a loaded host, or for the
    GIL held by our own background threads. A late block after a turn that mostly did not
    run was late for the host's sake, not for our work's."""
    mono, tc = time.monotonic, time.thread_time
    w0 = meter.wall

    def clock() -> float:
        return mono() - (meter.wall - w0)

    late: list[float] = []
    turns: list[float] = []
    stalls: list[float] = []
    n = round(seconds / BLOCK)
    base = clock()
    poller = srv._poller
    k = 0
    while k < n:
        due = base + k * BLOCK
        now = clock()
        if now < due:                       # wait as the server does: sockets, then the block
            ms = int((due - now) * 1000 + 0.999)
            if poller.poll(ms):
                srv.bus.poll(0)
            continue
        late.append(now - due)
        c0, f0 = tc(), meter.total
        srv.step(0)
        wall = clock() - now
        cpu = (tc() - c0) - (meter.total - f0)
        turns.append(wall)
        stalls.append(max(0.0, wall - cpu))
        k += 1
    return late, turns, stalls


@dataclasses.dataclass
class Plan:
    """Spans, circuits and stations of a load (this bench's and bench/capacity_rt.py's, on both
    sides of the wire there): trunk spans of the types in turn, then the stations' spans."""

    kinds: list[str]
    by_type: dict[str, list[int]]
    circuits: dict[int, int]             #: trunk group (in type order) -> circuits
    stations: dict[str, tuple[int, int]]  #: device -> (span, timeslot)
    station_spans: int

    @property
    def total(self) -> int:
        return sum(self.circuits.values())

    @property
    def board_spans(self) -> int:
        return len(self.kinds) + self.station_spans


def plan_spans(spans: int, types: tuple[str, ...], acd_share: float, occupancy: float,
               idle: bool = False) -> Plan:
    """``spans`` trunk spans of ``types`` in turn (an SS7 group's circuits: 31 a span, one fewer
    for the link's timeslot), and stations for the agents a contact-centre share of the busy
    circuits needs (15 % spare; none when ``idle``), 30 a span after the trunk spans."""
    from drivers.base import VOICE_TIMESLOTS
    kinds = [types[i % len(types)] for i in range(spans)]
    by_type = {t: [i for i, k in enumerate(kinds) if k == t] for t in types if t in kinds}
    circuits = {j: sum(31 if t == "ss7" else 30 for _ in group) - (1 if t == "ss7" else 0)
                for j, (t, group) in enumerate(by_type.items())}
    total = sum(circuits.values())
    n_agents = 0 if idle else max(1, math.ceil(acd_share * occupancy * total * 1.15))
    station_spans = math.ceil(n_agents / len(VOICE_TIMESLOTS))
    stations = {f"2{i:04d}": (spans + i // len(VOICE_TIMESLOTS), VOICE_TIMESLOTS[i % len(VOICE_TIMESLOTS)])
                for i in range(n_agents)}
    return Plan(kinds, by_type, circuits, stations, station_spans)


def measure(load: Load, profile: str | None = None) -> dict[str, Any]:
    """Run one point in this process (call it in a fresh one: the resident set is measured)."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import gc

    from cti.cli.wiring import build_server
    from cti.config import Config
    from simulator.agents import DesktopProfile, start_desktops

    rss0 = _rss()
    n = load.spans
    layout = plan_spans(n, load.types, load.acd_share, load.occupancy, idle=load.idle)
    by_type, circuits, stations, station_spans = layout.by_type, layout.circuits, layout.stations, layout.station_spans
    total, n_agents = layout.total, len(stations)
    agents = {f"a{i}": {"device": d, "team": "t"} for i, d in enumerate(stations)}
    tmp = tempfile.mkdtemp(prefix="bench-capacity-")
    contact = None
    if n_agents:
        contact = {"agents": agents, "stations": {d: f"{s}/{ts}" for d, (s, ts) in stations.items()},
                   "route_points": {"4000": "q"}, "recordings": os.path.join(tmp, "rec"),
                   "simulated_phones": True,
                   "queues": {"q": {"strategy": "longest-idle", "ring_timeout": 20.0,
                                    "record": True}}}
    trunks = []
    for t, spans in by_type.items():
        cfg: dict[str, Any] = {"side": "user"} if t == "pri" else {}
        trunks.append({"signalling": t, "spans": spans, "config": cfg})
    config = Config.from_dict({
        "server": {"store": os.path.join(tmp, "cti.db")},
        "bus": {"events": ANY, "snapshot": ANY, "control": ANY, "subscriber_buffer": 1_000_000},
        "board": {"driver": "sim", "spans": n + station_spans, "clock": "virtual", "step": BLOCK},
        "trunk": trunks, **({"contact": contact} if contact else {})})
    meter = Meter()
    callers = _callers_component(load, circuits, "4000")
    extra: list[Any] = [callers]
    progress = None
    if load.progress:
        from cti.server import CallProgress
        progress = CallProgress(country="cn")
        extra.append(progress)
    srv = build_server(config, extra=extra)
    card = srv.board.card
    card.step = meter.wrap("line (card)", card.step)
    net: Any = srv.part("network")
    net.service = meter.wrap("exchanges", net.service)
    callers.service = meter.wrap("callers", callers.service)
    callers.on_event = meter.wrap("callers", callers.on_event)
    srv.start()
    clock = card.clock
    ours_ticker = srv._service
    labels: dict[int, str] = {id(t): "phones" for t in clock._tickers if t != ours_ticker}
    if n_agents:
        bus, _desks = start_desktops(srv, {a: v["device"] for a, v in agents.items()},
                                     DesktopProfile(answer_after=(1.0, 3.0), handle=(60.0, 240.0), no_answer=0.0),
                                     seed=load.seed)
        labels.update((id(t), "agents") for t in clock._tickers if t != ours_ticker and id(t) not in labels)
        bus.on_event = meter.wrap("agents", bus.on_event)       # type: ignore[method-assign]
        srv._wire()        # the server took the desktops' bound on_event when it added them: re-take it
    clock._tickers = _far_tickers(meter, clock._tickers, labels)
    sub = None
    if load.subscriber:
        from bench.bench_bus import _Sub
        sub = _Sub(srv.bus)

    parts = None
    if load.spikes:
        from bench.capacity_spikes import instrument
        parts = instrument(srv, meter)

    def run(seconds: float, costs: list[float] | None = None) -> tuple[float, float, float]:
        """Turns of one block each for ``seconds`` of line time; (main-thread CPU, far-end CPU,
        process CPU) spent."""
        end = srv.now() + seconds - 1e-9
        tc, pc = time.thread_time, time.process_time
        m0, f0, p0 = tc(), meter.total, pc()
        while srv.now() < end:
            t0, g0 = tc(), meter.total
            srv.step(0)
            if costs is not None:
                cost = (tc() - t0) - (meter.total - g0)
                costs.append(cost)
                if parts is not None:
                    parts.end_block(cost)
        return tc() - m0, meter.total - f0, pc() - p0

    warm = 2.5 + (0.0 if load.idle else load.fill + load.settle)
    run(warm)
    gc.collect()
    rss1 = _rss()
    busy: list[int] = []
    srv.board.add_ticker(lambda now: busy.append(len(srv.model.calls)) if round(now / BLOCK) % 10 == 0 else None)
    placed0, seq0 = callers.placed, srv.bus.seq if hasattr(srv.bus, "seq") else 0
    heard0 = dict(progress.counts) if progress is not None else {}
    blocks0 = progress.blocks if progress is not None else 0
    costs: list[float] = []
    far_by0 = dict(meter.seconds)
    prof = cProfile.Profile(time.thread_time) if profile else None   # CPU time: waits are not work
    if prof is not None:
        meter.profiler = prof
        prof.enable()
    wall0 = time.perf_counter()
    if parts is not None:
        parts.start()
    main_cpu, far_cpu, proc_cpu = run(load.seconds, costs)
    if parts is not None:
        parts.stop()
    wall = time.perf_counter() - wall0
    if prof is not None and profile:
        prof.disable()
        meter.profiler = None
        prof.dump_stats(profile)
    placed = callers.placed - placed0
    events = (srv.bus.seq - seq0) if hasattr(srv.bus, "seq") else 0
    heard = {k: v - heard0.get(k, 0) for k, v in progress.counts.items()} if progress is not None else {}
    progress_blocks = progress.blocks - blocks0 if progress is not None else 0
    far_by = {k: v - far_by0.get(k, 0.0) for k, v in meter.seconds.items()}
    received = sub.result()[0] if sub is not None else 0
    ours = proc_cpu - far_cpu                    # main thread minus far end, plus our background threads
    late = _lateness(costs)
    real, real_turns, real_stalls = run_real(srv, meter, load.real) if load.real > 0 else ([], [], [])
    out = {
        "spans": n, "types": {t: len(s) for t, s in by_type.items()}, "circuits": total,
        "stations": n_agents, "seconds": load.seconds, "wall": wall,
        "ours_cpu": ours, "main_cpu": main_cpu, "background_cpu": proc_cpu - main_cpu, "far_cpu": far_cpu,
        "far_by": far_by, "busy": statistics.mean(busy) if busy else 0.0,
        "occupancy": (statistics.mean(busy) / total) if busy and total else 0.0,
        "calls": placed, "events": events, "received": received,
        "block_ms": {q: 1e3 * _pct(costs, p) for q, p in (("p50", .5), ("p99", .99), ("p999", .999))}
        | {"max": 1e3 * max(costs, default=0.0)},
        "late_ms": {q: 1e3 * _pct(late, p) for q, p in (("p99", .99), ("p999", .999))}
        | {"max": 1e3 * max(late, default=0.0)},
        "real_seconds": load.real,
        "real_late_ms": {q: 1e3 * _pct(real, p) for q, p in (("p50", .5), ("p99", .99), ("p999", .999))}
        | {"max": 1e3 * max(real, default=0.0)},
        "real_turn_ms": {q: 1e3 * _pct(real_turns, p) for q, p in (("p50", .5), ("p999", .999))},
        "real_stall_ms": {q: 1e3 * _pct(real_stalls, p) for q, p in (("p50", .5), ("p999", .999))}
        | {"max": 1e3 * max(real_stalls, default=0.0)},
        "progress_blocks": progress_blocks, "tones_heard": heard,
        "rss0": rss0, "rss": rss1,
    }
    if parts is not None:
        out["spikes"] = parts.report()
        import gc as _gc
        objects, frozen, t0 = len(_gc.get_objects()), _gc.get_freeze_count(), time.thread_time()
        _gc.collect()
        out["spikes"]["heap"] = {"objects": objects, "frozen": frozen,
                                 "full_collection_ms": 1e3 * (time.thread_time() - t0)}
    srv.close()
    return out


def _point(load: Load, profile: str | None = None, timeout: float = 3600.0) -> dict[str, Any]:
    """:func:`measure` in a fresh interpreter (same build: BOARDCORE_NO_EXTENSIONS is inherited)."""
    args = [sys.executable, "-m", "bench.bench_capacity", "--json", json.dumps(dataclasses.asdict(load))]
    if profile:
        args += ["--profile", profile]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = subprocess.run(args, cwd=root, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"capacity point {load.spans} spans failed (exit {p.returncode}):\n{p.stderr[-3000:]}")
    point: dict[str, Any] = json.loads(p.stdout.strip().splitlines()[-1])
    return point


# ------------------------------------------------------------------------------ the report
def _rtf(p: dict[str, Any]) -> float:
    return p["seconds"] / p["ours_cpu"] if p["ours_cpu"] > 0 else float("inf")


def where_time_goes(path: str, top: int = 12) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """(share of the profile's own time by area, top functions by own time) of a cProfile dump."""
    st = pstats.Stats(path)
    areas: dict[str, float] = {}
    funcs: list[tuple[str, float]] = []
    total = 0.0
    for (file, line, name), (_cc, _nc, tt, _ct, callers) in st.stats.items():  # type: ignore[attr-defined]
        total += tt
        funcs.append((f"{_short(file)}:{line} {name}", tt))
        if file.startswith("~") and callers:     # a builtin or C method: its time goes to its callers' areas
            given = 0.0
            for (cfile, _cl, cname), info in callers.items():
                area = _area(cfile, cname)
                areas[area] = areas.get(area, 0.0) + info[2]
                given += info[2]
            if tt > given:                         # calls the profiler saw no caller of
                area = _area(file, name)
                areas[area] = areas.get(area, 0.0) + tt - given
            continue
        area = _area(file, name)
        areas[area] = areas.get(area, 0.0) + tt
    funcs.sort(key=lambda x: -x[1])
    return ([(a, s / total) for a, s in sorted(areas.items(), key=lambda x: -x[1])],
            [(f, s / total) for f, s in funcs[:top]])


def _short(file: str) -> str:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    return file.replace(root, "")


_AREAS = (("simulator/exchange", "far end: simulated exchanges"), ("simulator/agents", "far end: agents"),
          ("simulator/phones", "far end: phones"), ("simulator/e1wire", "ours: driver API, the simulated card's Span half"),
          ("simulator/", "card: simulator other"), ("bench/", "far end: callers"),
          ("cti/signaling/no1", "ours: No.1"), ("cti/signaling/ss7", "ours: SS7"),
          ("cti/signaling/pri", "ours: PRI"), ("cti/signaling", "ours: signalling engine"),
          ("cti/call", "ours: call model"), ("cti/bus", "ours: bus"), ("cti/store", "ours: journal"),
          ("cti/media", "ours: media (bridges, taps, recorder)"), ("cti/contact", "ours: contact centre"),
          ("cti/acd", "ours: ACD"), ("cti/", "ours: server, other"), ("drivers/", "ours: driver API"),
          ("_boardcore", "ours: kernels (Python side: checks, twins)"), ("zmq", "ours: pyzmq"))


def _area(file: str, name: str) -> str:
    f = _short(file)
    for prefix, area in _AREAS:
        if prefix in f:
            return area
    if f.startswith("~") or f.startswith("<"):
        if "_boardcore" in name or "dtmf" in name.lower() or "alaw" in name or "Detector" in name:
            return "ours: kernels (compiled)"
        return "builtins and C extensions: " + name.split(" ")[0][:40]
    return "other Python"


def _rows(label: str, pts: list[dict[str, Any]]) -> list[Result]:
    out = []
    for p in pts:
        rtf = _rtf(p)
        note = (f"{p['circuits']} circuits, {100 * p['occupancy']:.0f} % busy, {p['calls']} calls in "
                f"{p['seconds']:.0f} s; ours {p['ours_cpu']:.2f} s CPU (background {p['background_cpu']:.2f}), "
                f"far end {p['far_cpu']:.2f} s; block p99.9 {p['block_ms']['p999']:.2f} ms, lateness p99.9 "
                f"{p['late_ms']['p999']:.1f} ms derived, {p.get('real_late_ms', {}).get('p999', float('nan')):.1f} ms "
                f"on the real clock; {(p['rss'] - p['rss0']) / 2**20 / max(1, p['spans']):.2f} MiB/span")
        out.append(Result(label, f"{p['spans']} spans", p["spans"] * rtf, "spans/core", note=note))
    return out


def run(quick: bool = False) -> list[Result]:
    curve = QUICK_CURVE if quick else CURVE
    seconds = 2.0 if quick else 10.0
    pts = [_point(Load(spans=n, seconds=seconds, fill=1.0 if quick else 4.0, settle=3.0 if quick else 6.0, real=1.0 if quick else 5.0))
           for n in curve]
    out = _rows("spans per core, our side", pts)
    last = pts[-1]
    out.append(Result("targets", "issue 22 target", TARGET_SPANS_PER_CORE, "spans/core", reference=True,
                      note=">= 128 fully loaded spans per core, our side"))
    out.append(Result("targets", f"measured at {last['spans']} spans", last["spans"] * _rtf(last),
                      "spans/core", note=("MET" if last["spans"] * _rtf(last) >= TARGET_SPANS_PER_CORE else "not met")
                      + f"; real-time factor {_rtf(last):.2f}; far end alone {last['seconds'] / max(last['far_cpu'], 1e-9):.2f}"
                      " x real time"))
    for p in pts:
        derived, real = p["late_ms"]["p999"], p["real_late_ms"]["p999"]
        out.append(Result("lateness p99.9", f"{p['spans']} spans", derived, "ms",
                          note=("MET" if derived < TARGET_LATE_MS else "not met")
                          + f" (derived on one core, target < {TARGET_LATE_MS:g} ms); on the real clock "
                          f"{real:.1f} ms, the thread not running up to {p['real_stall_ms']['max']:.1f} ms a turn"))
    idle_n = 3 if quick else 64
    idle = _point(Load(spans=idle_n, seconds=seconds, idle=True, real=0.0))
    share = idle["ours_cpu"] / idle["seconds"] * 64 / idle_n
    out.append(Result("targets", f"idle: {idle_n} spans, no calls", 100 * share, "% core per 64 spans",
                      note=("MET" if share < TARGET_IDLE else "not met") + " (target < 1 %)"))
    return out


def plot(points: list[dict[str, Any]], path: str) -> bool:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    xs = [p["spans"] for p in points]
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(15, 4))
    a.plot(xs, [p["ours_cpu"] / p["seconds"] for p in points], "o-", label="our side")
    a.plot(xs, [p["far_cpu"] / p["seconds"] for p in points], "s--", label="far end (simulator)")
    a.set_xlabel("trunk spans at 95 % occupancy")
    a.set_ylabel("CPU seconds per second of line time (cores)")
    a.set_xscale("log", base=2)
    a.set_yscale("log")
    a.grid(True, which="both", alpha=0.3)
    a.legend()
    b.plot(xs, [1e3 * p["ours_cpu"] / p["seconds"] / max(1.0, p["busy"]) for p in points], "o-")
    b.set_xlabel("trunk spans")
    b.set_ylabel("our CPU ms per second per busy channel")
    b.set_xscale("log", base=2)
    b.set_ylim(bottom=0)
    b.grid(True, which="both", alpha=0.3)
    c.plot(xs, [max(0.01, p["late_ms"]["p999"]) for p in points], "o-", label="derived (Lindley, one core)")
    if all("real_late_ms" in p for p in points):
        c.plot(xs, [max(0.01, p["real_late_ms"]["p999"]) for p in points], "s--", label="measured, real clock")
    c.axhline(TARGET_LATE_MS, color="grey", lw=0.8, ls=":", label=f"target {TARGET_LATE_MS:g} ms")
    c.set_xlabel("trunk spans")
    c.set_ylabel("loop lateness p99.9, ms")
    c.set_xscale("log", base=2)
    c.set_yscale("log")
    c.grid(True, which="both", alpha=0.3)
    c.legend()
    fig.suptitle("e1cti capacity (bench/bench_capacity.py)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_capacity", description=__doc__.split("\n")[0])
    ap.add_argument("--json", help="one point, Load as JSON; prints the result as one JSON line")
    ap.add_argument("--spans", type=int, nargs="*", help="points to run (trunk spans)")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--idle", action="store_true")
    ap.add_argument("--profile", help="cProfile dump of the measured window to this file")
    ap.add_argument("--plot", help="PNG of the curve of the points run")
    ap.add_argument("--out", help="write the points as JSON here")
    ap.add_argument("--spikes", action="store_true",
                    help="what ran in each block: histogram, parts per block, the longest blocks")
    a = ap.parse_args(argv)
    if a.json:
        fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in json.loads(a.json).items()}
        load = Load(**fields)
        print(json.dumps(measure(load, a.profile)))
        return 0
    pts = []
    for n in a.spans or CURVE:
        p = _point(Load(spans=n, seconds=a.seconds, idle=a.idle, spikes=a.spikes),
                   a.profile if n == (a.spans or CURVE)[-1] else None)
        pts.append(p)
        if "spikes" in p:
            from bench.capacity_spikes import print_report
            print_report(p.pop("spikes"))
        print(json.dumps(p), flush=True)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(pts, f, indent=1)
    if a.plot and not plot(pts, a.plot):
        print("matplotlib is not installed: no plot", file=sys.stderr)
    if a.profile:
        areas, funcs = where_time_goes(a.profile)
        for name, share in areas:
            print(f"{100 * share:5.1f} %  {name}")
        print()
        for name, share in funcs:
            print(f"{100 * share:5.1f} %  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
