"""Call scripts for the simulator: load, mix, DTMF typed by callers, and a demo "agent" side.

A :class:`Scenario` places calls to us through *networks* (simulated exchanges, or a
:class:`LoopbackNetwork` around :class:`cti.call.loopback.LoopbackTrunk`) at a Poisson rate
with callers, called numbers, hold and abandon times drawn from a seeded RNG, and plays
our side too: it answers offered calls after a delay and places outgoing calls now and then,
through the call model's own commands. ``cti-server`` with no arguments runs the default
scenario so a new user sees live events at once. TOML form (all keys optional)::

    [scenario]
    seed = 1
    rate = 0.5                      # calls per second from the network to us
    called = ["8001", "8002", "8003"]
    caller_prefix = "138"           # callers: prefix + random digits (11 digits in all) ...
    callers = ["13800138000"]       # ... or, for callers_share of the calls, one of these numbers
    callers_share = 0.5
    hold = [5.0, 20.0]              # far end clears this long after answer (range)
    abandon = 0.1                   # fraction of callers who give up while ringing ...
    abandon_after = [2.0, 6.0]      # ... after this long
    digits = ["", "", "1#"]         # DTMF a caller types after answer (one picked per call)
    answer_after = [1.0, 4.0]       # our side answers offered calls this long after Delivered
    outbound_rate = 0.05            # our outgoing calls per second
    outbound_numbers = ["6601"]
    outbound_device = "9000"
    [[scenario.call]]               # explicit scripted calls (simulator.exchange.base.CallScript)
    at = 1.0
    called = "8001"
    calling = "13800138000"
    expect = "answered"             # the outcome the exchange must record (checked by --until runs)
    [scenario.expect]               # the run summary's counts: N or [low, high] (EXPECT_KEYS)
    answered = [1, 5]
    lost = 0
    [scenario.subscribers.13900000003]   # how a number we call responds (simulator.exchange.base.Subscriber)
    behaviour = "busy_tone"         # answer, no_answer, busy, unallocated, congestion (in signalling),
                                    # busy_tone, congestion_tone (alerting + the tone in band)
    pbx = false                     # true: a PBX answers the trunk at once, the rest is in band
    answer_after = 2.0
    hold_for = 10.0
    speech = true                   # the answering party talks (in band)

Subscribers go to every simulated exchange of the networks (docs/simulator.md "In-band tones").
The format, expectations and deterministic runs are documented in docs/scenarios.md.
"""
from __future__ import annotations

import random
import tomllib
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

from cti.call.errors import CallControlError
from cti.call.loopback import LoopbackTrunk
from cti.signaling.trunk import TrunkError
from simulator.exchange.base import CallScript, Subscriber


class Network(Protocol):
    """What a scenario needs from the far side: somewhere to place scripted calls."""

    def place_call(self, script: CallScript) -> None: ...


@dataclass
class ScenarioConfig:
    seed: int = 1
    rate: float = 0.5
    called: list[str] = field(default_factory=lambda: ["8001", "8002", "8003"])
    caller_prefix: str = "138"
    #: numbers that call us, drawn for ``callers_share`` of the calls (the CRM example's customers,
    #: so the demo's screen-pops find records); the other callers are prefix + random digits
    callers: list[str] = field(default_factory=lambda: ["13800138000", "13900001111", "13811112222", "13955556666"])
    callers_share: float = 0.5
    hold: tuple[float, float] = (5.0, 20.0)
    abandon: float = 0.1
    abandon_after: tuple[float, float] = (2.0, 6.0)
    digits: list[str] = field(default_factory=lambda: ["", "", "1#"])
    answer_after: tuple[float, float] = (1.0, 4.0)
    outbound_rate: float = 0.05
    outbound_numbers: list[str] = field(default_factory=lambda: ["6601", "6602"])
    outbound_device: str = "9000"
    acd_numbers: list[str] = field(default_factory=list)   # route points the contact centre serves
    subscribers: dict[str, Subscriber] = field(default_factory=dict)   # numbers we call -> behaviour
    calls: list[CallScript] = field(default_factory=list)
    #: per scripted call (same order as ``calls``): the outcome the exchange must see, or None
    call_expect: list[str | None] = field(default_factory=list)
    #: aggregate expectations: summary key -> exact count or [low, high] (see :func:`check`)
    expect: dict[str, tuple[int, int]] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ScenarioConfig:
        d = dict(d.get("scenario", d))
        known = {f.name for f in fields(cls)}
        raw_calls = d.pop("call", [])
        if not isinstance(raw_calls, list) or not all(isinstance(c, dict) for c in raw_calls):
            raise ValueError("scenario call: an array of tables ([[scenario.call]])")
        call_expect = [_call_expect(i, c.get("expect")) for i, c in enumerate(raw_calls)]
        calls = []
        for i, c in enumerate(raw_calls):
            try:
                calls.append(CallScript(**{k: v for k, v in c.items() if k != "expect"}))
            except TypeError as e:
                raise ValueError(f"scenario call {i}: {e}") from None
        expect = _expect(d.pop("expect", {}))
        subs = d.pop("subscribers", {})
        if not isinstance(subs, dict):
            raise ValueError("scenario subscribers: a table of number -> {behaviour, pbx, ...}")
        d["subscribers"] = {str(n): _subscriber(str(n), s) for n, s in subs.items()}
        bad = set(d) - known
        if bad:
            raise ValueError(f"unknown scenario key(s): {', '.join(sorted(bad))}")
        for k in ("hold", "abandon_after", "answer_after"):
            if k in d:
                lo, hi = d[k]
                if not 0 <= lo <= hi:
                    raise ValueError(f"scenario {k} must be [low, high] with 0 <= low <= high")
                d[k] = (float(lo), float(hi))
        cfg = cls(**d, calls=calls, call_expect=call_expect, expect=expect)
        if cfg.rate < 0 or cfg.outbound_rate < 0 or not 0 <= cfg.abandon <= 1:
            raise ValueError("scenario rates must be >= 0 and abandon in 0..1")
        if not cfg.called:
            raise ValueError("scenario needs at least one called number")
        return cfg

    @classmethod
    def load(cls, path: str) -> ScenarioConfig:
        with open(path, "rb") as f:
            return cls.from_dict(tomllib.load(f))


#: outcomes a scripted call may be expected to have (as the exchange saw it: CallRecord.outcome)
CALL_OUTCOMES = ("answered", "abandoned", "busy", "unallocated", "congestion", "no_answer", "failed")
#: keys of ``[scenario.expect]``: the run summary's counts (cti-server --until, docs/scenarios.md)
EXPECT_KEYS = ("calls", "inbound", "outbound", "answered", "unanswered", "busy", "failed", "open",
               "lost", "errors", "events")


def _call_expect(i: int, value: Any) -> str | None:
    if value is None:
        return None
    if value not in CALL_OUTCOMES:
        raise ValueError(f"scenario call {i}: expect must be one of {', '.join(CALL_OUTCOMES)}, not {value!r}")
    return str(value)


def _expect(table: Any) -> dict[str, tuple[int, int]]:
    """``[scenario.expect]``: key = count | [low, high]."""
    if not isinstance(table, dict):
        raise ValueError("scenario expect: a table of count = N or [low, high]")
    out = {}
    for key, v in table.items():
        if key not in EXPECT_KEYS:
            raise ValueError(f"scenario expect: unknown key {key!r}; known: {', '.join(EXPECT_KEYS)}")
        if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
            out[key] = (v, v)
        elif (isinstance(v, list) and len(v) == 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in v)
              and 0 <= v[0] <= v[1]):
            out[key] = (v[0], v[1])
        else:
            raise ValueError(f"scenario expect {key}: a count >= 0 or [low, high], not {v!r}")
    return out


def check(config: ScenarioConfig, summary: dict[str, int], records: list[Any]) -> list[str]:
    """What a run did not meet: every ``[scenario.expect]`` count against ``summary`` (the run's
    counts, :data:`EXPECT_KEYS`), every ``expect`` of a scripted call against the exchanges'
    ``records`` of it. Empty: all met."""
    out = []
    for key, (lo, hi) in sorted(config.expect.items()):
        count = summary.get(key, 0)
        if not lo <= count <= hi:
            span = str(lo) if lo == hi else f"{lo}..{hi}"
            out.append(f"expected {key} {span}, got {count}")
    for i, (script, want) in enumerate(zip(config.calls, config.call_expect, strict=True)):
        if want is None:
            continue
        recs = [r for r in records if r.extra.get("script") is script]
        outcome = str(recs[0].outcome) if recs else "not placed"
        if outcome != want:
            out.append(f"call {i} ({script.calling} -> {script.called} at {script.at:g} s): "
                       f"expected {want}, got {outcome}")
    return out


def lost_calls(networks: list[Any]) -> list[str]:
    """Calls the network meant to place to us that never became a call: no circuit could be
    seized (every circuit busy, a span down) or, at the end of a run, never finished."""
    out = []
    for net in networks:
        out += [f"{s.calling} -> {s.called} at {s.at:g} s: not placed (every circuit busy)"
                for s in getattr(net, "lost_scripts", [])]
        for r in getattr(net, "records", []):
            if r.direction == "to_us" and "error" in r.extra:
                out.append(f"{r.calling} -> {r.called} at {r.seized_at:g} s: {r.extra['error']}")
    return out


def _subscriber(number: str, spec: Any) -> Subscriber:
    """A ``[scenario.subscribers.<number>]`` table as a Subscriber; a bad key or value: ValueError."""
    if not isinstance(spec, dict):
        raise ValueError(f"scenario subscriber {number}: a table, not {spec!r}")
    known = {f.name for f in fields(Subscriber)} - {"number"}
    bad = set(spec) - known
    if bad:
        raise ValueError(f"scenario subscriber {number}: unknown key(s) {sorted(bad)}; known: {sorted(known)}")
    try:
        sub = Subscriber(number, **spec)
    except ValueError as e:
        raise ValueError(f"scenario subscriber {number}: {e}") from None
    if not isinstance(sub.pbx, bool) or not isinstance(sub.speech, bool):
        raise ValueError(f"scenario subscriber {number}: pbx and speech are true or false")
    if not 0 <= float(sub.answer_after) <= 3600 or (sub.hold_for is not None and not 0 <= float(sub.hold_for) <= 86400):
        raise ValueError(f"scenario subscriber {number}: answer_after / hold_for out of range")
    return sub


class Scenario:
    """Drives networks and our side by the config (see the module docstring). Time is passed in."""

    def __init__(self, config: ScenarioConfig, networks: list[Network], model: Any = None,
                 start: float = 0.0) -> None:
        if not networks:
            raise ValueError("a scenario needs at least one network")
        self.config = config
        self.networks = networks
        self.model = model
        self.rng = random.Random(config.seed)
        self.placed = 0
        self.answered = 0
        self.outbound = 0
        self._next_in = start + self._gap(config.rate)
        self._next_out = start + self._gap(config.outbound_rate)
        self._answer_at: dict[str, float] = {}
        for net in networks:
            table = getattr(net, "subscribers", None)
            if isinstance(table, dict):
                table.update(config.subscribers)
        for i, script in enumerate(config.calls):
            networks[i % len(networks)].place_call(script)

    def finished(self) -> bool:
        """Only scripted calls (no rates) and every one has been placed and has ended."""
        c = self.config
        if c.rate > 0 or (c.outbound_rate > 0 and self.model is not None):
            return False
        for net in self.networks:
            if getattr(net, "pending", None):
                return False
            if any(r.cleared_at is None and "error" not in r.extra for r in getattr(net, "records", [])):
                return False
        return not (self.model is not None and self.model.calls)

    def _gap(self, rate: float) -> float:
        return self.rng.expovariate(rate) if rate > 0 else float("inf")

    def _script(self, at: float) -> CallScript:
        c, r = self.config, self.rng
        if c.callers and r.random() < c.callers_share:
            calling = r.choice(c.callers)
        else:
            calling = c.caller_prefix + "".join(r.choice("0123456789") for _ in range(max(0, 11 - len(c.caller_prefix))))
        abandon = r.uniform(*c.abandon_after) if r.random() < c.abandon else None
        return CallScript(at=at, called=r.choice(c.called), calling=calling, hold_for=r.uniform(*c.hold),
                          abandon_after=abandon, digits=r.choice(c.digits) if c.digits else "")

    def on_event(self, event: Any) -> None:
        """Feed every call event (objects or dicts); our side answers what is delivered to it."""
        get = event.get if isinstance(event, dict) else (lambda k, d=None: getattr(event, k, d))
        kind = get("type") or type(event).__name__
        if (kind == "Delivered" and get("direction") == "in" and not str(get("device", "")).startswith("trunk/")
                and get("called") not in self.config.acd_numbers):   # the ACD answers those
            self._answer_at[str(get("call"))] = -1.0     # time filled in at the next tick
        elif kind == "CallCleared":
            self._answer_at.pop(str(get("call")), None)

    def deadline(self) -> float | None:
        """When :meth:`tick` next has something to do (an answer just delivered: at once)."""
        ds = [self._next_in]
        if self.model is not None:
            ds.append(self._next_out)
            ds += [at if at >= 0 else float("-inf") for at in self._answer_at.values()]
        due = min(ds)
        return None if due == float("inf") else due

    def tick(self, now: float) -> None:
        """Place the calls due by ``now`` and act for our side."""
        while self._next_in <= now:
            net = self.networks[self.placed % len(self.networks)]
            net.place_call(self._script(self._next_in))
            self.placed += 1
            self._next_in += self._gap(self.config.rate)
        if self.model is None:
            return
        for call, at in list(self._answer_at.items()):
            if at < 0:
                self._answer_at[call] = now + self.rng.uniform(*self.config.answer_after)
            elif at <= now:
                del self._answer_at[call]
                try:
                    self.model.answer_call(call, now)
                    self.answered += 1
                except CallControlError:
                    pass                             # the caller gave up meanwhile
        while self._next_out <= now:
            self._next_out += self._gap(self.config.outbound_rate)
            try:
                self.model.make_call(self.config.outbound_device, self.rng.choice(self.config.outbound_numbers), now)
                self.outbound += 1
            except CallControlError:
                pass                                 # all circuits busy: try next time


class LoopbackNetwork:
    """Plays a scripted far end on a :class:`LoopbackTrunk` (the demo without a board)."""

    def __init__(self, trunk: LoopbackTrunk) -> None:
        self.trunk = trunk
        self.pending: list[CallScript] = []
        self.lost = 0                                #: calls not placed: every circuit busy
        self.lost_scripts: list[CallScript] = []     #: those calls
        self._calls: dict[tuple[int, int], CallScript] = {}
        self._abandon: dict[tuple[int, int], float] = {}
        trunk.on_request = self._on_request

    def place_call(self, script: CallScript) -> None:
        self.pending.append(script)
        self.pending.sort(key=lambda s: s.at)

    def deadline(self) -> float | None:
        """When :meth:`service` next has something to do (a scripted call, a caller giving up)."""
        ds = [s.at for s in self.pending[:1]] + list(self._abandon.values())
        return min(ds) if ds else None

    def _on_request(self, what: str, circ: tuple[int, int], t: float) -> None:
        s = self._calls.get(circ)
        if what == "answer" and s is not None:
            self._abandon.pop(circ, None)
            if s.digits:
                self.trunk.far_digits(circ, s.digits, t + 1.0)
            if s.hold_for is not None:
                self.trunk.far_clear(circ, t + s.hold_for)
        elif what == "release":
            self._calls.pop(circ, None)
            self._abandon.pop(circ, None)

    def service(self, now: float) -> None:
        """Start the scripted calls due by ``now``; callers who waited too long give up."""
        while self.pending and self.pending[0].at <= now:
            s = self.pending.pop(0)
            try:
                circ = self.trunk.ring(s.called, s.calling, s.at)
            except TrunkError:
                self.lost += 1
                self.lost_scripts.append(s)
                continue
            self._calls[circ] = s
            if s.abandon_after is not None:
                self._abandon[circ] = s.at + s.abandon_after
        for circ, t in list(self._abandon.items()):
            if t <= now:
                del self._abandon[circ]
                if self.trunk.state.get(circ) == "in":
                    self.trunk.far_clear(circ, now)
