"""The ``[contact]`` section of the cti-server TOML file: agents, queues, route points, IVR,
recordings, statistics period.

    [contact]
    route_points = { "4000" = "sales", "4100" = "ivr" }   # called number -> queue name | "ivr"
    ivr = "ivr.toml"              # cti.ivr menus (optional)
    prompts = "prompts"           # queue announcements and the voicemail prompt (optional)
    recordings = "recordings"     # directory for WAV recordings
    stats_every = 5.0             # seconds between QueueStats events
    seed = 1
    stations = { "2001" = "2/1" } # device -> "span/timeslot": a line to the agent's phone (optional)
    simulated_phones = false      # sim board: a simulated phone on every station
    [contact.agents.alice]        # Agent fields: device, team, skills, wrap_up, rona_not_ready
    device = "2001"
    team = "blue"
    skills = { sales = 60 }
    [contact.queues.sales]        # cti.acd.queue.QueueConfig.from_dict
    strategy = "longest-idle"

Read from the same file as the server configuration (cti.config ignores nothing, so the
lead's loader must let ``[contact]`` through; this module reads the file itself).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from typing import Any

from cti.acd.agents import Agent
from cti.acd.queue import QueueConfig
from cti.config import ConfigError

_AGENT_KEYS = {"device", "team", "skills", "wrap_up", "rona_not_ready"}
_KEYS = {"route_points", "ivr", "prompts", "recordings", "stats_every", "seed", "agents", "queues", "campaigns",
         "stations", "simulated_phones"}


@dataclass
class ContactConfig:
    """What :func:`cti.contact.install` attaches to a server."""

    agents: list[Agent] = field(default_factory=list)
    queues: list[QueueConfig] = field(default_factory=list)
    route_points: dict[str, str] = field(default_factory=dict)   #: called number -> queue | "ivr"
    ivr: str | None = None
    prompts: str | None = None     #: queue prompts: position.wav, minutes.wav, 0.wav..9.wav, voicemail.wav
    recordings: str = "recordings"
    stats_every: float = 5.0
    seed: int = 1
    campaigns: dict[str, dict[str, Any]] = field(default_factory=dict)
    stations: dict[str, tuple[int, int]] = field(default_factory=dict)   #: device -> (span, timeslot)
    simulated_phones: bool = False  #: sim board: a simulated phone on every station

    @classmethod
    def load(cls, path: str) -> ContactConfig | None:
        """The ``[contact]`` section of the TOML file ``path``, or None when it has none."""
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise ConfigError(f"cannot read {path}: {e}") from e
        section = data.get("contact")
        return None if section is None else cls.from_dict(section)

    @classmethod
    def from_dict(cls, d: Any) -> ContactConfig:
        if not isinstance(d, dict):
            raise ConfigError("[contact] must be a table")
        unknown = set(d) - _KEYS
        if unknown:
            raise ConfigError(f"[contact] unknown key(s): {', '.join(sorted(unknown))}")
        cfg = cls()
        for name, a in _table(d, "agents").items():
            if not isinstance(a, dict) or set(a) - _AGENT_KEYS:
                raise ConfigError(f"[contact.agents.{name}] must be a table of {sorted(_AGENT_KEYS)}")
            skills = a.get("skills", {})
            if not isinstance(skills, dict) or not all(isinstance(v, int) and 0 <= v <= 100 for v in skills.values()):
                raise ConfigError(f"[contact.agents.{name}] skills must map skill -> level 0..100")
            wrap = a.get("wrap_up", 10.0)
            if not isinstance(wrap, (int, float)) or isinstance(wrap, bool) or wrap < 0:
                raise ConfigError(f"[contact.agents.{name}] wrap_up must be seconds >= 0, not {wrap!r}")
            dev = a.get("device")
            if dev is not None and not isinstance(dev, str):
                raise ConfigError(f"[contact.agents.{name}] device must be a string")
            cfg.agents.append(Agent(str(name), team=str(a.get("team", "")), skills=dict(skills),
                                    wrap_up=float(wrap), rona_not_ready=bool(a.get("rona_not_ready", True)),
                                    device=dev))
        for name, q in _table(d, "queues").items():
            try:
                cfg.queues.append(QueueConfig.from_dict(str(name), dict(q) if isinstance(q, dict) else q))
            except (ValueError, TypeError) as e:
                raise ConfigError(f"[contact.queues.{name}] {e}") from None
        names = {q.name for q in cfg.queues}
        for number, target in _table(d, "route_points").items():
            if not isinstance(target, str) or (target != "ivr" and target not in names):
                raise ConfigError(f"[contact] route point {number}: {target!r} is not a queue or 'ivr'")
            cfg.route_points[str(number)] = target
        if "ivr" in d:
            if not isinstance(d["ivr"], str):
                raise ConfigError("[contact] ivr must be a file path")
            cfg.ivr = d["ivr"]
        if "ivr" in cfg.route_points.values() and cfg.ivr is None:
            raise ConfigError("[contact] a route point goes to the IVR but no ivr file is given")
        if "prompts" in d:
            if not isinstance(d["prompts"], str):
                raise ConfigError("[contact] prompts must be a directory path")
            cfg.prompts = d["prompts"]
        cfg.recordings = str(d.get("recordings", cfg.recordings))
        every = d.get("stats_every", cfg.stats_every)
        if not isinstance(every, (int, float)) or isinstance(every, bool) or not 0.5 <= every <= 3600:
            raise ConfigError(f"[contact] stats_every must be 0.5..3600 seconds, not {every!r}")
        cfg.stats_every = float(every)
        seed = d.get("seed", 1)
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ConfigError("[contact] seed must be an integer")
        cfg.seed = seed
        cfg.campaigns = {str(k): dict(v) for k, v in _table(d, "campaigns").items()}
        from .audio import parse_stations
        try:
            cfg.stations = parse_stations(_table(d, "stations"))
        except ValueError as e:
            raise ConfigError(str(e)) from None
        phones = d.get("simulated_phones", False)
        if not isinstance(phones, bool):
            raise ConfigError("[contact] simulated_phones must be true or false")
        cfg.simulated_phones = phones
        return cfg


def _table(d: dict[str, Any], key: str) -> dict[str, Any]:
    v = d.get(key, {})
    if not isinstance(v, dict):
        raise ConfigError(f"[contact] {key} must be a table")
    return v
