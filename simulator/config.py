"""The simulator's TOML configuration (``cti-sim serve --config sim.toml``).

Example (every key optional)::

    spans = 4                 # default: as many as [[span]] tables, at least 2
    clock = "real"            # "real" (served card) | "virtual" (time moves by ADVANCE)
    seed = 0                  # seeds every fault injector
    idle_abcd = 9             # CAS sent before the host sets any (ITU 1001)
    name = "cti-sim"
    cross_connect = [[0, 1], [2, 3]]   # spans wired back to back ([n, n] = loopback plug)

    [server]
    host = "127.0.0.1"
    port = 7000

    [[span]]                  # span 0; later tables are spans 1, 2, ...
    framing = "crc4"          # "crc4" | "df"
    signalling = "cas"        # "cas" | "ccs" (TS16 is an HDLC link)
    hdlc_timeslots = []       # extra HDLC channels

    [[fault]]                 # faults active from the start
    span = 0
    toward = "board"          # "board" | "network"
    ber = 1e-6                # also: los, ais, lof, rai, hdlc_broken, crc_errors, slip_interval

Every mistake is a :class:`drivers.base.ConfigError` naming the key at fault.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drivers.base import ConfigError, SpanConfig

from .card import TOWARD_BOARD, TOWARD_NETWORK
from .e1wire import TIMINGS
from .faults import FaultSettings

if TYPE_CHECKING:
    from .board import SimBoard

_TOP = {"spans", "clock", "seed", "idle_abcd", "name", "cross_connect", "server", "span", "fault"}
_SPAN = {"framing", "signalling", "hdlc_timeslots", "timing"}
_SERVER = {"host", "port"}


@dataclass
class FaultConfig:
    span: int
    toward: str
    settings: FaultSettings


@dataclass
class SimConfig:
    spans: int = 2
    clock: str = "real"
    seed: int = 0
    idle_abcd: int = 0x9
    name: str = "cti-sim"
    span_configs: list[SpanConfig] = field(default_factory=list)
    #: per span: "internal" (own oscillator, slips on a clock offset) or "line" (recovered)
    timings: list[str] = field(default_factory=list)
    cross_connect: list[tuple[int, int]] = field(default_factory=list)
    faults: list[FaultConfig] = field(default_factory=list)
    host: str = "127.0.0.1"
    port: int = 7000

    @classmethod
    def load(cls, path: str | Path) -> SimConfig:
        """Read and check a TOML file."""
        p = Path(path)
        try:
            text = p.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{p}: cannot read: {exc.strerror or exc}") from None
        try:
            data = tomllib.loads(text.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{p}: not valid TOML: {exc}") from None
        try:
            return cls.from_dict(data)
        except ConfigError as exc:
            raise ConfigError(f"{p}: {exc}") from None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SimConfig:
        """Check a parsed config; errors name the key (``span[1].framing: ...``)."""
        if not isinstance(d, dict):
            raise ConfigError("the config must be a table")
        _unknown(d, _TOP, "top level")
        cfg = cls()
        span_tables = d.get("span", [])
        if not isinstance(span_tables, list) or not all(isinstance(t, dict) for t in span_tables):
            raise ConfigError("span: use [[span]] tables, one per span")
        cfg.spans = _int(d.get("spans", max(2, len(span_tables))), "spans", 1, 64)
        if len(span_tables) > cfg.spans:
            raise ConfigError(f"spans = {cfg.spans} but {len(span_tables)} [[span]] tables")
        cfg.clock = d.get("clock", "real")
        if cfg.clock not in ("real", "virtual"):
            raise ConfigError(f"clock: 'real' or 'virtual', not {cfg.clock!r}")
        cfg.seed = _int(d.get("seed", 0), "seed", 0, 2**32 - 1)
        cfg.idle_abcd = _int(d.get("idle_abcd", 0x9), "idle_abcd", 1, 15)
        cfg.name = _str(d.get("name", "cti-sim"), "name")
        for i, t in enumerate(span_tables):
            _unknown(t, _SPAN, f"span[{i}]")
            hdlc = t.get("hdlc_timeslots", [])
            if not isinstance(hdlc, list):
                raise ConfigError(f"span[{i}].hdlc_timeslots: a list of timeslots, not {hdlc!r}")
            try:
                cfg.span_configs.append(SpanConfig(framing=t.get("framing", "crc4"),
                                                   signalling=t.get("signalling", "cas"),
                                                   hdlc_timeslots=tuple(hdlc)))
            except ConfigError as exc:
                raise ConfigError(f"span[{i}]: {exc}") from None
            timing = t.get("timing", "internal")
            if timing not in TIMINGS:
                raise ConfigError(f"span[{i}].timing: one of {', '.join(TIMINGS)}, not {timing!r}")
            cfg.timings.append(timing)
        cfg.span_configs += [SpanConfig()] * (cfg.spans - len(cfg.span_configs))
        cfg.timings += ["internal"] * (cfg.spans - len(cfg.timings))
        xc = d.get("cross_connect", [])
        if not isinstance(xc, list):
            raise ConfigError("cross_connect: a list of [span, span] pairs")
        used: set[int] = set()
        for i, pair in enumerate(xc):
            if not (isinstance(pair, list) and len(pair) == 2):
                raise ConfigError(f"cross_connect[{i}]: a [span, span] pair, not {pair!r}")
            a, b = (_int(v, f"cross_connect[{i}]", 0, cfg.spans - 1) for v in pair)
            if a in used or b in used:
                raise ConfigError(f"cross_connect[{i}]: span already cross-connected")
            if cfg.span_configs[a] != cfg.span_configs[b]:
                raise ConfigError(f"cross_connect[{i}]: spans {a} and {b} are configured differently")
            used |= {a, b}
            cfg.cross_connect.append((a, b))
        faults = d.get("fault", [])
        if not isinstance(faults, list) or not all(isinstance(t, dict) for t in faults):
            raise ConfigError("fault: use [[fault]] tables")
        for i, t in enumerate(faults):
            t = dict(t)
            span = _int(t.pop("span", 0), f"fault[{i}].span", 0, cfg.spans - 1)
            toward = t.pop("toward", TOWARD_BOARD)
            if toward not in (TOWARD_BOARD, TOWARD_NETWORK):
                raise ConfigError(f"fault[{i}].toward: 'board' or 'network', not {toward!r}")
            try:
                settings = FaultSettings.from_dict(t)
            except (ConfigError, TypeError) as exc:
                raise ConfigError(f"fault[{i}]: {exc}") from None
            cfg.faults.append(FaultConfig(span, toward, settings))
        server = d.get("server", {})
        if not isinstance(server, dict):
            raise ConfigError("server: a table with host and port")
        _unknown(server, _SERVER, "server")
        cfg.host = _str(server.get("host", cfg.host), "server.host")
        cfg.port = _int(server.get("port", cfg.port), "server.port", 0, 65535)
        return cfg

    def build_board(self, clock: str | None = None) -> SimBoard:
        """A SimBoard wired and faulted as configured (``clock`` overrides the file's)."""
        from simulator.board import SimBoard

        board = SimBoard(spans=self.spans, config=self.span_configs, clock=clock or self.clock,
                         seed=self.seed, cross_connect=self.cross_connect, idle_abcd=self.idle_abcd)
        for f in self.faults:
            board.faults(f.span, f.toward).settings = f.settings
        for ep, timing in zip(board.card.spans, self.timings, strict=False):
            ep.near.timing = timing
        return board


def default_config() -> SimConfig:
    """What ``cti-sim serve`` runs without --config: the conformance layout.

    Spans 0-1 (CAS, CRC-4) and 2-3 (CCS: TS16 is an HDLC link) cross-connected, so a
    host can run every back-to-back check against one simulator.
    """
    return SimConfig.from_dict({
        "spans": 4,
        "span": [{}, {}, {"signalling": "ccs"}, {"signalling": "ccs"}],
        "cross_connect": [[0, 1], [2, 3]],
    })


def _unknown(d: dict[str, Any], known: set[str], where: str) -> None:
    extra = sorted(set(d) - known)
    if extra:
        raise ConfigError(f"{where}: unknown key(s) {extra}; known: {sorted(known)}")


def _int(v: Any, name: str, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise ConfigError(f"{name}: an integer in {lo}..{hi}, not {v!r}")
    return v


def _str(v: Any, name: str) -> str:
    if not isinstance(v, str):
        raise ConfigError(f"{name}: a string, not {v!r}")
    return v
