"""Timers as data: each with its spec clause, default and allowed range (libosmocore style)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TimerSpec:
    """One protocol timer as the recommendation defines it."""

    name: str          #: "T7"
    default: float     #: seconds
    low: float         #: lowest value the recommendation allows, seconds
    high: float        #: highest value, seconds
    clause: str        #: "Q.764 2.1.5 / Table A.1"
    description: str

    def check(self, value: float) -> float:
        if not self.low <= value <= self.high:
            raise ValueError(f"{self.name}={value}s outside {self.low}..{self.high}s ({self.clause})")
        return value


class Timers:
    """Running timers of one state machine. Deadlines are absolute times (``now`` passed in)."""

    def __init__(self, specs: dict[str, TimerSpec], overrides: dict[str, float] | None = None) -> None:
        self.specs = specs
        self.values: dict[str, float] = {n: s.default for n, s in specs.items()}
        for name, value in (overrides or {}).items():
            if name not in specs:
                raise ValueError(f"unknown timer {name!r}; known: {', '.join(sorted(specs))}")
            self.values[name] = specs[name].check(float(value))
        self.running: dict[str, float] = {}

    def start(self, name: str, now: float, value: float | None = None) -> None:
        self.running[name] = now + (self.values[name] if value is None else value)

    def stop(self, name: str) -> None:
        self.running.pop(name, None)

    def stop_all(self) -> None:
        self.running.clear()

    def is_running(self, name: str) -> bool:
        return name in self.running

    def deadline(self) -> float | None:
        """The earliest deadline of any running timer, or None."""
        return min(self.running.values(), default=None)

    def expired(self, now: float) -> list[str]:
        """Remove and return the timers due at ``now``, earliest first."""
        due = sorted((t, n) for n, t in self.running.items() if t <= now)
        for _, name in due:
            del self.running[name]
        return [name for _, name in due]
