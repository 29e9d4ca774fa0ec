"""No.1 trunk configuration (a TOML ``[no1]`` section becomes a :class:`No1Config`)."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from .timers import ALL_TIMERS
from .variants import Variant, get_variant


@dataclass
class No1Config:
    """How one No.1 (R2 CAS + MFC) span signals.

    ``dnis_length``: digits of the called number we collect on incoming calls (0: until the
    caller sends end-of-digits I-15). ``dnis_lengths``: the numbering plan's exceptions,
    called-number prefix -> digits (the longest matching prefix wins over ``dnis_length``;
    e.g. ``{"13": 11}`` for China mobile numbers). ``ani``: request the calling number on incoming calls.
    ``ani_after``: request it after this many called digits (China practice: 1).
    ``ka``/``kd``: calling party category (group I position, China KA) and calling service
    category (group II, China KD) we send on outgoing calls. ``timers``: overrides by name,
    seconds (see :mod:`cti.signaling.no1.timers`). ``glare``: "yield" (the far end wins a
    double seizure; we take its call) or "hold" (we keep ours).
    ``timeslots``: the voice timeslots this trunk signals on (default all 30).
    ``repeat_attempts``: when our seizure loses a double seizure (glare "yield", or a far-end
    seizure during IDLE_GUARD) the call is seized again on another idle circuit this many times,
    the automatic repeat attempt of ITU-T Q.12 (0, the default: the call fails, cause 41).
    """

    variant: str = "cn"
    dnis_length: int = 4
    dnis_lengths: dict[str, int] = field(default_factory=dict)
    ani: bool = True
    ani_after: int = 1
    ani_max_digits: int = 15
    ka: int | None = None          #: None: the variant's default (China KA 1, ITU II-1)
    kd: int | None = None          #: None: the variant's default (China KD 3, ITU II-1)
    timers: dict[str, float] = field(default_factory=dict)
    glare: str = "yield"
    timeslots: tuple[int, ...] | None = None
    mf_level_dbm0: float = -8.0
    default_b: str = "free"        #: B decision when the call model does not decide in time
    hunt: str = "descending"       #: outgoing circuit choice; the far end should hunt the other way
    #: Q.12 automatic repeat attempts after a lost double seizure (0..3; 0: release with cause 41)
    repeat_attempts: int = 1

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError / TypeError on an out-of-range or ill-typed setting."""
        get_variant(self.variant)
        for name in ("dnis_length", "ani_after", "ani_max_digits", "ka", "kd"):
            value = getattr(self, name)
            if value is None and name in ("ka", "kd"):
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"No1Config.{name} must be an int, not {type(value).__name__}")
        if isinstance(self.repeat_attempts, bool) or not isinstance(self.repeat_attempts, int) \
                or not 0 <= self.repeat_attempts <= 3:
            raise ValueError(f"repeat_attempts must be an int 0..3, not {self.repeat_attempts!r}")
        if not 0 <= self.dnis_length <= 30:
            raise ValueError(f"dnis_length must be 0..30, not {self.dnis_length}")
        for prefix, n in dict(self.dnis_lengths).items():
            if not isinstance(prefix, str) or not prefix.isdigit():
                raise ValueError(f"dnis_lengths: a prefix is a string of digits, not {prefix!r}")
            if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 30:
                raise ValueError(f"dnis_lengths[{prefix!r}] must be 0..30, not {n!r}")
        if not 0 <= self.ani_after <= 30:
            raise ValueError(f"ani_after must be 0..30, not {self.ani_after}")
        if not 1 <= self.ani_max_digits <= 30:
            raise ValueError(f"ani_max_digits must be 1..30, not {self.ani_max_digits}")
        if self.ka is not None and not 1 <= self.ka <= 15:
            raise ValueError(f"ka must be a signal 1..15, not {self.ka}")
        if self.kd is not None and not 1 <= self.kd <= 15:
            raise ValueError(f"kd must be a signal 1..15, not {self.kd}")
        if self.glare not in ("yield", "hold"):
            raise ValueError(f"glare must be 'yield' or 'hold', not {self.glare!r}")
        if self.hunt not in ("ascending", "descending"):
            raise ValueError(f"hunt must be 'ascending' or 'descending', not {self.hunt!r}")
        if self.default_b not in ("free", "busy", "congestion", "unallocated"):
            raise ValueError(f"default_b must be free/busy/congestion/unallocated, not {self.default_b!r}")
        if not isinstance(self.ani, bool):
            raise TypeError("No1Config.ani must be a bool")
        if not -40.0 <= float(self.mf_level_dbm0) <= 0.0:
            raise ValueError(f"mf_level_dbm0 must be -40..0, not {self.mf_level_dbm0}")
        for name, value in dict(self.timers).items():
            if name not in ALL_TIMERS:
                raise ValueError(f"unknown No.1 timer {name!r}; known: {', '.join(sorted(ALL_TIMERS))}")
            ALL_TIMERS[name].check(float(value))
        if self.timeslots is not None:
            from drivers.base import check_timeslot
            self.timeslots = tuple(check_timeslot(int(ts)) for ts in self.timeslots)

    @property
    def variant_table(self) -> Variant:
        return get_variant(self.variant)

    @property
    def ka_signal(self) -> int:
        return self.ka if self.ka is not None else self.variant_table.default_ka

    @property
    def kd_signal(self) -> int:
        return self.kd if self.kd is not None else self.variant_table.default_kd

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "No1Config":
        """Build from a dict (a TOML section); unknown keys raise ValueError."""
        d = dict(d or {})
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown No.1 config keys: {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
        if "timers" in d:
            if not isinstance(d["timers"], Mapping):
                raise TypeError("No1Config.timers must be a table of name = seconds")
            d["timers"] = {str(k): float(v) for k, v in d["timers"].items()}
        if "timeslots" in d and d["timeslots"] is not None:
            d["timeslots"] = tuple(d["timeslots"])
        return cls(**d)
