"""Outbound: answering-machine detection on the espeak-ng corpus (accuracy, decision time, the
end-of-greeting beep) against Asterisk app_amd's algorithm, the AMD kernel's speed, and the
dialler's pacing modes on a virtual-time load (``simulate``), and the same campaign through the
whole server and the simulated SS7 exchange (``full_simulator``: real calls, AMD on the line's
audio, simulated agents).

    python -m bench outbound [--quick]
"""
from __future__ import annotations

import statistics
import time
from typing import Any

from _boardcore import _select, amd_py
from bench.amd_baseline import asterisk_amd
from bench.amd_corpus import CorpusUnavailable, Item, corpus
from bench.common import Result, rate


def _ours(mod: Any, it: Item) -> tuple[str, float, float | None]:
    d = mod.AmdDetector()
    verdict, at, beep = "unknown", 5000.0, None
    for i in range(0, len(it.pcm), 160):
        for e in d.feed(it.pcm[i:i + 160]):
            if e.kind in amd_py.VERDICTS:
                verdict, at = e.kind, e.at
            elif e.kind == "beep":
                beep = e.at
        if d.done:
            break
    return verdict, at, beep


def amd_rows(items: list[Item]) -> list[Result]:
    bench = f"AMD accuracy, {len(items)} espeak-ng greetings (cmn + en, 10-30 dB SNR, A-law)"
    rows: list[Result] = []
    live = _select.load("amd")
    cands: list[tuple[str, Any, bool]] = [
        ("Asterisk app_amd (defaults)", lambda it: asterisk_amd(it.pcm), True),
        ("Asterisk app_amd (silence_threshold 64)", lambda it: asterisk_amd(it.pcm, silence_threshold=64), False),
        ("e1cti AMD kernel", lambda it: _ours(live, it), False),
    ]
    for name, fn, ref in cands:
        right, times, beeps, machines, by = 0, [], 0, 0, {"human": [0, 0], "machine": [0, 0]}
        for it in items:
            got = fn(it)
            kind, at = (got.kind, got.at) if not isinstance(got, tuple) else got[:2]
            ok = kind == it.label
            right += ok
            by[it.label][0] += ok
            by[it.label][1] += 1
            times.append(at)
            if it.label == "machine" and isinstance(got, tuple):
                machines += 1
                beeps += got[2] is not None and abs(got[2] - it.beep_end_ms) <= 30.0
        note = (f"human {by['human'][0]}/{by['human'][1]}, machine {by['machine'][0]}/{by['machine'][1]}; "
                f"decision median {statistics.median(times) / 1000:.2f} s, p90 "
                f"{sorted(times)[int(0.9 * (len(times) - 1))] / 1000:.2f} s")
        if machines:
            note += f"; beep end within 30 ms: {beeps}/{machines}"
        rows.append(Result(bench, name, 100.0 * right / len(items), "% right", reference=ref, note=note))
    return rows


def speed_rows(items: list[Item], quick: bool) -> list[Result]:
    bench = "AMD kernel speed (20 ms blocks, one call)"
    pcm = items[1].pcm
    impls = [("twin (pure Python)", _select.twin("amd"), True)]
    c = _select.compiled("amd")
    if c is not None:
        impls.insert(0, ("compiled", c, False))
    out = []
    for name, mod, ref in impls:
        def step(mod: Any = mod) -> int:
            d = mod.AmdDetector(total_analysis=60000.0, initial_silence=60000.0)
            for i in range(0, len(pcm) - 159, 160):
                d.feed(pcm[i:i + 160])
            return len(pcm) // 160
        v = rate(step, seconds=0.1 if quick else 0.5, repeat=1 if quick else 3)
        out.append(Result(bench, name, v, "blocks/s", reference=ref, note=f"= {v / 50:,.0f} calls in real time"))
    return out


def run(quick: bool = False) -> list[Result]:
    results: list[Result] = []
    try:
        items = corpus(40 if quick else 200, seed=18)
    except CorpusUnavailable as e:
        print(f"AMD rows skipped: {e}")
        items = []
    if items:
        t = time.perf_counter()
        results += amd_rows(items)
        results += speed_rows(items, quick)
        print(f"AMD rows: {time.perf_counter() - t:.1f} s")
    results += pacing_rows(quick)
    results += full_simulator_rows(quick)
    return results


# ---- pacing on a virtual-time load ------------------------------------------------------------
#: What a number does when dialled (probabilities of a realistic consumer list) and how long it takes.
FATES = (("human", 0.30), ("machine", 0.12), ("busy", 0.10), ("no-answer", 0.38), ("unallocated", 0.10))


def simulate(mode: str, *, agents: int = 12, numbers: int = 3000, hours: float = 2.0, target: float = 0.03,
             seed: int = 1, trace: list[tuple[float, float, float]] | None = None) -> dict[str, float]:
    """One campaign of ``numbers`` on ``agents`` agents for ``hours`` of virtual time (0.5 s
    steps) through the real :class:`cti.outbound.campaign.Campaign` and its pacer. Machines are
    told apart by AMD 2.5 s after the answer and dropped; people 1.5 s after it (their greeting
    and the silence after it). Talk 30-240 s (mean about 90 s), wrap-up 10 s, preview 8 s.
    ``trace`` gets (minute, abandon rate so far, agents busy) once a virtual minute."""
    import heapq
    import random

    from cti.outbound.campaign import Campaign, Contact
    from cti.outbound.pacing import Pacer

    rng = random.Random(seed)
    names = [f for f, _ in FATES]
    weights = [w for _, w in FATES]
    fate = {f"139{i:08d}": rng.choices(names, weights)[0] for i in range(numbers)}
    pacer = Pacer(mode, target=target)
    c = Campaign("bench", "q", [Contact(n, {}) for n in fate], max_attempts={"busy": 2, "no-answer": 2},
                 retry_after=1800.0, no_answer_timeout=25.0, pacer=pacer)
    free_at = [0.0] * agents                        # when each agent is free again
    previewing: dict[int, float] = {}               # preview: agent -> when it dials
    waiting_call: dict[int, str] = {}               # preview: agent -> the attempt it waits on
    events: list[tuple[float, int, str, str]] = []
    seq = 0
    queue: list[str] = []
    answered_at_agent: set[str] = set()
    talk_total = connected = 0.0
    end = hours * 3600.0
    now = 0.0

    def outcome_of(d_attempt: str, number: str, t: float) -> None:
        nonlocal seq
        f = fate[number]
        if f == "human":
            at, o = t + rng.uniform(4.0, 18.0) + 1.5, "answered"
        elif f == "machine":
            at, o = t + rng.uniform(6.0, 20.0) + 2.5, "machine"
        elif f == "busy":
            at, o = t + rng.uniform(2.0, 4.0), "busy"
        elif f == "unallocated":
            at, o = t + rng.uniform(1.0, 3.0), "unallocated"
        else:
            at, o = t + 25.0, "no-answer"
        seq += 1
        heapq.heappush(events, (at, seq, d_attempt, o))

    def connect(a: int, attempt: str, talk_total: float, connected: float) -> tuple[float, float]:
        talk = min(240.0, max(30.0, rng.lognormvariate(4.4, 0.5)))
        free_at[a] = now + talk + 10.0
        c.agent_connected(attempt, now)
        pacer.handled(talk + 10.0)
        return talk_total + talk + 10.0, connected + 1

    while now < end and not c.finished:
        while events and events[0][0] <= now:
            _, _, attempt, o = heapq.heappop(events)
            if c.progress(attempt, o, now):
                queue.append(attempt)
            elif o == "answered":                   # a preview call: answered at the agent's own phone
                answered_at_agent.add(attempt)
        if mode == "preview":
            for a, att in list(waiting_call.items()):
                if att in answered_at_agent:        # the agent who dialled has the callee at once
                    answered_at_agent.discard(att)
                    del waiting_call[a]
                    talk_total, connected = connect(a, att, talk_total, connected)
                elif att not in c.dialling:         # no answer, busy ...: next record
                    del waiting_call[a]
            for a in range(agents):
                if free_at[a] > now or a in waiting_call:
                    continue
                if a not in previewing:
                    previewing[a] = now + 8.0
                elif previewing[a] <= now:
                    del previewing[a]
                    p = c.preview(now, f"a{a}")
                    if p is not None:
                        d = c.preview_dial(p.attempt, now)
                        waiting_call[a] = d.attempt
                        outcome_of(d.attempt, d.number, now)
        ready = [a for a in range(agents) if free_at[a] <= now and a not in waiting_call and a not in previewing]
        for ab in c.abandons(now):
            queue.remove(ab.attempt)
        while queue and ready:
            talk_total, connected = connect(ready.pop(0), queue.pop(0), talk_total, connected)
        if mode != "preview":
            busy = sum(1 for a in range(agents) if free_at[a] > now)
            for d in c.service(now, len(ready), busy):
                outcome_of(d.attempt, d.number, now)
        if trace is not None and now % 60.0 == 0.0:
            trace.append((now / 60.0, pacer.abandon_rate, sum(1 for a in range(agents) if free_at[a] > now) / agents))
        now += 0.5
    served = pacer.answered
    hrs = now / 3600.0
    return {"abandon": pacer.abandon_rate if served else 0.0, "occupancy": min(1.0, talk_total / (agents * now)),
            "per_agent_hour": connected / (agents * hrs), "connected": connected, "hours": hrs,
            "gain": pacer.gain, "abandoned": pacer.abandoned, "answered": served}


def pacing_rows(quick: bool) -> list[Result]:
    agents, numbers, hours = (10, 1500, 1.0) if quick else (12, 4000, 2.0)
    bench = f"Pacing: {agents} agents, {numbers} numbers, {hours:g} h virtual, abandon target 3 %"
    out = []
    for mode in ("preview", "progressive", "predictive"):
        r = simulate(mode, agents=agents, numbers=numbers, hours=hours)
        out.append(Result(bench, mode, r["per_agent_hour"], "connects/agent-h", reference=mode == "progressive",
                          note=f"abandon {100 * r['abandon']:.1f} % ({r['abandoned']:.0f}/{r['answered']:.0f}), "
                               f"occupancy {100 * r['occupancy']:.0f} %"))
    return out


def plot(path: str, agents: int = 12, numbers: int = 4000, hours: float = 2.0) -> None:
    """docs/outbound-pacing.png: the abandon rate and agent occupancy over time, per mode."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    for mode, colour in (("preview", "tab:green"), ("progressive", "tab:blue"), ("predictive", "tab:red")):
        tr: list[tuple[float, float, float]] = []
        simulate(mode, agents=agents, numbers=numbers, hours=hours, trace=tr)
        m = [t[0] for t in tr]
        ax1.plot(m, [100 * t[1] for t in tr], color=colour, label=mode)
        busy = [100 * t[2] for t in tr]
        smooth = [sum(busy[max(0, i - 4):i + 1]) / len(busy[max(0, i - 4):i + 1]) for i in range(len(busy))]
        ax2.plot(m, smooth, color=colour, label=mode)
    ax1.axhline(3.0, color="k", linestyle="--", linewidth=0.8, label="target 3 %")
    ax1.set_ylabel("abandon rate so far (%)")
    ax1.legend(loc="upper right")
    ax2.set_ylabel("agents busy (%, 5-min mean)")
    ax2.set_xlabel("virtual minutes")
    fig.suptitle(f"Outbound pacing: {agents} agents, {numbers} numbers")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


# ---- the same campaign on the whole server and the simulated exchanges (issue 18) ---------------
def _greeting(kind: str, rng: Any) -> Any:
    """What the called party sends once it answers, as a looping-free source ``read(n)``: a person
    says a short "喂?" (0.4-1.0 s of voice) and waits; a machine a 3-6 s announcement then a
    0.3-0.6 s beep (500-1400 Hz); silence afterwards (the agent, or nobody, talks next)."""
    import numpy as np

    from simulator.exchange.inband import RATE, SyntheticVoice
    voice = SyntheticVoice(seed=rng.randrange(1 << 30), level_dbm0=rng.uniform(-22.0, -14.0))
    pre = np.zeros(int(rng.uniform(0.1, 0.5) * RATE), dtype=np.int16)
    if kind == "human":
        parts = [pre, voice.read(int(rng.uniform(0.4, 1.0) * RATE))]
    else:
        n = int(rng.uniform(0.3, 0.6) * RATE)
        beep = (8000 * np.sin(2 * np.pi * rng.uniform(500, 1400) * np.arange(n) / RATE)).astype(np.int16)
        parts = [pre, voice.read(int(rng.uniform(3.0, 6.0) * RATE)), np.zeros(int(0.2 * RATE), np.int16), beep]
    clip = np.concatenate(parts)
    pos = [0]

    def read(n: int) -> Any:
        out = np.zeros(n, dtype=np.int16)
        chunk = clip[pos[0]:pos[0] + n]
        out[:len(chunk)] = chunk
        pos[0] += n
        return out
    return read


def full_simulator(mode: str = "predictive", *, agents: int = 10, numbers: int = 800, minutes: float = 20.0,
                   target: float = 0.03, seed: int = 1) -> dict[str, float]:
    """One campaign through the whole CTI server in virtual time: the dialler of the contact
    centre places real calls over an SS7 trunk (2 spans) to the simulated exchange, whose
    subscribers answer (people after 4-18 s, machines after 6-20 s), are busy, do not answer or
    are unallocated in FATES' shares; the answered party's greeting crosses the line as A-law
    audio and AMD decides on it (machines dropped); people reach simulated agents' desktops
    (answer 0.5-1.5 s, talk 30-150 s) through the ACD. Returns connects per agent-hour, the
    abandon rate, AMD's accuracy on the calls it judged, and the wall time."""
    import os
    import random
    import tempfile

    from cti.cli.wiring import build_server
    from cti.config import Config
    from cti.contact import ContactConfig, install
    from simulator.agents import DesktopProfile, start_desktops
    from simulator.exchange.base import Behaviour, Subscriber

    rng = random.Random(seed)
    names, weights = [f for f, _ in FATES], [w for _, w in FATES]
    fate = {f"139{i:08d}": rng.choices(names, weights)[0] for i in range(numbers)}
    tmp = tempfile.mkdtemp(prefix="bench-outbound-")
    csv = os.path.join(tmp, "numbers.csv")
    with open(csv, "w") as f:
        f.write("number\n" + "".join(f"{n}\n" for n in fate))
    from cti.media import wavfile
    from simulator.exchange.inband import RATE, SyntheticVoice
    prompts = os.path.join(tmp, "prompts")
    os.makedirs(prompts)
    # the abandoned callee's message (2 s of voice): never silence
    wavfile.write(os.path.join(prompts, "sorry.wav"), SyntheticVoice(seed=7).read(2 * RATE), fmt=wavfile.FORMAT_PCM)
    any_ep = "tcp://127.0.0.1:*"
    cfg = Config.from_dict({
        "server": {"store": os.path.join(tmp, "cti.db")},
        "bus": {"events": any_ep, "snapshot": any_ep, "control": any_ep},
        "board": {"driver": "sim", "spans": 2, "clock": "virtual", "step": 0.1},
        "trunk": [{"signalling": "ss7", "spans": [0, 1]}]})
    srv = build_server(cfg).start()
    desks = {f"o{i}": f"30{i:02d}" for i in range(agents)}
    campaign = {"csv": csv, "queue": "out", "mode": mode, "target": target, "abandon_after": 2.0,
                "abandon_message": "sorry", "amd": "drop", "max_attempts": 1, "no_answer_timeout": 25.0}
    centre = install(srv, ContactConfig.from_dict({
        "recordings": os.path.join(tmp, "rec"), "prompts": prompts, "agents": {a: {"device": d, "wrap_up": 10.0} for a, d in desks.items()},
        "queues": {"out": {"strategy": "longest-idle"}}, "campaigns": {"bench": campaign}}))
    behaviour = {"human": Behaviour.ANSWER, "machine": Behaviour.ANSWER, "busy": Behaviour.BUSY,
                 "no-answer": Behaviour.NO_ANSWER, "unallocated": Behaviour.UNALLOCATED}
    network: Any = srv.part("network")
    ex = network.networks[0]
    for n, what in fate.items():
        after = rng.uniform(4.0, 18.0) if what == "human" else rng.uniform(6.0, 20.0)
        ex.subscribers[n] = Subscriber(n, behaviour[what], answer_after=after, hold_for=None)
    player, play = ex.inband, ex.inband.play

    def greet(circuit: tuple[int, int], what: str | None, now: float) -> None:
        """The answering party's audio: its greeting instead of the exchange's endless talker."""
        play(circuit, what, now)
        if what == "voice":
            rec = next((r for r in reversed(ex.records) if r.circuit == circuit and r.cleared_at is None), None)
            kind = fate.get(rec.called if rec else "", "human")
            player.playing[circuit] = ("voice", _greeting(kind, rng))
    player.play = greet
    t0 = time.perf_counter()
    try:
        end = srv.now() + 10.0
        while not ex.up and srv.now() < end:           # the SS7 link aligns first
            srv.step(0)
        bus, desktops = start_desktops(srv, desks, DesktopProfile(answer_after=(0.5, 1.5), handle=(30.0, 150.0)),
                                       seed=seed)
        bus.command("StartCampaign", campaign="bench")
        start = srv.now()
        end = start + minutes * 60.0
        while srv.now() < end:
            srv.step(0)
        camp = centre.dialler.running["bench"][0]
        pacer = camp.pacer
        connects = sum(1 for d in desktops for _, action, _ in d.log if action == "answered")
        judged = [(r.amd, fate.get(r.number.removeprefix("+86"), "")) for r in centre.dialler.results if r.amd]
        right = sum(1 for verdict, truth in judged if verdict == truth)
        hours = (srv.now() - start) / 3600.0
        return {"per_agent_hour": connects / (agents * hours), "connects": connects, "hours": hours,
                "abandon": pacer.abandon_rate if pacer is not None else 0.0,
                "abandoned": pacer.abandoned if pacer is not None else 0,
                "answered": pacer.answered if pacer is not None else 0,
                "amd_right": right, "amd_judged": len(judged), "dialled": len(centre.dialler.results),
                "wall": time.perf_counter() - t0}
    finally:
        srv.close()


def full_simulator_rows(quick: bool) -> list[Result]:
    agents, numbers, minutes = (4, 120, 4.0) if quick else (10, 800, 20.0)
    bench = (f"Pacing on the whole server and simulated SS7 exchange: {agents} agents, {numbers} numbers, "
             f"{minutes:g} virtual min, target 3 %")
    out = []
    for mode in ("progressive", "predictive"):
        r = full_simulator(mode, agents=agents, numbers=numbers, minutes=minutes)
        out.append(Result(bench, mode, r["per_agent_hour"], "connects/agent-h", reference=mode == "progressive",
                          note=f"abandon {100 * r['abandon']:.1f} % ({r['abandoned']:.0f}/{r['answered']:.0f}), "
                               f"{r['connects']} connects, {r['dialled']} outcomes; AMD right "
                               f"{r['amd_right']}/{r['amd_judged']} on the line's audio; {r['wall']:.0f} s wall"))
    return out
