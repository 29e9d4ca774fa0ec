"""cti-server configuration: a TOML file (sections below) plus command-line overrides.

    [server]  node, store (path | sqlite://... | postgresql://...), retention_events, retention_seconds,
              ready_timeout
    [bus]     events, snapshot, control (endpoints), security ("plain" | "curve"), keys (cti-keys dir),
              accounts (file), rate, burst, max_request
    [board]   driver ("sim" | "wire" | "dahdi" | any cti.boards name | "loopback"), spans, clock,
              options (extra keyword arguments for drivers.open)
    [[trunk]] signalling ("no1" | "ss7" | "pri" | "loop"), spans (list), config (No1Config / Ss7Config / PriConfig table)
    [call]    auto_alert, fail_linger, presentation (device -> calling number), pickup_groups (name -> devices)
    [demo]    enabled, scenario (simulator/scenario.py TOML), seed

With no file at all the defaults describe the demo: the simulator with span 0 on No.1 and
span 1 on SS7, plain bus on localhost, SQLite ``cti.db``, demo scenario on.
"""
from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any


class ConfigError(ValueError):
    """The configuration file or an option is malformed or out of range; ``problems`` lists
    every problem found (the message joins them), not only the first."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems: list[str] = list(problems) if problems else [message]
        self.partial: Any = None    #: what could be built from the good parts (for further checks)


def _raise_all(problems: list[str]) -> None:
    """Raise one ConfigError carrying every problem (nothing when the list is empty)."""
    if problems:
        raise ConfigError(problems[0] if len(problems) == 1 else
                          f"{len(problems)} problems: " + "; ".join(problems), problems)


@dataclass
class ServerSection:
    node: str = "cti"
    store: str = "cti.db"
    retention_events: int = 1_000_000       #: journal rows kept (0: no limit)
    retention_seconds: float = 7 * 86400.0  #: journal age kept (0: no limit)
    ready_timeout: float = 0.0              #: model seconds the spans may take to be usable (0: no limit)


@dataclass
class BusSection:
    events: str = "tcp://127.0.0.1:5560"
    snapshot: str = "tcp://127.0.0.1:5561"
    control: str = "tcp://127.0.0.1:5562"
    security: str = "plain"
    keys: str = "keys"
    accounts: str | None = None
    rate: float = 500.0
    burst: float = 1000.0
    max_request: int = 65536
    subscriber_buffer: int = 50_000      #: events queued per subscriber at most (docs/bus.md)


@dataclass
class BoardSection:
    driver: str = "sim"
    spans: int = 2
    clock: str = "real"
    step: float = 0.1          #: virtual clock only: board seconds run per loop turn (as fast as the CPU goes)
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrunkSection:
    signalling: str
    spans: list[int]
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class CallSection:
    auto_alert: bool = True
    fail_linger: float = 5.0
    #: device -> the calling number its MakeCall presents (agents cannot choose one on the bus)
    presentation: dict[str, str] = field(default_factory=dict)
    #: pickup group -> its devices (group PickupCall)
    pickup_groups: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        import re
        for dev, num in self.presentation.items():
            if not isinstance(num, str) or not re.fullmatch(r"[0-9*#A-F]{1,32}", num):
                raise ConfigError(f"[call] presentation.{dev} must be a number of 1-32 digits, not {num!r}")
        for group, devs in self.pickup_groups.items():
            if not isinstance(devs, list) or not all(isinstance(d, str) and d for d in devs):
                raise ConfigError(f"[call] pickup_groups.{group} must be a list of device ids, not {devs!r}")


@dataclass
class DemoSection:
    enabled: bool = False
    scenario: str | None = None
    seed: int = 1


def _default_trunks() -> list[TrunkSection]:
    return [TrunkSection("no1", [0]), TrunkSection("ss7", [1])]


@dataclass
class Config:
    server: ServerSection = field(default_factory=ServerSection)
    bus: BusSection = field(default_factory=BusSection)
    board: BoardSection = field(default_factory=BoardSection)
    trunks: list[TrunkSection] = field(default_factory=_default_trunks)
    call: CallSection = field(default_factory=CallSection)
    demo: DemoSection = field(default_factory=DemoSection)
    contact: dict[str, Any] | None = None   #: the [contact] section, parsed by cti.contact.ContactConfig
    media: dict[str, Any] | None = None     #: the [media] section, parsed by cti.contact.resources.MediaConfig
    cluster: dict[str, Any] | None = None   #: the [cluster] section, parsed by cti.cluster.ClusterConfig

    @classmethod
    def load(cls, path: str) -> Config:
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except OSError as e:
            raise ConfigError(f"cannot read {path}: {e}") from e
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: {e}") from e
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Config:
        """The configuration of a parsed TOML table; every problem at once in one ConfigError."""
        if not isinstance(data, dict):
            raise ConfigError("configuration must be a table")
        problems: list[str] = []
        unknown = set(data) - {"server", "bus", "board", "trunk", "call", "demo", "contact", "media", "cluster"}
        if unknown:
            problems.append(f"unknown section(s): {', '.join(sorted(unknown))}")

        def section(kind: type, name: str) -> Any:
            try:
                return _section(kind, data.get(name, {}), name)
            except ConfigError as e:
                problems.extend(e.problems)
                return e.partial if e.partial is not None else kind()
        cfg = cls(server=section(ServerSection, "server"), bus=section(BusSection, "bus"),
                  board=section(BoardSection, "board"), call=section(CallSection, "call"),
                  demo=section(DemoSection, "demo"))
        if "trunk" in data:
            if not isinstance(data["trunk"], list):
                problems.append("[[trunk]] must be an array of tables")
            else:
                trunks = []
                for i, t in enumerate(data["trunk"]):
                    try:
                        trunks.append(_section(TrunkSection, t, f"trunk[{i}]"))
                    except ConfigError as e:
                        problems.extend(e.problems)
                        if e.partial is not None:
                            trunks.append(e.partial)
                cfg.trunks = trunks
        for name in ("contact", "media", "cluster"):
            if name in data:
                if not isinstance(data[name], dict):
                    problems.append(f"[{name}] must be a table")
                else:
                    setattr(cfg, name, data[name])
        problems += cfg.problems()
        try:
            _raise_all(problems)
        except ConfigError as e:
            e.partial = cfg
            raise
        return cfg

    def validate(self) -> None:
        """Raise a ConfigError listing every problem :meth:`problems` finds."""
        _raise_all(self.problems())

    def problems(self) -> list[str]:
        """Every value out of range or inconsistent across sections (empty: valid)."""
        out: list[str] = []
        if self.bus.security not in ("plain", "curve"):
            out.append(f"bus.security must be 'plain' or 'curve', not {self.bus.security!r}")
        if not 1 <= self.board.spans <= 256:
            out.append(f"board.spans must be 1..256, not {self.board.spans}")
        if not 0.02 <= self.board.step <= 10.0:
            out.append(f"board.step must be 0.02..10 seconds, not {self.board.step}")
        if self.board.clock not in ("real", "virtual"):
            out.append(f"board.clock must be 'real' or 'virtual', not {self.board.clock!r}")
        seen: set[int] = set()
        for t in self.trunks:
            if t.signalling not in ("no1", "ss7", "pri", "loop"):
                out.append(f"trunk signalling must be no1, ss7, pri or loop, not {t.signalling!r}")
            for s in t.spans:
                if not isinstance(s, int) or not 0 <= s < self.board.spans:
                    out.append(f"trunk span {s!r} is not a span of the board (0..{self.board.spans - 1})")
                elif s in seen:
                    out.append(f"span {s} is given to two trunks")
                seen.add(s)
        if self.server.retention_events < 0 or self.server.retention_seconds < 0:
            out.append("retention must be >= 0 (0: unlimited)")
        if self.server.ready_timeout < 0:
            out.append("server.ready_timeout must be >= 0 (0: no limit)")
        for name, ep in (("events", self.bus.events), ("snapshot", self.bus.snapshot), ("control", self.bus.control)):
            if not isinstance(ep, str) or not ENDPOINT_RE.fullmatch(ep):
                out.append(f"bus.{name} {ep!r} is not an endpoint (tcp://host:port, tcp://host:*, ipc://path)")
        eps = [self.bus.events, self.bus.snapshot, self.bus.control]
        dup = sorted({e for e in eps if eps.count(e) > 1 and not str(e).endswith(":*")})
        if dup:
            out.append(f"bus endpoints must differ: {', '.join(dup)} is given twice")
        return out


#: a ZeroMQ endpoint the bus can bind: tcp (host or interface, port or ``*``), ipc, inproc
ENDPOINT_RE = re.compile(r"tcp://(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.*-]+):(\d{1,5}|\*)|ipc://.+|inproc://.+")


_CHECKS: dict[str, Any] = {"str": str, "int": int, "float": (int, float), "bool": bool}


def _section(cls: type, data: Any, name: str) -> Any:
    """``cls`` from one TOML table; a ConfigError listing every bad key of the table."""
    if not isinstance(data, dict):
        raise ConfigError(f"[{name}] must be a table")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    problems: list[str] = []
    unknown = set(data) - set(fields)
    if unknown:
        problems.append(f"[{name}] unknown key(s): {', '.join(sorted(unknown))}")
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in fields:
            continue
        t = str(fields[key].type)
        base = t.split("|")[0].strip()
        if value is None and "None" in t:
            kwargs[key] = None
            continue
        if base in _CHECKS:
            ok = isinstance(value, _CHECKS[base]) and (base == "bool" or not isinstance(value, bool))
        elif base.startswith("list"):
            ok = isinstance(value, list)
        elif base.startswith("dict"):
            ok = isinstance(value, dict)
        else:
            ok = True
        if not ok:
            problems.append(f"[{name}] {key} must be {t}, not {type(value).__name__}")
            continue
        kwargs[key] = float(value) if base == "float" else value
    try:
        made = cls(**kwargs)
    except TypeError as e:
        problems.append(f"[{name}]: {e}")
        made = None
    except ConfigError as e:
        problems += e.problems
        made = None
    if problems:
        err = ConfigError(problems[0] if len(problems) == 1 else f"{len(problems)} problems: " + "; ".join(problems),
                          problems)
        err.partial = made         # the section from its good keys: cross-section checks still run
        raise err
    return made
