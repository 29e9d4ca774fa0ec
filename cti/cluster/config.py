"""The ``[cluster]`` section of a cti-server configuration: which NATS servers carry the
cluster's event stream, and how the stream is made. Absent, the server is a single node
exactly as before (no NATS, no new thread); present, the node's name (``[server] node``) must
be set and unique in the cluster: it prefixes call ids and names the node's subject.

    [server]
    node = "a"                        # unique per node: call ids are "a-1", "a-2", ...

    [cluster]
    servers = ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222", "nats://10.0.0.3:4222"]
    stream = "CTI"                    # the JetStream stream every node publishes into
    replicas = 3                      # copies of each event (one per NATS server)
    duplicate_window = 120.0          # seconds JetStream remembers a msg id (dedup by node + seq)
    max_age = 604800.0                # seconds an event stays on the stream (0: forever)
    centre = "postgresql://cti@10.0.0.9/centre"   # the centre's database: agents, queued callers, the ACD lease
    lease_ttl = 3.0                   # seconds without renewal before a standby takes a lease over
    dead_after = 5.0                  # seconds without a node's heartbeat before its callers are cleared
    ties = { b = 1 }                  # span 1 is an E1 tie span (PRI) to node b's board
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

#: a NATS subject token: the node name goes into ``<prefix>.<node>``
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ClusterConfigError(ValueError):
    """A ``[cluster]`` section that cannot work; ``problems`` lists every one."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class ClusterConfig:
    """See the module docstring."""

    servers: list[str] = field(default_factory=lambda: ["nats://127.0.0.1:4222"])
    stream: str = "CTI"
    subject: str = "cti.events"        #: node ``a`` publishes on ``cti.events.a``
    replicas: int = 3
    duplicate_window: float = 120.0
    max_age: float = 7 * 86400.0
    window: int = 1024                 #: events in flight to JetStream (unacknowledged) at most
    backlog: int = 200_000             #: events held in memory for the relay; beyond, read later from the journal
    connect_timeout: float = 2.0
    centre: str = ""                   #: PostgreSQL URL of the centre's shared state ('' : none, docs/cluster.md)
    lease_ttl: float = 3.0
    dead_after: float = 5.0
    ties: dict[str, int] = field(default_factory=dict)   #: node -> this board's tie span towards it

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClusterConfig:
        """The section as parsed TOML; every problem at once in one ClusterConfigError."""
        problems: list[str] = []
        if not isinstance(data, dict):
            raise ClusterConfigError(["[cluster] must be a table"])
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            problems.append(f"[cluster] unknown key(s): {', '.join(unknown)}")
        cfg = cls(**{k: v for k, v in data.items() if k in known})
        problems += cfg.problems()
        if problems:
            raise ClusterConfigError(problems)
        return cfg

    def problems(self) -> list[str]:
        out: list[str] = []
        if (not isinstance(self.servers, list) or not self.servers
                or not all(isinstance(s, str) and s.startswith(("nats://", "tls://")) for s in self.servers)):
            out.append("[cluster] servers must be a non-empty list of nats://host:port URLs")
        if not isinstance(self.stream, str) or not _TOKEN.match(self.stream):
            out.append("[cluster] stream must be a name of letters, digits, '-' or '_'")
        if not isinstance(self.subject, str) or not all(_TOKEN.match(t) for t in self.subject.split(".")):
            out.append("[cluster] subject must be dot-separated tokens without wildcards")
        if not isinstance(self.replicas, int) or not 1 <= self.replicas <= 5:
            out.append("[cluster] replicas must be 1..5 (3 for a three-server NATS cluster)")
        if not isinstance(self.centre, str) or (self.centre and not self.centre.startswith(("postgresql://",
                                                                                          "postgres://"))):
            out.append("[cluster] centre must be a postgresql://user@host/database URL (the centre's database)")
        for name in ("lease_ttl", "dead_after"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0.2 <= v <= 600:
                out.append(f"[cluster] {name} must be a number of seconds, 0.2..600")
        for name in ("duplicate_window", "max_age", "connect_timeout"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
                out.append(f"[cluster] {name} must be a number of seconds >= 0")
        if isinstance(self.duplicate_window, (int, float)) and self.duplicate_window < 1:
            out.append("[cluster] duplicate_window must be at least 1 s (it is what makes a resend harmless)")
        if (not isinstance(self.ties, dict)
                or not all(isinstance(k, str) and _TOKEN.match(k) and isinstance(v, int) and not isinstance(v, bool)
                           and 0 <= v < 64 for k, v in self.ties.items())):
            out.append("[cluster] ties must be a table of node = span (the board's tie span towards that node)")
        elif len(set(self.ties.values())) != len(self.ties):
            out.append("[cluster] ties: one tie span per node (a span leads to one node)")
        elif self.ties and not self.centre:
            out.append("[cluster] ties need a centre (the cluster ACD routes calls over them)")
        for name in ("window", "backlog"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                out.append(f"[cluster] {name} must be a positive integer")
        return out


def check_node(node: str) -> None:
    """A node name usable in a cluster (a subject token, and not the single-node default)."""
    if not isinstance(node, str) or not _TOKEN.match(node):
        raise ClusterConfigError([f"[server] node {node!r}: a cluster node needs a name of letters, digits, "
                                  "'-' or '_' (it names the node's subject)"])


def check_site(node: str, section: Any) -> list[str]:
    """``cti-server --check``: every problem of a ``[cluster]`` section (None: no cluster, none)
    for node ``node``, and of what it needs installed."""
    import importlib.util
    if section is None:
        return []
    out: list[str] = []
    cfg = None
    try:
        cfg = ClusterConfig.from_dict(section)
    except ClusterConfigError as e:
        out += e.problems
    try:
        check_node(node)
    except ClusterConfigError as e:
        out += e.problems
    if importlib.util.find_spec("nats") is None:
        out.append("[cluster] the event stream needs the nats-py package (pip install 'e1cti[cluster]')")
    if cfg is not None and cfg.centre and importlib.util.find_spec("psycopg") is None:
        out.append("[cluster] centre: PostgreSQL needs the psycopg package (pip install 'e1cti[postgres]')")
    return out


__all__ = ["ClusterConfig", "ClusterConfigError", "check_node", "check_site"]
