"""PRI trunk configuration: a dataclass built from a dict (a TOML ``[trunk.config]`` table).

    side = "user"              # or "network": which end of the D channel we are
    variant = "etsi"           # q931, ni2, qsig, china (cti.signaling.pri.variants)
    timers = {q921 = {T200 = 1.0, k = 7}, q931 = {T303 = 4, T310 = 30}}
    overlap_receiving = false  # SETUP without Sending complete: SETUP ACK and wait for digits
    number_length = 8          # overlap receiving: the called number is complete at this length
    restart_at_start = true    # RESTART of the interface when the link first comes up
    repeat_attempts = 1        # our call that loses a B channel to glare is placed again (0..3)
    pcap = "pri.pcap"          # every D-channel frame, LAPD link type 177
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .timers import Q921_PARAMETERS, Q921_TIMERS, Q931_TIMERS
from .variants import variant as variant_named

_KEYS = ("side", "variant", "timers", "overlap_receiving", "number_length", "restart_at_start",
         "repeat_attempts", "pcap")


@dataclass
class PriConfig:
    side: str = "user"
    variant: str = "etsi"
    timers: dict[str, dict[str, float]] = field(default_factory=dict)
    overlap_receiving: bool = False
    number_length: int | None = None
    restart_at_start: bool = False
    repeat_attempts: int = 1
    pcap: str | None = None

    @property
    def network(self) -> bool:
        return self.side == "network"

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> PriConfig:
        """Build and validate; ValueError names the bad key."""
        d = dict(d or {})
        unknown = set(d) - set(_KEYS)
        if unknown:
            raise ValueError(f"unknown PRI config keys: {', '.join(sorted(unknown))}")
        side = str(d.get("side", "user"))
        if side not in ("user", "network"):
            raise ValueError(f"side must be 'user' or 'network', not {side!r}")
        variant = variant_named(str(d.get("variant", "etsi"))).name
        timers = {k: dict(v) for k, v in dict(d.get("timers", {})).items()}
        if set(timers) - {"q921", "q931"}:
            raise ValueError("timers has sections q921 and q931")
        for name, v in timers.get("q921", {}).items():
            spec = Q921_TIMERS.get(name) or Q921_PARAMETERS.get(name)
            if spec is None:
                raise ValueError(f"unknown Q.921 timer {name!r}; known: {', '.join([*Q921_TIMERS, *Q921_PARAMETERS])}")
            spec.check(float(v))
        for name, v in timers.get("q931", {}).items():
            if name not in Q931_TIMERS:
                raise ValueError(f"unknown Q.931 timer {name!r}; known: {', '.join(Q931_TIMERS)}")
            Q931_TIMERS[name].check(float(v))
        nl = d.get("number_length")
        if nl is not None and (isinstance(nl, bool) or not isinstance(nl, int) or not 1 <= nl <= 30):
            raise ValueError(f"number_length must be 1..30, not {nl!r}")
        rep = d.get("repeat_attempts", 1)
        if isinstance(rep, bool) or not isinstance(rep, int) or not 0 <= rep <= 3:
            raise ValueError(f"repeat_attempts must be an int 0..3, not {rep!r}")
        return cls(side, variant, timers, bool(d.get("overlap_receiving", False)), nl,
                   bool(d.get("restart_at_start", False)), rep, d.get("pcap"))

    def stack_args(self) -> dict[str, Any]:
        """Keyword arguments of :class:`cti.signaling.pri.stack.PriStack`."""
        return {"variant": self.variant, "q921": self.timers.get("q921"), "timers": self.timers.get("q931"),
                "overlap_receiving": self.overlap_receiving, "number_length": self.number_length}
