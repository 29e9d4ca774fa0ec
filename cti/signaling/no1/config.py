"""No.1 trunk configuration (a TOML ``[no1]`` section becomes a :class:`No1Config`)."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any
from collections.abc import Mapping

from .timers import ALL_TIMERS
from .variants import Variant, get_variant


@dataclass
class No1Config:
    """How one No.1 (R2 CAS + MFC) span signals.

    ``dnis_length``: digits of the called number we collect on incoming calls (0, the default:
    variable length, ended by the numbering plan, by end-of-digits I-15, or when the caller
    sends no next digit within T_DNIS_END). ``dnis_lengths``: numbering-plan entries,
    called-number prefix -> digits, over the variant's own plan (China: mobiles 13x-19x 11
    digits, 010 / 02x 11, 400 / 800 10; see :attr:`numbering_plan`); the longest matching
    prefix wins over ``dnis_length``; 0 makes a prefix variable-length.
    ``ani``: request the calling number on incoming calls: true, false, or "auto" (the default:
    asked for until the far end shows it does not send it — libopenr2 CN answers A6 with its
    category and then never a calling-number digit, which costs T_MF_WAIT — after which this
    trunk stops asking; counted in ``No1Trunk.counters["ani_not_sent"]``). Set false for a far
    end known not to send it, true to ask on every call. ``ani_after``: request it after this
    many called digits (China practice: 1).
    ``end_of_digits``: on our outgoing calls, answer the far end's request for a digit beyond
    the called number with end-of-digits I-15 (None, the default: as the variant does; China
    sends none and lets the far end end the number; true for a far end known to take I-15).
    ``early_answer``: an answer signal before the register's outcome (group B): "release"
    (default; clear-forward, cause 111) or "accept" (lenient: connected as it stands).
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
    dnis_length: int = 0
    dnis_lengths: dict[str, int] = field(default_factory=dict)
    ani: bool | str = "auto"
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
    #: an answer before the group-B signal: "release" (protocol error) or "accept" (lenient)
    early_answer: str = "release"
    #: send I-15 after the called number on outgoing calls (None: the variant's practice)
    end_of_digits: bool | None = None

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
        if self.end_of_digits is not None and not isinstance(self.end_of_digits, bool):
            raise TypeError("No1Config.end_of_digits must be true, false or absent")
        if self.early_answer not in ("release", "accept"):
            raise ValueError(f"early_answer must be 'release' or 'accept', not {self.early_answer!r}")
        if self.glare not in ("yield", "hold"):
            raise ValueError(f"glare must be 'yield' or 'hold', not {self.glare!r}")
        if self.hunt not in ("ascending", "descending"):
            raise ValueError(f"hunt must be 'ascending' or 'descending', not {self.hunt!r}")
        if self.default_b not in ("free", "busy", "congestion", "unallocated"):
            raise ValueError(f"default_b must be free/busy/congestion/unallocated, not {self.default_b!r}")
        if not isinstance(self.ani, bool) and self.ani != "auto":
            raise ValueError(f"No1Config.ani must be true, false or 'auto', not {self.ani!r}")
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
    def numbering_plan(self) -> dict[str, int]:
        """Called-number prefix -> digits: the variant's numbering plan with ``dnis_lengths`` over it."""
        return {**self.variant_table.numbering, **self.dnis_lengths}

    @property
    def ka_signal(self) -> int:
        return self.ka if self.ka is not None else self.variant_table.default_ka

    @property
    def kd_signal(self) -> int:
        return self.kd if self.kd is not None else self.variant_table.default_kd

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> No1Config:
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
