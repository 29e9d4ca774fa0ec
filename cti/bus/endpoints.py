"""Where the bus listens and the limits it enforces (the ``[bus]`` part of the configuration)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Endpoints:
    """The three sockets' endpoints (``tcp://127.0.0.1:*`` binds a free port)."""

    events: str = "tcp://127.0.0.1:5560"
    snapshot: str = "tcp://127.0.0.1:5561"
    control: str = "tcp://127.0.0.1:5562"


#: events queued per subscriber by default (docs/bus.md "Slow subscribers")
SUBSCRIBER_BUFFER = 50_000


@dataclass
class Limits:
    """What one client may ask of the bus (docs/bus.md "Robustness")."""

    max_request: int = 64 * 1024       #: larger requests get MalformedRequestError
    max_frame: int = 1 << 20           #: ZMQ_MAXMSGSIZE: a peer sending more is disconnected
    rate: float = 500.0                #: requests per second per account (token bucket)
    burst: float = 1000.0
    batch: int = 256                   #: requests served per socket per poll (fairness)
    replay_limit: int = 1000           #: events per replay / watch message
    ring: int = 100_000                #: recent events kept in memory for fast replay
    watch_ttl: float = 30.0
    max_watchers: int = 1000
    #: events queued for one subscriber at most: the PUB socket's high-water mark per subscriber
    #: (beyond it ZeroMQ drops, the subscriber sees the jump in seq and replays), and how far a
    #: watcher may lag before it is moved on and told the seqs it missed (an ``overflow`` message)
    subscriber_buffer: int = SUBSCRIBER_BUFFER

    def __post_init__(self) -> None:
        for name in ("max_request", "max_frame", "batch", "replay_limit", "ring", "max_watchers",
                     "subscriber_buffer"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"bus limit {name} must be >= 1, not {getattr(self, name)!r}")
        if self.rate <= 0 or self.burst < 1 or self.watch_ttl <= 0:
            raise ValueError("bus limits rate, watch_ttl must be > 0 and burst >= 1")
