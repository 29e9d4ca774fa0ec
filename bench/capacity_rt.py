"""Capacity on the real clock, the far end in another process: block lateness of a whole cti-server.

``bench/bench_capacity.py`` runs the server and its simulated far end in one process, in virtual
time, and times the far end apart. Here the far end is a **separate process** serving the wire
protocol (docs/wire-protocol.md) as a card on the LAN would: the simulated card on a real-time
clock (:class:`simulator.clock.RealClock`, 8 000 frames/s by ``time.monotonic``), the simulated
exchanges on its trunk spans' far ends, the callers (the same load model as bench_capacity:
trunk mix No.1 / SS7 / PRI in turn, ``occupancy`` of the circuits busy with exponential holds,
Poisson arrivals, DTMF typed after answer, call-progress tones in band), a speaking phone on
every agent's station and the agents' desktops as bus clients (:class:`simulator.agents.RemoteBus`)
answering the contact-centre calls (a ``acd_share`` of them, bridged both ways and recorded),
plus a bus client answering the ordinary calls 1-3 s after they ring.

Our side is the real ``cti-server`` (:func:`cti.cli.wiring.build_server`) in this process on the
``wire`` driver (``[board] driver = "wire"``): every span's AUDIO reaches the driver's reader
thread, and the loop (:meth:`cti.server.CtiServer.step`) wakes on the driver's descriptor when a
whole 20 ms block has arrived on every span, as it would on a real card. Measured here:

* **lateness** of every block, on ``time.monotonic`` (one clock for both processes of this
  host): when the turn that processes block k starts, against the block's due time on the card
  (card start + (k + 1) x 20 ms: the block is complete then), and against when its last span's
  AUDIO arrived here (the card's and the socket's delay taken out); p50 / p99 / p99.9 / max;
* per turn, how long the loop's thread **did not run** (wall minus thread CPU): waiting for a
  core on a loaded host, or for the GIL held by our other threads;
* our process's CPU (``process_time``: the loop, the driver's reader thread, ZeroMQ's and the
  journal's threads) and the reader thread's alone, per second of line time; the far end's
  process CPU separately (it reports it at the end); the bus subscriber process is neither;
* losses: blocks the card skipped (its clock fell behind), audio it dropped for a full socket,
  gaps in a span's block numbers, ring overruns in the driver; every block must be processed.

``python -m bench capacity_rt [--quick]`` or ``python -m bench.capacity_rt --spans 1 4 16 64
--seconds 10 --runs 3`` (medians of the runs, with the load average).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

from bench.bench_capacity import Plan, plan_spans
from bench.common import Result

BLOCK = 0.02
TYPES = ("no1", "ss7", "pri")
CURVE = (1, 4, 16, 64)
QUICK_CURVE = (2,)
TARGET_LATE_MS = 5.0
ANY = "tcp://127.0.0.1:*"
ACD_NUMBER = "4000"
VOICE = 30                                 #: voice timeslots of a span (G.704: 1-15, 17-31)


@dataclasses.dataclass
class RtLoad:
    spans: int = 16                      #: trunk spans, types in turn (No.1, SS7, PRI)
    types: tuple[str, ...] = TYPES
    occupancy: float = 0.95
    hold: float = 120.0                  #: mean hold time (exponential), seconds
    min_hold: float = 5.0
    acd_share: float = 0.1               #: calls to the contact centre: bridged to a station, recorded
    seconds: float = 10.0                #: measured window, real seconds
    fill: float = 4.0                    #: seconds over which the spans are filled to the target
    settle: float = 3.0                  #: after the fill, before the window
    subscriber: bool = True              #: a bus subscriber process decoding every event
    progress: bool = True                #: call-progress detection on every busy trunk circuit
    seed: int = 1


def plan(load: RtLoad) -> Plan:
    return plan_spans(load.spans, load.types, load.acd_share, load.occupancy)


def _pct(xs: list[float], q: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(len(xs) * q))] if xs else float("nan")


def _ms(xs: list[float], qs: tuple[str, ...] = ("p50", "p99", "p999")) -> dict[str, float]:
    at = {"p50": .5, "p99": .99, "p999": .999}
    return {q: 1e3 * _pct(xs, at[q]) for q in qs} | {"max": 1e3 * max(xs, default=0.0)}


# ------------------------------------------------------------------------------ the far end
class FarCallers:
    """Callers on the simulated exchanges (far end): the spans filled to the target with calls
    whose hold times are residual lives of a steady state, then Poisson arrivals."""

    def __init__(self, load: RtLoad, networks: list[Any], weights: list[int]) -> None:
        self.load = load
        self.rng = random.Random(load.seed)
        self.networks = networks
        self.weights = weights
        self.placed = 0
        self.next_in = math.inf
        target = int(load.occupancy * sum(weights))
        self.target = target
        self.rate = target / (load.hold + 2.0)

    def begin(self, t0: float) -> None:
        for i in range(self.target):
            self._place(t0 + self.load.fill * i / max(1, self.target))
        self.next_in = t0 + self.load.fill + self.rng.expovariate(self.rate)

    def _place(self, at: float) -> None:
        from bench.bench_capacity import place_call       # the same callers as bench_capacity's
        load = self.load
        place_call(self.rng, self.networks, self.weights, at, ACD_NUMBER, load.acd_share, load.hold, load.min_hold)
        self.placed += 1

    def service(self, now: float) -> None:
        while self.next_in <= now:
            self._place(self.next_in)
            self.next_in += self.rng.expovariate(self.rate)


class Answerer:
    """A bus client answering ordinary incoming calls 1-3 s after they ring (what an IVR or an
    application does on our side; far end here, as bench_capacity counts it)."""

    def __init__(self, bus: Any, seed: int) -> None:
        self.bus = bus
        self.rng = random.Random(seed)
        self.todo: dict[str, tuple[float, str]] = {}
        self.answered = 0

    def on_event(self, e: dict[str, Any]) -> None:
        kind, call = e.get("type"), str(e.get("call") or "")
        data = e.get("data") or {}
        device = str(e.get("device") or data.get("device") or "")
        direction = e.get("direction") or data.get("direction")
        called = e.get("called") or data.get("called")
        if (kind == "Delivered" and direction == "in" and device and not device.startswith("trunk/")
                and called != ACD_NUMBER):
            self.todo[call] = (time.monotonic() + self.rng.uniform(1.0, 3.0), device)
        elif kind == "CallCleared":
            self.todo.pop(call, None)

    def tick(self, now: float) -> None:
        from cti.call.errors import CallControlError
        for call, (at, device) in list(self.todo.items()):
            if at <= now:
                del self.todo[call]
                try:
                    self.bus.command("AnswerCall", call=call, device=device)
                    self.answered += 1
                except (CallControlError, TimeoutError):
                    pass


def far_end_main(load: RtLoad) -> int:
    """The far-end process: stdout line 1 {"port", "start"}; stdin line 1 our bus endpoints
    (JSON), then "stop"; stdout last line: the far end's figures (JSON)."""
    from cti.cli.wiring import _EXCHANGES, far_subscriber
    from drivers.base import SpanConfig
    from simulator.agents import AgentDesktop, DesktopProfile, RemoteBus
    from simulator.board import SimBoard
    from simulator.phones import station_phones
    from simulator.server import SimServer
    import importlib

    p = plan(load)
    sig = {s: t for t, spans in p.by_type.items() for s in spans}
    cfgs = [SpanConfig(signalling="ccs" if sig.get(i) in ("ss7", "pri") else "cas") for i in range(p.board_spans)]
    board = SimBoard(spans=p.board_spans, config=cfgs, clock="real", seed=load.seed)
    networks = []
    for t, spans in p.by_type.items():
        module, cls, _what = _EXCHANGES[t]
        exchange = getattr(importlib.import_module(module), cls)
        side = {"config": {"side": "user"}} if t == "pri" else {}
        networks.append(exchange([board.far_end(s) for s in spans], default=far_subscriber(), **side))
    phones = station_phones(board, p.stations)
    callers = FarCallers(load, networks, [p.circuits[i] for i in range(len(networks))])
    clock = board.card.clock
    late: list[float] = []
    start = clock._start                 # type: ignore[attr-defined]  # RealClock's origin on time.monotonic

    go = threading.Event()               # set once our server is up: the callers begin (card thread)

    def tick(now: float) -> None:        # after every card block: the exchanges and callers
        late.append(time.monotonic() - (start + now))
        if go.is_set() and callers.next_in == math.inf:
            callers.begin(now + 2.5)     # SS7 links align and PRI comes up first
        for n in networks:
            n.service(now)
        callers.service(now)

    board.add_ticker(tick)
    server = SimServer(board, port=0, name="capacity-rt far end")
    port = server.start_in_thread()
    while True:       # blocks of the clock before a span's first received block (the line's delay)
        delay = clock.blocks - board.spans[0]._seq_next      # type: ignore[attr-defined]
        if delay == clock.blocks - board.spans[0]._seq_next:  # type: ignore[attr-defined]
            break
    print(json.dumps({"port": port, "start": start, "delay": delay, "phones": len(phones)}), flush=True)
    line = sys.stdin.readline()
    if not line:
        server.stop()
        return 1
    eps = json.loads(line)
    from cti.bus.client import BusClient
    from cti.bus.server import Endpoints
    client = BusClient(Endpoints(eps["events"], eps["snapshot"], eps["control"]), timeout=10.0)
    bus = RemoteBus(client, topics=("queue.", "agent.", "call."))
    agents = {f"a{i}": d for i, d in enumerate(p.stations)}
    profile = DesktopProfile(answer_after=(1.0, 3.0), handle=(60.0, 240.0), no_answer=0.0)
    desks = [AgentDesktop(a, d, bus, profile, random.Random(f"{load.seed}/{a}")) for a, d in agents.items()]
    for d in desks:
        d.start()
    answerer = Answerer(bus, load.seed)
    bus.listeners.append(answerer.on_event)
    go.set()
    stop = threading.Event()
    def skipped() -> int:
        return int(getattr(clock, "skipped_blocks", 0))

    mark: dict[str, float] = {"cpu": time.process_time(), "blocks": clock.blocks, "late": len(late), "skipped": 0}

    def commands() -> None:              # "mark": the measured window starts; "stop" (or EOF)
        for line in sys.stdin:
            if line.strip() == "mark":
                mark.update(cpu=time.process_time(), blocks=clock.blocks, late=len(late), skipped=skipped())
            else:
                break
        stop.set()

    threading.Thread(target=commands, daemon=True).start()
    errors: list[str] = []
    while not stop.is_set():
        try:
            e = bus.sub.get(0.01)
            while e is not None:
                for fn in list(bus.listeners):
                    fn(e)
                e = bus.sub.get(0)
            now = time.monotonic()
            for d in desks:
                d.tick(now)
            answerer.tick(now)
        except Exception as exc:          # a request timed out on a starved host: the people carry on
            errors.append(f"{type(exc).__name__}: {exc}")
            print(f"capacity_rt far end: {errors[-1]}", file=sys.stderr)
            if len(errors) > 1000:
                break
    server.stop()
    lates = late[int(mark["late"]):]
    out = {"cpu": time.process_time() - mark["cpu"], "blocks": clock.blocks - mark["blocks"],
           "skipped": skipped() - mark["skipped"], "skipped_before": mark["skipped"],
           "dropped": sum(s.audio_dropped for s in server.sessions),
           "placed": callers.placed, "answered": answerer.answered, "errors": errors[:20],
           "late_ms": _ms(lates)}
    print(json.dumps(out), flush=True)
    client.close()
    board.close()
    return 0


# ------------------------------------------------------------------------------ our side
def measure(load: RtLoad, profile: str | None = None) -> dict[str, Any]:
    """One point: the far end in a child process, our cti-server here on the wire driver."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import gc

    from cti.cli.wiring import build_server
    from cti.config import Config

    p = plan(load)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    far = subprocess.Popen([sys.executable, "-m", "bench.capacity_rt", "--far-end", json.dumps(dataclasses.asdict(load))],
                           cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert far.stdin is not None and far.stdout is not None
    srv = None
    try:
        hello = json.loads(far.stdout.readline() or "null")
        if not hello:
            raise RuntimeError("the far end did not start (see its stderr)")
        tmp = tempfile.mkdtemp(prefix="bench-capacity-rt-")
        agents = {f"a{i}": {"device": d, "team": "t"} for i, d in enumerate(p.stations)}
        contact = {"agents": agents, "stations": {d: f"{s}/{ts}" for d, (s, ts) in p.stations.items()},
                   "route_points": {ACD_NUMBER: "q"}, "recordings": os.path.join(tmp, "rec"),
                   "queues": {"q": {"strategy": "longest-idle", "ring_timeout": 20.0, "record": True}}}
        trunks = [{"signalling": t, "spans": spans, "config": {"side": "user"} if t == "pri" else {}}
                  for t, spans in p.by_type.items()]
        config = Config.from_dict({
            "server": {"store": os.path.join(tmp, "cti.db")},
            "bus": {"events": ANY, "snapshot": ANY, "control": ANY, "subscriber_buffer": 1_000_000},
            "board": {"driver": "wire", "spans": p.board_spans,
                      "options": {"url": f"socket://127.0.0.1:{hello['port']}"}},
            "trunk": trunks, "contact": contact})
        extra: list[Any] = []
        progress = None
        if load.progress:
            from cti.server import CallProgress
            progress = CallProgress(country="cn")
            extra.append(progress)
        srv = build_server(config, extra=extra)
        srv.start()
        calls0 = srv.model.next_call_number
        board = srv.board
        for s in board.spans:             # every voice timeslot streams, as the stacks read them all
            s.subscribe()
        sub = None
        if load.subscriber:
            from bench.bench_bus import _Sub
            sub = _Sub(srv.bus)
        eps = srv.bus.endpoints
        far.stdin.write(json.dumps({"events": eps.events, "snapshot": eps.snapshot, "control": eps.control}) + "\n")
        far.stdin.flush()
        card0 = float(hello["start"]) + int(hello["delay"]) * BLOCK   # block k is complete at card0 + (k + 1) x 20 ms
        reader = board._reader
        reader_clock = time.pthread_getcpuclockid(reader.ident) if reader.ident else None

        def reader_cpu() -> float:
            return time.clock_gettime(reader_clock) if reader_clock is not None else 0.0

        poller, wake_r = srv._poller, srv._wake_r
        state = {"done": board.complete_seq}

        def run(seconds: float, rec: dict[str, list[float]] | None) -> None:
            """cti-server's loop (CtiServer.step: the work, then the wait for the sockets and the
            card's descriptor, then the bus), the work of each turn timed apart."""
            end = time.monotonic() + seconds
            mono, tc = time.monotonic, time.thread_time
            arrived = board.arrivals
            done = state["done"]
            while True:
                t0 = mono()
                if t0 >= end:
                    break
                c = board.complete_seq
                c0 = tc()
                srv.step(0)                      # the turn's work (its wait is below)
                wall = mono() - t0
                cpu = tc() - c0
                if rec is not None:
                    if c > done:
                        for k in range(done + 1, c + 1):
                            rec["due"].append(t0 - (card0 + (k + 1) * BLOCK))
                            at = arrived.get(k)
                            if at is not None:
                                rec["arrived"].append(t0 - at)
                        rec["blocks"].append(c - done)
                    rec["turn"].append(wall)
                    rec["cpu"].append(cpu)
                    rec["stall"].append(max(0.0, wall - cpu))
                done = max(done, c)
                ready = dict(poller.poll(srv._sleep_ms()))
                if wake_r in ready:
                    try:
                        os.read(wake_r, 4096)
                    except BlockingIOError:
                        pass
                srv.bus.poll(0)
            state["done"] = done

        run(2.5 + load.fill + load.settle, None)
        gc.collect()
        busy: list[int] = []
        rec: dict[str, list[float]] = {"due": [], "arrived": [], "turn": [], "cpu": [], "stall": [], "blocks": []}
        seq0 = srv.bus.seq
        first = state["done"]
        blocks0 = progress.blocks if progress is not None else 0
        over0 = sum(s._counters.audio_overruns for s in board.spans)
        incomplete0 = board.incomplete
        far.stdin.write("mark\n")
        far.stdin.flush()
        p0, r0, w0 = time.process_time(), reader_cpu(), time.monotonic()
        m0 = time.thread_time()
        next_sample = time.monotonic()
        import cProfile
        prof = cProfile.Profile(time.thread_time) if profile else None   # CPU time: waits are not work
        if prof is not None:
            prof.enable()
        end = time.monotonic() + load.seconds
        while time.monotonic() < end:
            run(min(0.2, end - time.monotonic()), rec)
            if time.monotonic() >= next_sample:
                busy.append(len(srv.model.calls))
                next_sample += 0.2
        wall = time.monotonic() - w0
        if prof is not None and profile:
            prof.disable()
            prof.dump_stats(profile)
        ours, reader_s, main_s = time.process_time() - p0, reader_cpu() - r0, time.thread_time() - m0
        last = state["done"]
        far.stdin.write("stop\n")
        far.stdin.flush()
        far_out = json.loads(far.stdout.readline() or "{}")
        received = sub.result()[0] if sub is not None else 0
        line_s = (last - first) * BLOCK
        out = {
            "spans": load.spans, "types": {t: len(s) for t, s in p.by_type.items()}, "circuits": p.total,
            "stations": len(p.stations), "seconds": wall, "line_seconds": line_s,
            "blocks_due": round(wall / BLOCK), "blocks_done": len(rec["due"]),
            "ours_cpu": ours, "main_cpu": main_s, "reader_cpu": reader_s,
            "far": far_out, "busy": statistics.mean(busy) if busy else 0.0,
            "occupancy": statistics.mean(busy) / p.total if busy else 0.0,
            "events": srv.bus.seq - seq0, "received": received,
            "calls_total": srv.model.next_call_number - calls0,
            "progress_blocks": (progress.blocks - blocks0) if progress is not None else 0,
            "late_due_ms": _ms(rec["due"]), "late_arrived_ms": _ms(rec["arrived"]),
            "turn_ms": _ms(rec["turn"]), "turn_cpu_ms": _ms(rec["cpu"]), "stall_ms": _ms(rec["stall"]),
            "turns": len(rec["turn"]), "blocks_per_turn_max": max(rec["blocks"], default=0),
            "gaps": sum(s.gaps for s in board.spans), "incomplete": board.incomplete - incomplete0,
            "card_errors": [f"{e.code}: {e.text}" for e in board.remote_errors][:20],
            "overruns": sum(s._counters.audio_overruns for s in board.spans) - over0,
            "loadavg": os.getloadavg(),
        }
        return out
    finally:
        if srv is not None:
            srv.close()
        try:
            far.stdin.close()
        except OSError:
            pass
        try:
            far.wait(10)
        except subprocess.TimeoutExpired:
            far.kill()
            far.wait()


def _point(load: RtLoad, timeout: float = 600.0) -> dict[str, Any]:
    """:func:`measure` in a fresh interpreter (the same build: BOARDCORE_NO_EXTENSIONS is inherited)."""
    args = [sys.executable, "-m", "bench.capacity_rt", "--json", json.dumps(dataclasses.asdict(load))]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = subprocess.run(args, cwd=root, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"real-time capacity point {load.spans} spans failed (exit {p.returncode}):\n"
                           f"{p.stderr[-3000:]}")
    point: dict[str, Any] = json.loads(p.stdout.strip().splitlines()[-1])
    return point


# ------------------------------------------------------------------------------ the driver alone
def _card_main(spans: int) -> int:
    """A bare card for :func:`client_cost`: ``spans`` CAS spans on a real-time clock, served."""
    from simulator.board import SimBoard
    from simulator.server import SimServer

    board = SimBoard(spans=spans, clock="real")
    server = SimServer(board, port=0, name="capacity-rt card")
    port = server.start_in_thread()
    clock = board.card.clock
    print(json.dumps({"port": port}), flush=True)
    sys.stdin.readline()
    c0, s0 = time.process_time(), getattr(clock, "skipped_blocks", 0)
    sys.stdin.readline()
    print(json.dumps({"cpu": time.process_time() - c0, "skipped": getattr(clock, "skipped_blocks", 0) - s0}),
          flush=True)
    server.stop()
    board.close()
    return 0


def _reads(spans: list[Any], writes: int) -> None:
    """What the stacks and the media do with a board per block: every span's block read (all
    voice timeslots), its CAS bits, and ``writes`` timeslots written with a 20 ms block."""
    blk = b"\xd5" * 160
    for s in spans:
        while s.read_audio() is not None:
            pass
        s.cas_all()
    for i in range(writes):
        spans[i % len(spans)].write_audio(1 + i // len(spans) % 15, blk)


def client_cost(spans: int = 64, seconds: float = 5.0, bridged: float = 0.1) -> dict[str, Any]:
    """The wire driver's own cost per block (our side on a real wire card): a card in a child
    process streams every voice timeslot of ``spans`` spans; here a loop woken by the driver's
    descriptor reads every span's block and CAS bits and writes ``bridged`` of the timeslots x 2
    (the bridges' share) per block. Reference in the same run: the same reads and writes on the
    simulator's spans in this process (the sim backend's Board API, the card's line not counted)."""
    from drivers.wire.client import WireBoard
    from simulator.board import SimBoard

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    card = subprocess.Popen([sys.executable, "-m", "bench.capacity_rt", "--card", str(spans)], cwd=root,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert card.stdin is not None and card.stdout is not None
    writes = round(spans * VOICE * bridged * 2)
    out: dict[str, Any] = {"spans": spans, "writes_per_block": writes}
    try:
        port = json.loads(card.stdout.readline())["port"]
        board = WireBoard(url=f"socket://127.0.0.1:{port}")
        ss = list(board._spans)
        for s in ss:
            s.subscribe()
        fd = board.fileno()
        import select as _select
        poll = _select.poll()
        poll.register(fd, _select.POLLIN)
        assert board._reader.ident is not None
        rclock = time.pthread_getcpuclockid(board._reader.ident)
        end = time.monotonic() + 1.0
        while time.monotonic() < end:                        # warm up: streams flowing
            poll.poll(20)
            board.poll_events()
            _reads(ss, writes)
        card.stdin.write("mark\n")
        card.stdin.flush()
        c0, r0, b0 = time.thread_time(), time.clock_gettime(rclock), board.complete_seq
        over0 = sum(s._counters.audio_overruns for s in ss)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            poll.poll(20)
            board.poll_events()                               # drains the descriptor, sends the writes
            _reads(ss, writes)
        blocks = board.complete_seq - b0
        main_s, reader_s = time.thread_time() - c0, time.clock_gettime(rclock) - r0
        card.stdin.write("stop\n")
        card.stdin.flush()
        far = json.loads(card.stdout.readline() or "{}")
        out.update(blocks=blocks, main_us=1e6 * main_s / max(1, blocks), reader_us=1e6 * reader_s / max(1, blocks),
                   gaps=sum(s.gaps for s in ss), overruns=sum(s._counters.audio_overruns for s in ss) - over0,
                   card_cpu=far.get("cpu"), card_skipped=far.get("skipped"))
        board.close()
    finally:
        try:
            card.stdin.close()
        except OSError:
            pass
        card.wait(10)
    sim = SimBoard(spans=spans, clock="virtual")           # the reference: the same calls on the sim backend
    sim.advance(0.1)
    ssim = list(sim.spans)
    n, cpu = 0, 0.0
    end = time.monotonic() + min(seconds, 3.0)
    while time.monotonic() < end:
        sim.advance(BLOCK)                                  # the card's line: not timed
        t0 = time.thread_time()
        _reads(ssim, writes)
        cpu += time.thread_time() - t0
        n += 1
    sim.close()
    out["sim_us"] = 1e6 * cpu / max(1, n)
    return out


# ------------------------------------------------------------------------------ the report
def _median(points: list[dict[str, Any]], get: Any) -> tuple[float, float, float]:
    xs = sorted(x for p in points if (x := get(p)) == x)      # a run without the figure (NaN) left out
    return (statistics.median(xs), xs[0], xs[-1]) if xs else (math.nan, math.nan, math.nan)


def table(runs: dict[int, list[dict[str, Any]]]) -> list[str]:
    """Markdown rows: medians of the runs (range) per point."""
    head = ("| trunk spans | circuits | busy | our CPU, s per s (reader thread) | far end CPU, s per s | "
            "our CPU per turn p50 / p99.9, ms | lateness vs due p50 / p99 / p99.9 / max, ms | vs arrival p99.9, ms | "
            "thread not running "
            "p50 / max per turn, ms | card's own lateness p99.9, ms | blocks done / due, lost | load average |")
    out = [head, "|" + "---|" * (head.count("|") - 1)]
    for n, pts in sorted(runs.items()):
        def m(f: Any, fmt: str = "{:.1f}", pts: list[dict[str, Any]] = pts) -> str:
            med, lo, hi = _median(pts, f)
            return fmt.format(med) + (f" ({fmt.format(lo)}-{fmt.format(hi)})" if len(pts) > 1 else "")
        lost = sum(p["gaps"] + p["overruns"] + p["far"].get("skipped", 0) + p["far"].get("dropped", 0) for p in pts)
        out.append(
            f"| {n} | {pts[0]['circuits']} | {100 * statistics.median(p['occupancy'] for p in pts):.0f} % | "
            f"{m(lambda p: p['ours_cpu'] / p['seconds'], '{:.3f}')} ({m(lambda p: p['reader_cpu'] / p['seconds'], '{:.3f}')}) | "
            f"{m(lambda p: p['far'].get('cpu', float('nan')) / p['seconds'], '{:.2f}')} | "
            f"{m(lambda p: p['turn_cpu_ms']['p50'], '{:.2f}')} / {m(lambda p: p['turn_cpu_ms']['p999'], '{:.2f}')} | "
            f"{m(lambda p: p['late_due_ms']['p50'])} / {m(lambda p: p['late_due_ms']['p99'])} / "
            f"{m(lambda p: p['late_due_ms']['p999'])} / {m(lambda p: p['late_due_ms']['max'])} | "
            f"{m(lambda p: p['late_arrived_ms']['p999'])} | "
            f"{m(lambda p: p['stall_ms']['p50'])} / {m(lambda p: p['stall_ms']['max'])} | "
            f"{m(lambda p: p['far'].get('late_ms', {}).get('p999', float('nan')))} | "
            f"{sum(p['blocks_done'] for p in pts)} / {sum(p['blocks_due'] for p in pts)}, {lost} | "
            f"{min(p['loadavg'][0] for p in pts):.1f}-{max(p['loadavg'][0] for p in pts):.1f} |")
    return out


def run(quick: bool = False) -> list[Result]:
    """``python -m bench capacity_rt``: the curve, one run per point (``--quick``: 2 spans, 3 s)."""
    curve = QUICK_CURVE if quick else CURVE
    out = []
    for n in curve:
        load = RtLoad(spans=n, seconds=3.0 if quick else 10.0, fill=1.0 if quick else 4.0,
                      settle=1.0 if quick else 3.0)
        p = _point(load)
        late = p["late_due_ms"]["p999"]
        out.append(Result("lateness p99.9 vs due, real clock", f"{n} spans", late, "ms",
                          note=("MET" if late < TARGET_LATE_MS else "not met") + f" (target < {TARGET_LATE_MS:g} ms); "
                          f"vs arrival {p['late_arrived_ms']['p999']:.1f} ms; thread not running up to "
                          f"{p['stall_ms']['max']:.1f} ms a turn; ours {p['ours_cpu'] / p['seconds']:.3f} s/s "
                          f"(reader {p['reader_cpu'] / p['seconds']:.3f}), far end "
                          f"{p['far'].get('cpu', float('nan')) / p['seconds']:.2f} s/s; "
                          f"{p['blocks_done']}/{p['blocks_due']} blocks; load {p['loadavg'][0]:.1f}"))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.capacity_rt", description=__doc__.split("\n")[0])
    ap.add_argument("--far-end", help=argparse.SUPPRESS)
    ap.add_argument("--card", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--client", action="store_true",
                    help="the wire driver's own cost per block at --spans (reference: the sim backend)")
    ap.add_argument("--json", help="one point, RtLoad as JSON, in this process; prints one JSON line")
    ap.add_argument("--spans", type=int, nargs="*", help=f"points (trunk spans; default {' '.join(map(str, CURVE))})")
    ap.add_argument("--seconds", type=float, default=10.0, help="measured window per point, real seconds")
    ap.add_argument("--runs", type=int, default=1, help="runs per point (the table gives medians and ranges)")
    ap.add_argument("--out", help="write every point as JSON here")
    ap.add_argument("--profile", help="with --json: cProfile dump of the window's loop thread to this file")
    a = ap.parse_args(argv)
    if a.card:
        return _card_main(a.card)
    if a.client:
        for n in a.spans or (16, 64):
            print(json.dumps(client_cost(n, a.seconds)), flush=True)
        return 0
    if a.far_end or a.json:
        fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                                  for k, v in json.loads(a.far_end or a.json).items()}
        load = RtLoad(**fields)
        if a.far_end:
            return far_end_main(load)
        print(json.dumps(measure(load, a.profile)))
        return 0
    runs: dict[int, list[dict[str, Any]]] = {}
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    for _ in range(a.runs):                       # interleaved: a burst of host load hits every point
        for n in a.spans or CURVE:
            p = _point(RtLoad(spans=n, seconds=a.seconds))
            runs.setdefault(n, []).append(p)
            print(json.dumps(p), flush=True)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(runs, f, indent=1)
    for row in table(runs):
        print(row)
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
