"""Queue configuration, waiting calls, and the queue events published on ``queue.<name>``."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from .strategies import Strategy

#: Overflow target meaning "play the voicemail prompt" instead of another queue.
VOICEMAIL = "voicemail"


@dataclass
class QueueConfig:
    """One ACD queue, as written in the ``[queues.<name>]`` table of the server's TOML config."""

    name: str
    strategy: Strategy = Strategy.LONGEST_IDLE
    members: list[str] = field(default_factory=list)      #: agent ids in order; empty: any agent with the skills
    skills: dict[str, int] = field(default_factory=dict)  #: required skill -> minimum level
    skill_priority: bool = False       #: higher level in the first skill first
    ring_timeout: float = 15.0         #: seconds an agent rings before the call goes back (ring no answer)
    max_wait: float | None = None      #: seconds in queue before overflow
    overflow: str | None = None        #: another queue's name, or "voicemail"
    max_callers: int | None = None     #: callers beyond this overflow at once
    sticky: bool = True                #: offer first to the agent who last served this caller, if ready
    announce_every: float | None = 30.0  #: position / expected wait announcement period
    route_request_timeout: float | None = None  #: CRM decides: RouteRequest, default route after this
    service_level: float = 20.0        #: threshold (s) for the service level statistics
    record: bool = False               #: record every call answered from this queue

    @classmethod
    def from_dict(cls, name: str, d: dict[str, Any]) -> QueueConfig:
        known = {f.name for f in fields(cls)} - {"name"}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"queue {name!r}: unknown keys {sorted(unknown)}; known: {sorted(known)}")
        kw = dict(d)
        if "strategy" in kw:
            kw["strategy"] = Strategy.parse(str(kw["strategy"]))
        cfg = cls(name=name, **kw)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        for key in ("ring_timeout", "max_wait", "announce_every", "route_request_timeout", "service_level"):
            v = getattr(self, key)
            if v is not None and (not isinstance(v, (int, float)) or v <= 0):
                raise ValueError(f"queue {self.name!r}: {key} must be a positive number of seconds, not {v!r}")
        if self.max_wait is not None and self.overflow is None:
            raise ValueError(f"queue {self.name!r}: max_wait needs an overflow target (a queue or 'voicemail')")
        for skill, level in self.skills.items():
            if not isinstance(level, int) or not 0 <= level <= 100:
                raise ValueError(f"queue {self.name!r}: skill {skill!r} level must be 0..100, not {level!r}")


@dataclass
class QueuedCall:
    """A call waiting in (or being offered from) a queue."""

    call_id: str
    queue: str
    caller: str
    priority: int
    enqueued_at: float
    order: int                          #: arrival order, tie-break after priority
    ringing: list[str] = field(default_factory=list)
    ring_deadline: float | None = None
    tried: set[str] = field(default_factory=set)
    route_id: str | None = None
    route_deadline: float | None = None
    next_announce: float | None = None

    def sort_key(self) -> tuple[int, int]:
        return (-self.priority, self.order)


@dataclass(frozen=True)
class QueueEvent:
    """An ACD event for the bus (topic ``queue.<queue>``). ``type`` is the event name."""

    type: str          #: Queued, RouteRequest, Offered, Diverted, Abandoned, Connected, Announce, RingNoAnswer
    queue: str
    call: str
    time: float
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, "queue": self.queue, "call": self.call, "time": self.time, **self.data}
