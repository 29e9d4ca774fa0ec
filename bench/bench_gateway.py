"""cti-gateway fan-out: 1 000 WebSocket subscribers x 1 000 events/s, against the raw ZeroMQ bus.

``python -m bench gateway`` prints ONE table: delivery p50 / p99 / max against the 50 ms target
and against a raw ZeroMQ SUB of the same runs, lost / duplicated / out-of-order / content
errors, the CPU of the gateway, of the test clients and of the bus (separately, per round),
gateway CPU-seconds per million deliveries with and without permessage-deflate, octets per
delivery, memory per connection, and events/s through one gateway against the raw bus.

Set-up, all on this host: a BusServer (SQLite WAL journal) on a thread of this process,
publishing 1 000 events/s in 1 ms steps (its CPU is that thread's); ``cti-gateway`` as its own
process (plain mode, loopback, uvloop when installed); the subscribers (bench/gateway_clients.py) in ``CLIENT_PROCS``
processes of their own, each holding its share of the connections on one uvloop loop with a
hand-written RFC 6455 reader (the clients must cost as little as possible: on a 2-core host they
compete with the gateway for CPU, and a bench that measures its clients says nothing about the
gateway); a raw ZeroMQ SUB in another process: the reference, what the bus itself delivers.

**The cheap path.** Every ``events`` frame begins with its batch header (docs/gateway.md):
``{"op":"events","first":F,"last":L,"count":N,"oldest":T,`` - read with one anchored regex
match on the frame (a compressed frame carries it in a stored DEFLATE block: read in place, no
inflating; a frame without one: after inflating only its first 160 octets). Every
subscriber checks from it that ``first`` is the seq after the last one it had (else lost or
duplicated), that ``count`` covers ``first..last`` (every event is visible here), and takes the
latency as its receive time minus ``T``, the bus's publish time of the frame's OLDEST event,
charged to all N events (an honest upper bound per event). One subscriber in ``SAMPLE_EVERY``
parses every frame whole and checks each event: seqs consecutive and equal to the header's,
the content equal to what the bus published (the template's fields, ``call`` the publish
index at a constant offset from ``seq``).

Rounds: ``ROUNDS`` with permessage-deflate offered (as browsers do), then one without (the
A/B: octets against CPU). Each round has fresh subscribers and ``rate * seconds`` events;
the table gives the median of the compressed rounds and each round.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Any


from bench.common import Result
from bench.gateway_clients import (SAMPLE_EVERY, Clients, build_reader, event, subscriber_process, zmq_counter,
                                   zmq_latency)
from cti.bus.server import Limits
from cti.gateway.rig import BusThread

TARGET_P99_MS = 50.0
CLIENT_PROCS = 2          #: subscriber processes (each one uvloop loop; 2 cost less CPU a frame than 4)
ROUNDS = 3
WINDOW_AB_MS = 10.0       #: the A/B round's longest batch window (the gateway's default: 20 ms)
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_seconds(path: str) -> float:
    """utime + stime of a /proc/.../stat file (a process, or a thread under task/)."""
    try:
        with open(path) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _load() -> float:
    return os.getloadavg()[0]


# ---- the rounds ------------------------------------------------------------------------------------

def _merge(parts: list[dict[int, int]]) -> tuple[list[tuple[float, int]], int]:
    merged: dict[int, int] = {}
    for part in parts:
        for b, c in part.items():
            merged[b] = merged.get(b, 0) + c
    lats = sorted((b / 10000, c) for b, c in merged.items())
    return lats, sum(c for _lat, c in lats)


def _pct(lats: list[tuple[float, int]], total: int, q: float) -> float:
    """The ``q`` quantile of a (seconds, count) histogram, in milliseconds."""
    k, acc = q * total, 0
    for lat, c in lats:
        acc += c
        if acc >= k:
            return lat * 1000
    return float("nan")


STAGES = ("bus_to_gateway", "window", "queued", "fanout")


class Rig:
    """The bus thread, the gateway process and the helpers of one benchmark run."""

    def __init__(self, compress: bool = True, send_threads: int | None = None) -> None:
        self.ctx = mp.get_context("spawn")
        self.tmp = tempfile.mkdtemp(prefix="bench-gateway-")
        self.reader = build_reader(self.tmp)
        self.bus = BusThread(os.path.join(self.tmp, "j.db"), limits=Limits(ring=200_000)).start()
        assert self.bus.endpoints is not None
        self.bus_task = f"/proc/self/task/{self.bus.thread.native_id}/stat"
        self.gw: subprocess.Popen[bytes] | None = None
        self.start_gateway(compress, send_threads)

    def start_gateway(self, compress: bool = True, send_threads: int | None = None,
                      window_ms: float | None = None) -> None:
        """(Re)start the gateway process on a fresh port (the bus stays)."""
        self.stop_gateway()
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        assert self.bus.endpoints is not None
        ep = self.bus.endpoints
        self.gw = subprocess.Popen(
            [sys.executable, "-m", "cti.cli.gateway", "--port", str(self.port), "--events", ep.events,
             "--snapshot", ep.snapshot, "--control", ep.control, "--max-buffer", str(16 << 20),
             "--compress" if compress else "--no-compress"]
            + ([] if send_threads is None else ["--send-threads", str(send_threads)])
            + ([] if window_ms is None else ["--batch-window", str(window_ms)]),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.gw_stat = f"/proc/{self.gw.pid}/stat"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=2) as r:
                    if r.status == 200:
                        self.send_threads = int(json.load(r).get("send_threads", 0))
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError("cti-gateway did not become ready")
            time.sleep(0.2)
        time.sleep(1.0)

    def readyz(self, since: float = 0.0) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/readyz?since={since}", timeout=10) as r:
            return dict(json.load(r))

    def stop_gateway(self) -> None:
        if self.gw is None:
            return
        self.gw.terminate()
        try:
            self.gw.wait(10)
        except subprocess.TimeoutExpired:
            self.gw.kill()
            self.gw.wait(10)
        self.gw = None

    def close(self) -> None:
        self.stop_gateway()
        self.bus.stop()

    def start_clients(self, subscribers: int, deflate: bool, raw: bool = True) -> Clients:
        """Client processes (and the raw SUB), all connected and subscribed when this returns.

        With the C reader (bench/gateway_reader.c, built when a C compiler is here): the sampled
        subscribers (one in ``SAMPLE_EVERY``, parsing every frame whole) in one Python process,
        the others in ``CLIENT_PROCS`` reader processes. Without it: ``CLIENT_PROCS`` Python
        processes, each holding its share (its sampled subscribers among them)."""
        c = Clients(self.ctx.Queue(), self.ctx.Queue(), self.ctx.Queue(), self.ctx.Queue())
        host, port = "127.0.0.1", str(self.port)
        plan: list[tuple[str, int, int]] = []          # (kind, subscribers, first index)
        if self.reader and subscribers >= SAMPLE_EVERY:
            sampled = (subscribers + SAMPLE_EVERY - 1) // SAMPLE_EVERY
            plan.append(("sampled", sampled, 0))
            rest = subscribers - sampled
            nproc = max(1, min(CLIENT_PROCS, rest))
            plan += [("c", rest // nproc + (1 if k < rest % nproc else 0), 0) for k in range(nproc)]
        else:
            nproc = max(1, min(CLIENT_PROCS, subscribers))
            index0 = 0
            for k in range(nproc):
                share = subscribers // nproc + (1 if k < subscribers % nproc else 0)
                plan.append(("python", share, index0))
                index0 += share
        for kind, share, index0 in plan:
            if kind == "c":
                assert self.reader is not None
                c.readers.append(subprocess.Popen([self.reader, host, port, str(share), "1" if deflate else "0"],
                                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE))
                continue
            rd, wr = self.ctx.Pipe(duplex=False)
            c.procs.append(self.ctx.Process(target=subscriber_process, args=(self.url, share, index0, deflate, c.ready,
                                                                       rd, c.out, kind == "sampled")))
            c.pipes.append(wr)
        if raw:
            assert self.bus.endpoints is not None
            c.procs.append(self.ctx.Process(target=zmq_latency, args=(self.bus.endpoints.events, c.ready,
                                                                       c.raw_final, c.raw_out)))
        for p in c.procs:
            p.start()
        for _ in c.procs:
            c.ready.get(timeout=300)
        for r in c.readers:
            assert r.stdout is not None
            line = r.stdout.readline()
            if line.strip() != b"ready":
                raise RuntimeError(f"gateway_reader did not get ready: {line[:200]!r}")
        return c

    def fanout_round(self, subscribers: int, rate: float, seconds: float, deflate: bool) -> dict[str, Any]:
        """One round: fresh subscribers, ``rate`` events/s for ``seconds``; every figure of the round."""
        load0 = _load()
        assert self.gw is not None
        rss_idle = _rss_kib(self.gw.pid)
        c = self.start_clients(subscribers, deflate)
        time.sleep(1.0)
        rss = _rss_kib(self.gw.pid)
        n = int(rate * seconds)
        seq0 = self.bus.seq
        before = self.readyz()
        gw0, bus0, me0 = _cpu_seconds(self.gw_stat), _cpu_seconds(self.bus_task), time.process_time()
        since = time.time()
        self.bus.pace(n, rate, event)
        target = seq0 + n
        time.sleep(seconds)                      # the bus thread is busy pacing until then
        deadline = time.monotonic() + 60
        while self.bus.seq < target and time.monotonic() < deadline:
            time.sleep(0.05)
        bus_cpu = _cpu_seconds(self.bus_task) - bus0
        try:
            parts = c.finish(target)
        except BaseException:
            c.kill()
            raise
        gw_cpu = _cpu_seconds(self.gw_stat) - gw0
        raw = c.raw_out.get(timeout=60)
        inside = self.readyz(since)
        c.join()
        tallies = [p["tally"] for p in parts]
        lats, total = _merge([t["lats"] for t in tallies])
        slats, stotal = _merge([t.get("lats_sent", {}) for t in tallies])
        stages = inside["fanout_ms"].get("stages", {})
        rlats, rtotal = _merge([raw["lats"]])
        delivered = sum(t["delivered"] for t in tallies)
        others: dict[str, int] = {}
        for t in tallies:
            for k, v in t["others"].items():
                if v:
                    others[k] = others.get(k, 0) + v
        return {
            "deflate": deflate, "subscribers": subscribers, "events": n, "expected": n * subscribers,
            "delivered": delivered, "lost": sum(t["lost"] for t in tallies),
            "duplicated": sum(t["duplicated"] for t in tallies), "bad_header": sum(t["bad_header"] for t in tallies),
            "content_errors": sum(t["content_errors"] for t in tallies),
            "sampled": sum(p["sampled"] for p in parts), "sampled_events": sum(t["sampled_events"] for t in tallies),
            "short": sum(p["short"] for p in parts), "overflows": sum(t["overflows"] for t in tallies),
            "others": others, "frames": sum(t["frames"] for t in tallies), "octets": sum(t["octets"] for t in tallies),
            "p50": _pct(lats, total, 0.5), "p99": _pct(lats, total, 0.99), "max": lats[-1][0] * 1000 if lats else 0.0,
            "raw_p50": _pct(rlats, rtotal, 0.5), "raw_p99": _pct(rlats, rtotal, 0.99),
            "sent_p50": _pct(slats, stotal, 0.5), "sent_p99": _pct(slats, stotal, 0.99),
            **{f"st_{name}_{q}": float(stages.get(name, {}).get(q, float("nan")))
               for name in STAGES for q in ("p50", "p99")},
            "send_threads": self.send_threads, "readers": len(c.readers),
            "in_p50": float(inside["fanout_ms"].get("p50", float("nan"))),
            "in_p99": float(inside["fanout_ms"].get("p99", float("nan"))),
            "coalesced": int(inside["counters"].get("coalesced", 0)),
            "gw_cpu": gw_cpu, "clients_cpu": sum(p["cpu"] for p in parts), "raw_cpu": float(raw["cpu"]),
            **{key: int(inside["counters"].get(name, 0)) - int(before["counters"].get(name, 0))
               for key, name in (("direct", "direct_frames"), ("direct_rest", "direct_rest"))},
            "helped": int(inside.get("sent_by_helper", 0)) - int(before.get("sent_by_helper", 0)),
            "gc_full": int(inside.get("gc", {}).get("full", 0)), "gc_max": float(inside.get("gc", {}).get("max_ms", 0)),
            "bus_cpu": bus_cpu, "bench_cpu": time.process_time() - me0 - bus_cpu,
            "rss_idle": rss_idle, "rss": rss, "load": (load0, _load()), "seconds": seconds,
        }

    def fanout_alone(self, n: int, batches: int, rounds: int) -> dict[int, list[dict[str, float]]]:
        """bench/gateway_fanout.py in a process of its own (it needs 2n sockets and its own loop)."""
        from bench.gateway_fanout import measure
        out = self.ctx.Queue()
        p = self.ctx.Process(target=measure, args=(n, batches, rounds, out))
        p.start()
        res: dict[int, list[dict[str, float]]] = out.get(timeout=600)
        p.join(30)
        return res

    def throughput(self, events: int, kind: str) -> float:
        """A burst of ``events`` published as fast as the bus thread can: events/s received by one
        raw ZeroMQ SUB (``zmq``) or one WebSocket subscriber of the gateway (``ws``)."""
        assert self.bus.endpoints is not None
        if kind == "zmq":
            ready, out = self.ctx.Queue(), self.ctx.Queue()
            p = self.ctx.Process(target=zmq_counter, args=(self.bus.endpoints.events, events, ready, out))
            p.start()
            ready.get(timeout=60)
            time.sleep(0.3)
            t0 = time.time()
            _burst(self.bus, events)
            got, t1 = out.get(timeout=300)
            p.join(30)
            return got / (t1 - t0) if t1 > t0 else 0.0
        c = self.start_clients(1, True, raw=False)
        time.sleep(0.3)
        target = self.bus.seq + events
        t0 = time.time()
        _burst(self.bus, events)
        part = c.finish(target)[0]
        c.join()
        got = part["tally"]["delivered"]
        return got / (part["done_at"] - t0) if part["done_at"] > t0 else 0.0


def _burst(bus: BusThread, n: int) -> None:
    def job(b: Any) -> None:
        for i in range(n):
            b.publish(event(i))
            if i % 500 == 499:
                b.poll(0)
    bus.inbox.put(job)


# ---- the table -------------------------------------------------------------------------------------

def _rounds(rs: list[dict[str, Any]], key: str, fmt: str = "{:.1f}") -> str:
    return " / ".join(fmt.format(r[key]) for r in rs)


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "-"


def _per_million(r: dict[str, Any], key: str) -> float:
    return float(r[key]) / (r["delivered"] / 1e6) if r["delivered"] else float("nan")


def report(rs: list[dict[str, Any]], plain: dict[str, Any] | None, tp: dict[str, list[float]],
           title: str, ab: dict[str, Any] | None = None, win: dict[str, Any] | None = None,
           alone: dict[int, list[dict[str, float]]] | None = None) -> None:
    """Every figure in one table (rich), to the console."""
    from rich.console import Console
    from rich.table import Table

    def med(key: str) -> float:
        return statistics.median(float(r[key]) for r in rs)

    for r in rs + [x for x in (plain, ab, win) if x]:
        for k in ("gw_cpu", "clients_cpu", "bus_cpu", "raw_cpu"):
            r[k + "_pm"] = _per_million(r, k)
        r["octets_pd"] = r["octets"] / r["delivered"] if r["delivered"] else float("nan")
        r["events_pf"] = r["delivered"] / r["frames"] if r["frames"] else float("nan")
        r["gw_core"] = r["gw_cpu"] / r["seconds"]
        r["gw_us_frame"] = r["gw_cpu"] / r["frames"] * 1e6 if r["frames"] else float("nan")
    lost = sum(r["lost"] for r in rs)
    dup = sum(r["duplicated"] for r in rs)
    errs = sum(r["content_errors"] + r["bad_header"] for r in rs)
    delivered, expected = sum(r["delivered"] for r in rs), sum(r["expected"] for r in rs)
    short = sum(r["short"] for r in rs)
    p99 = med("p99")
    t = Table(title=title, show_lines=False)
    t.add_column("figure")
    t.add_column("median", justify="right")
    t.add_column("rounds")
    t.add_column("target / reference")
    t.add_column("verdict")
    verdict = "[green]met[/]" if p99 < TARGET_P99_MS else "[red]not met[/]"
    t.add_row("delivery p99 (receipt - bus publish of the frame's oldest event)", f"{p99:.1f} ms", _rounds(rs, "p99"),
              f"< {TARGET_P99_MS:.0f} ms; raw ZeroMQ SUB {med('raw_p99'):.1f} ms (x{p99 / med('raw_p99'):.1f})"
              if med("raw_p99") > 0 else f"< {TARGET_P99_MS:.0f} ms", verdict)
    t.add_row("delivery p50 / max", f"{med('p50'):.1f} / {med('max'):.0f} ms",
              f"p50 {_rounds(rs, 'p50')}; max {_rounds(rs, 'max', '{:.0f}')}",
              f"raw ZeroMQ SUB p50 {med('raw_p50'):.2f} ms", "")
    t.add_row("raw ZeroMQ SUB p99 (same runs, reference)", f"{med('raw_p99'):.1f} ms", _rounds(rs, "raw_p99"),
              "what the bus itself delivers", "")
    t.add_row("inside the gateway p50 / p99 (publish -> written to every socket)",
              f"{med('in_p50'):.1f} / {med('in_p99'):.1f} ms", f"p99 {_rounds(rs, 'in_p99')}", "", "")
    t.add_row("  of which, per batch p50 / p99: bus -> gateway feed; batch window; queued behind the loop; fan-out",
              "; ".join(f"{med(f'st_{n}_p50'):.1f} / {med(f'st_{n}_p99'):.1f}" for n in STAGES) + " ms",
              "fan-out p99 " + _rounds(rs, "st_fanout_p99"),
              f"send threads {rs[0]['send_threads']}; direct {sum(r['direct'] for r in rs):,} frames "
              f"({_share(sum(r['helped'] for r in rs), sum(r['direct'] + r['direct_rest'] for r in rs))} by the "
              "helper thread), "
              f"{sum(r['direct_rest'] for r in rs):,} finished by the transport", "")
    t.add_row("  the gateway's garbage collector: full collections; longest pause",
              f"{sum(r['gc_full'] for r in rs)}; {max(r['gc_max'] for r in rs):.1f} ms",
              "longest " + _rounds(rs, "gc_max"), "a pause stops the fan-out", "")
    t.add_row("frame made (header `sent`) -> read by the client, p50 / p99",
              f"{med('sent_p50'):.1f} / {med('sent_p99'):.1f} ms", f"p99 {_rounds(rs, 'sent_p99')}",
              "the frame's place in the fan-out + the socket + the client's read", "")
    ok = lost == 0 and dup == 0 and errs == 0 and short == 0 and delivered == expected
    t.add_row("delivered / expected; lost, duplicated, bad frames, short subscribers",
              f"{delivered:,} / {expected:,}", f"lost {lost}, dup {dup}, bad {errs}, short {short}",
              "none lost, none duplicated", "[green]met[/]" if ok else "[red]NOT met[/]")
    t.add_row("content checked whole (sampled subscribers)", f"{sum(r['sampled_events'] for r in rs):,} events",
              f"{rs[0]['sampled']} subscribers a round; errors {sum(r['content_errors'] for r in rs)}", "", "")
    t.add_row("gateway CPU per round (share of one core)", f"{med('gw_cpu'):.2f} s ({med('gw_core'):.2f})",
              _rounds(rs, "gw_cpu", "{:.2f}"), f"{rs[0]['seconds']:.0f} s rounds", "")
    t.add_row("gateway CPU-s per million deliveries", f"{med('gw_cpu_pm'):.3f}", _rounds(rs, "gw_cpu_pm", "{:.3f}"),
              f"no deflate: {plain['gw_cpu_pm']:.3f}" if plain else "", "")
    t.add_row("gateway CPU per frame written (all of its work / frames read by the clients)",
              f"{med('gw_us_frame'):.1f} us", _rounds(rs, "gw_us_frame"),
              "; ".join(f"{name}: {x['gw_us_frame']:.1f} us" for name, x in (("no deflate", plain),
                        ("through the transports", ab), (f"{(win or {}).get('window_ms', 10):.0f} ms window", win)) if x), "")
    kind = (f"{rs[0]['readers']} C readers + 1 Python process for the sampled" if rs[0]["readers"]
            else f"{CLIENT_PROCS} Python processes")
    t.add_row(f"clients CPU per round ({kind})", f"{med('clients_cpu'):.2f} s",
              _rounds(rs, "clients_cpu", "{:.2f}"), f"{med('clients_cpu_pm'):.3f} s per million deliveries", "")
    t.add_row("bus CPU per round (publishing thread)", f"{med('bus_cpu'):.2f} s", _rounds(rs, "bus_cpu", "{:.2f}"),
              f"raw SUB process {_rounds(rs, 'raw_cpu', '{:.2f}')} s", "")
    t.add_row("octets per delivery on the wire; events per frame", f"{med('octets_pd'):.1f}; {med('events_pf'):.1f}",
              _rounds(rs, "octets_pd"), f"no deflate: {plain['octets_pd']:.1f}; {plain['events_pf']:.1f}"
              if plain else "", "")
    if plain:
        t.add_row("without permessage-deflate (1 round): p99, gateway CPU",
                  f"{plain['p99']:.1f} ms, {plain['gw_cpu']:.2f} s", f"p50 {plain['p50']:.1f} ms, lost "
                  f"{plain['lost']}, dup {plain['duplicated']}", f"clients {plain['clients_cpu']:.2f} s, load "
                  f"{plain['load'][1]:.1f}", "")
    if ab:
        t.add_row("A/B, 1 round: every frame through its transport (--send-threads 0): p99, fan-out p99, "
                  "gateway CPU", f"{ab['p99']:.1f} ms, {ab['st_fanout_p99']:.1f} ms, {ab['gw_cpu']:.2f} s",
                  f"p50 {ab['p50']:.1f} ms, lost {ab['lost']}, dup {ab['duplicated']}",
                  f"this run's rounds: p99 {p99:.1f} ms, fan-out p99 {med('st_fanout_p99'):.1f} ms, "
                  f"gateway {med('gw_cpu'):.2f} s; load {ab['load'][1]:.1f}", "")
    if win:
        t.add_row(f"A/B, 1 round: batch window at most {win['window_ms']:.0f} ms (--batch-window): p99, window p99, "
                  "gateway CPU-s per million deliveries",
                  f"{win['p99']:.1f} ms, {win['st_window_p99']:.1f} ms, {win['gw_cpu_pm']:.3f}",
                  f"p50 {win['p50']:.1f} ms, lost {win['lost']}, dup {win['duplicated']}; events per frame "
                  f"{win['events_pf']:.1f}", f"this run's rounds (at most 20 ms): window p99 "
                  f"{med('st_window_p99'):.1f} ms, {med('gw_cpu_pm'):.3f}; load {win['load'][1]:.1f}", "")
    if alone:
        def fig(mode: int, key: str) -> float:
            return statistics.median(x[key] for x in alone[mode])
        t.add_row(f"the fan-out alone (one process, {rs[0]['subscribers']} loopback subscribers, 20 events a batch): "
                  "loop thread CPU per batch, through the transports / direct / direct + helper",
                  f"{fig(0, 'cpu_ms'):.2f} / {fig(1, 'cpu_ms'):.2f} / {fig(2, 'cpu_ms'):.2f} ms",
                  f"wall {fig(0, 'wall_ms'):.2f} / {fig(1, 'wall_ms'):.2f} / {fig(2, 'wall_ms'):.2f} ms",
                  f"ratio {fig(2, 'cpu_ms') / fig(0, 'cpu_ms'):.2f} (loop thread); helper wrote "
                  f"{100 * fig(2, 'helped'):.0f} %; load {alone[2][-1]['load']:.1f}", "")
    t.add_row("memory per connection (gateway RSS)",
              f"{(rs[0]['rss'] - rs[0]['rss_idle']) / rs[0]['subscribers']:.1f} KiB",
              f"{rs[0]['rss_idle'] / 1024:.1f} -> {rs[0]['rss'] / 1024:.1f} MiB", "", "")
    if tp.get("zmq") and tp.get("ws"):
        z, w = statistics.median(tp["zmq"]), statistics.median(tp["ws"])
        t.add_row("events/s: through the gateway (one WebSocket) / raw ZeroMQ SUB", f"{w:,.0f} / {z:,.0f}",
                  "ws " + ", ".join(f"{x:,.0f}" for x in tp["ws"]) + "; zmq " + ", ".join(f"{x:,.0f}" for x in tp["zmq"]),
                  f"ratio {w / z:.2f}" if z else "", "")
    t.add_row("host load average (start -> end of each round)", f"{statistics.median(r['load'][1] for r in rs):.1f}",
              " / ".join(f"{a:.1f}->{b:.1f}" for a, b in (r["load"] for r in rs)), f"{os.cpu_count()} cores", "")
    others = {k: sum(r["others"].get(k, 0) for r in rs) for r in rs for k in r["others"]}
    if others or any(r["overflows"] for r in rs):
        t.add_row("other messages", "", f"overflows {sum(r['overflows'] for r in rs)}; {others}", "", "")
    Console(width=None if sys.stdout.isatty() else 220).print(t)


def run(quick: bool = False) -> list[Result]:
    subscribers = 100 if quick else 1000
    rate = 1000.0
    seconds = 3.0 if quick else 10.0
    tp_events = 20_000 if quick else 100_000
    rounds = 1 if quick else ROUNDS
    rig = Rig()
    try:
        rs = []
        for k in range(rounds):
            rs.append(rig.fanout_round(subscribers, rate, seconds, True))
            r = rs[-1]
            print(f"round {k + 1}/{rounds} (deflate): p99 {r['p99']:.1f} ms, gateway {r['gw_cpu']:.2f} s, clients "
                  f"{r['clients_cpu']:.2f} s, bus {r['bus_cpu']:.2f} s, load {r['load'][1]:.1f}; stages p99 "
                  + ", ".join(f"{n} {r[f'st_{n}_p99']:.1f}" for n in STAGES) + f"; sent->read p99 {r['sent_p99']:.1f}",
                  file=sys.stderr)
        plain = rig.fanout_round(subscribers, rate, seconds, False)
        print(f"round (no deflate): p99 {plain['p99']:.1f} ms, gateway {plain['gw_cpu']:.2f} s", file=sys.stderr)
        ab = win = None
        if not quick:
            rig.start_gateway(True, 0)
            ab = rig.fanout_round(subscribers, rate, seconds, True)
            print(f"round (--send-threads 0): p99 {ab['p99']:.1f} ms, gateway {ab['gw_cpu']:.2f} s", file=sys.stderr)
            rig.start_gateway(True, None, WINDOW_AB_MS)
            win = rig.fanout_round(subscribers, rate, seconds, True)
            win["window_ms"] = WINDOW_AB_MS
            print(f"round (--batch-window {WINDOW_AB_MS:.0f}): p99 {win['p99']:.1f} ms, gateway {win['gw_cpu']:.2f} s",
                  file=sys.stderr)
            rig.start_gateway(True)
        tp: dict[str, list[float]] = {"zmq": [], "ws": []}
        for _ in range(rounds):
            for kind in ("zmq", "ws"):
                tp[kind].append(rig.throughput(tp_events, kind))
        alone = rig.fanout_alone(subscribers, 30 if quick else 100, 1 if quick else 2)
    finally:
        rig.close()
    report(rs, plain, tp, f"cti-gateway: {subscribers} subscribers x {rate:.0f} events/s x {seconds:.0f} s, "
                          f"{rounds} round(s) with permessage-deflate + 1 without"
                          + ("" if quick else f" + 1 through the transports + 1 with a {WINDOW_AB_MS:.0f} ms window"),
           ab, win, alone)
    return []          # everything is in the table above (the runner's ratio table would split it)
