"""How many numbers to dial now: preview, progressive or predictive pacing (sans-IO).

* ``preview``: nothing is dialled by the pacer; an agent is shown the next record and chooses to
  dial it (:meth:`cti.outbound.campaign.Campaign.preview`).
* ``progressive``: calls dialling + answered calls waiting for an agent <= ready agents x
  ``ratio`` (1.0: no answered callee ever waits for an agent).
* ``predictive``: dial ahead of the agents. From the campaign's own recent history (the last
  ``window`` attempts and calls) the pacer estimates the answer probability ``p`` (answered /
  dialled), the setup time ``tau`` (dial to answer) and the handling time ``h`` (answer to
  agent free); agents expected free within ``tau`` are the ready ones plus each busy one with
  probability ``min(1, tau / h)``; it dials until the answers expected from the calls in flight
  reach ``gain`` x that number. ``gain`` is steered so that the **abandon rate** converges to
  ``target``: each answered callee who reached an agent in time raises it by
  ``step x target / (1 - target)``, each abandoned one lowers it by ``step``; the two balance
  exactly when abandoned / answered = ``target`` (a stochastic-approximation controller).
  While the campaign's abandon rate so far is above ``target`` the gain is not raised: the
  controller alone oscillates around the target and ended campaigns at 3.2-3.6 % for a 3 %
  target; held so, they end at 2.5-2.9 % with the same calls per agent-hour (within 1 %).

**Abandon rate** = answered callees (people, not machines) who waited more than
``abandon_after`` seconds (default 2 s, the usual regulatory figure) for an agent, over all
answered callees, counted over the campaign. Such callees hear the campaign's abandon
message and are released.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

MODES = ("preview", "progressive", "predictive")


class PacingError(ValueError):
    """A pacing setting out of range."""


@dataclass
class Pacer:
    mode: str = "progressive"
    ratio: float = 1.0               #: progressive: calls per ready agent
    target: float = 0.03             #: predictive: abandon-rate target, 0.001..0.2
    abandon_after: float = 2.0       #: seconds an answered callee may wait for an agent
    window: int = 300                #: history kept for the estimates
    step: float = 0.05               #: gain controller step
    max_gain: float = 4.0
    max_lines: float = 3.0           #: predictive: never more calls dialling than this per agent
    warmup: int = 20                 #: predictive dials progressively until this many answers are known
    gain: float = 0.5                #: starts cautious; steered by the abandon rate
    attempts: deque[tuple[bool, float]] = field(default_factory=deque)   #: (answered, setup s)
    handles: deque[float] = field(default_factory=deque)                 #: agent seconds per call
    answered: int = 0
    abandoned: int = 0

    def __post_init__(self) -> None:
        self.set_mode(self.mode)
        for name, v, lo, hi in (("target", self.target, 0.001, 0.2), ("abandon_after", self.abandon_after, 0.5, 60.0),
                                ("ratio", self.ratio, 0.1, 5.0)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
                raise PacingError(f"pacing {name} must be {lo}..{hi}, not {v!r}")

    def set_mode(self, mode: str) -> None:
        """Switch mode (a running campaign may switch at any time; history is kept)."""
        if mode not in MODES:
            raise PacingError(f"pacing mode must be one of {MODES}, not {mode!r}")
        self.mode = mode

    # -- history --------------------------------------------------------------------------------
    def attempt_done(self, answered: bool, setup: float) -> None:
        self.attempts.append((answered, max(0.0, setup)))
        while len(self.attempts) > self.window:
            self.attempts.popleft()

    def handled(self, seconds: float) -> None:
        self.handles.append(max(0.0, seconds))
        while len(self.handles) > self.window:
            self.handles.popleft()

    def callee_served(self, abandoned: bool) -> None:
        """An answered callee reached an agent in time, or was abandoned: steer the gain."""
        self.answered += 1
        if abandoned:
            self.abandoned += 1
            self.gain = max(0.05, self.gain - self.step)
        elif self.abandoned <= self.target * self.answered:     # over the target so far: hold
            self.gain = min(self.max_gain, self.gain + self.step * self.target / (1.0 - self.target))

    @property
    def abandon_rate(self) -> float:
        return self.abandoned / self.answered if self.answered else 0.0

    def estimates(self) -> tuple[float, float, float]:
        """(answer probability, mean setup seconds, mean handling seconds), with priors while
        the history is short (1 answer in 3 weighing as 10 attempts, 15 s, 120 s). The quick
        failures (busy, unallocated) end first, so a young history underestimates ``p``: hence
        the prior, the floor of 0.05 and the cap on lines per agent."""
        n = len(self.attempts)
        answered = [s for a, s in self.attempts if a]
        p = max(0.05, (len(answered) + 10.0 / 3.0) / (n + 10.0))
        tau = (sum(answered) + 15.0) / (len(answered) + 1.0)
        h = (sum(self.handles) + 120.0) / (len(self.handles) + 1.0)
        return p, tau, h

    # -- the decision ---------------------------------------------------------------------------
    def how_many(self, ready: int, busy: int, dialling: int, waiting: int) -> int:
        """New dials now, given ready and busy agents, calls dialling and answered calls waiting."""
        if self.mode == "preview":
            return 0
        if self.mode == "progressive":
            return max(0, int(ready * self.ratio) - dialling - waiting)
        if ready + busy == 0:
            return 0
        if sum(1 for a, _ in self.attempts if a) < self.warmup:     # too little history: progressive
            return max(0, ready - dialling - waiting)
        p, tau, h = self.estimates()
        free = ready + busy * min(1.0, tau / h) - waiting
        want = min(self.gain * free / p, (ready + busy) * self.max_lines) - dialling
        return max(0, math.floor(want))
