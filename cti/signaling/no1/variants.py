"""MFC register signal meanings: ITU R2 defaults with national variants layered over them.

The register FSMs speak in *roles* (``Role.NEXT_DIGIT``, ``Role.SEND_CATEGORY_AND_ANI``,
``Role.BUSY`` ...), never in tone numbers; a :class:`Variant` maps roles to the signal
numbers 1..15 of each group. China No.1 is the ITU table with an override, so another R2
country is one more override (the design of libopenr2's variant tables).

Groups (ITU-T Q.441 clause 2, China GF 001-9001 register signalling):

* forward group I: address digits 1..10 (10 = digit 0) and end-of-pulsing / end of
  calling number (I-15); China also sends KA (calling party category) in a group I position;
* forward group II: calling party category (China: KD, the calling service category);
* backward group A: requests (next digit, send category / calling number, change to group B);
* backward group B: the called subscriber's state (free, busy, unallocated, congestion).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from types import MappingProxyType
from collections.abc import Mapping


class Role(str, enum.Enum):
    """What a register signal means, independent of its tone number."""

    # backward group A (Q.441 Table 5 / GF 001-9001 group A)
    NEXT_DIGIT = "next_digit"                        #: send the next address digit (n+1)
    RESEND_LAST_BUT_ONE = "resend_n_minus_1"         #: send digit n-1 (ITU A2)
    RESEND_LAST_BUT_TWO = "resend_n_minus_2"         #: send digit n-2 (ITU A7)
    RESEND_LAST_BUT_THREE = "resend_n_minus_3"       #: send digit n-3 (ITU A8)
    RESEND_FROM_FIRST = "resend_from_first"          #: send the address again from its first digit
    ADDRESS_COMPLETE_CHANGE_TO_B = "change_to_b"     #: address complete, send KD / group II, then group B
    ADDRESS_COMPLETE_CHARGE = "address_complete_charge"  #: accepted, charge, speech (no group B)
    SEND_CATEGORY = "send_category"                  #: send the calling party's category (group II)
    SEND_CATEGORY_AND_ANI = "send_ka_and_ani"        #: China A6: send KA then the calling number
    NEXT_ANI_DIGIT = "next_ani_digit"                #: send the next digit of the calling number
    CONGESTION = "congestion"                        #: group A or B: congestion
    UNALLOCATED = "unallocated"                      #: group A or B: unallocated number
    # backward group B (Q.441 Table 6 / GF 001-9001 group B)
    FREE_CHARGE = "free_charge"                      #: called party free, charge
    FREE_NO_CHARGE = "free_no_charge"                #: called party free, no charge
    BUSY = "busy"                                    #: called party busy (China B2: local busy)
    BUSY_TOLL = "busy_toll"                          #: China B3: busy on a toll call
    OUT_OF_ORDER = "out_of_order"                    #: called line out of order
    SPECIAL_INFO = "special_info"                    #: send special information tone
    # forward group I
    END_OF_DIGITS = "end_of_digits"                  #: I-15: end of pulsing / of the calling number
    ANI_RESTRICTED = "ani_restricted"                #: calling number withheld


#: Outcome of a register exchange, per final backward role.
OUTCOMES: Mapping[Role, str] = MappingProxyType({
    Role.FREE_CHARGE: "free",
    Role.FREE_NO_CHARGE: "free",
    Role.ADDRESS_COMPLETE_CHARGE: "free",
    Role.BUSY: "busy",
    Role.BUSY_TOLL: "busy",
    Role.CONGESTION: "congestion",
    Role.UNALLOCATED: "unallocated",
    Role.OUT_OF_ORDER: "out_of_order",
    Role.SPECIAL_INFO: "special_info",
})

#: Q.850 cause of each outcome (the cause a Released event carries).
OUTCOME_CAUSES: Mapping[str, int] = MappingProxyType({
    "free": 16,            # normal clearing (if the call later clears)
    "busy": 17,            # user busy
    "unallocated": 1,      # unallocated number
    "congestion": 42,      # switching equipment congestion
    "out_of_order": 27,    # destination out of order
    "special_info": 22,    # number changed
})

#: The group B role we send for a Q.850 cause when we reject an incoming call.
CAUSE_ROLES: Mapping[int, Role] = MappingProxyType({
    17: Role.BUSY,
    1: Role.UNALLOCATED,
    22: Role.SPECIAL_INFO,
    27: Role.OUT_OF_ORDER,
    28: Role.UNALLOCATED,
    34: Role.CONGESTION,
    41: Role.CONGESTION,
    42: Role.CONGESTION,
})


@dataclass(frozen=True)
class Variant:
    """One country's register signal table: signal number <-> role, per group."""

    name: str
    group_a: Mapping[int, Role]
    group_b: Mapping[int, Role]
    group_i: Mapping[int, Role]           #: non-digit group I signals (digits are 1..10)
    categories: Mapping[int, str]         #: group II: signal -> calling category (KD)
    ka: Mapping[int, str]                 #: China KA values sent in group I positions
    cd_bits: int                          #: c,d line bits (Q.421: 01; China: 11)
    backward_frequencies: int             #: 6 (ITU) or 4 (China: backward signals 1..6)
    #: the role A signals mean while the calling number is being sent: China A1 means
    #: "next calling-number digit" in that phase (openr2's quirk, kept as data)
    ani_phase_a: Mapping[int, Role] = field(default_factory=dict)
    end_of_dnis: int | None = 15          #: group I signal ending the called number (None: none sent)
    end_of_ani: int | None = 15           #: group I signal ending the calling number
    #: B signals we accept but never send (peers' quirks), e.g. libopenr2 CN's B7
    tolerated_b: Mapping[int, Role] = field(default_factory=dict)
    default_ka: int = 1                   #: category sent on A6 / A5 unless configured
    default_kd: int = 1                   #: group II category sent on A3 unless configured
    #: the national numbering plan: called-number prefix -> digits, so an incoming register
    #: knows where a variable-length called number ends without waiting (the longest prefix wins)
    numbering: Mapping[str, int] = field(default_factory=dict)
    clause: str = ""

    def role_a(self, signal: int, ani_phase: bool = False) -> Role | None:
        if ani_phase and signal in self.ani_phase_a:
            return self.ani_phase_a[signal]
        return self.group_a.get(signal)

    def role_b(self, signal: int) -> Role | None:
        return self.group_b.get(signal) or self.tolerated_b.get(signal)

    def role_i(self, signal: int) -> Role | None:
        return self.group_i.get(signal)

    def signal_a(self, role: Role) -> int:
        """The group A signal for ``role``; ValueError if this variant has none."""
        return _find(self.group_a, role, self.name, "A")

    def signal_b(self, role: Role) -> int:
        return _find(self.group_b, role, self.name, "B")

    def signal_i(self, role: Role) -> int | None:
        """The group I signal for ``role`` or None (the variant does not send it)."""
        for sig, r in self.group_i.items():
            if r is role:
                return sig
        return None

    def signal_next_ani(self) -> int:
        """The A signal asking for the next calling-number digit (China: A1, ITU: A5)."""
        for table in (self.ani_phase_a, self.group_a):
            for sig, r in table.items():
                if r is Role.NEXT_ANI_DIGIT:
                    return sig
        return self.signal_a(Role.NEXT_DIGIT)

    def has_a(self, role: Role) -> bool:
        return role in self.group_a.values()

    def override(self, name: str, **changes: object) -> Variant:
        """A new variant: this table with the given groups replaced or patched.

        A group given as a dict patches this variant's group (``None`` values delete rows).
        """
        fields: dict[str, object] = {}
        for key in ("group_a", "group_b", "group_i", "categories", "ka", "ani_phase_a", "tolerated_b"):
            base = dict(getattr(self, key))
            patch = changes.pop(key, None)
            if patch is not None:
                assert isinstance(patch, Mapping), f"{key} must be a mapping"
                for sig, role in patch.items():
                    if role is None:
                        base.pop(sig, None)
                    else:
                        base[sig] = role
            fields[key] = MappingProxyType(base)
        for key in ("cd_bits", "backward_frequencies", "end_of_dnis", "end_of_ani", "default_ka", "default_kd",
                    "numbering", "clause"):
            fields[key] = changes.pop(key, getattr(self, key))
        if changes:
            raise TypeError(f"unknown variant fields: {', '.join(changes)}")
        return Variant(name=name, **fields)  # type: ignore[arg-type]


def _find(table: Mapping[int, Role], role: Role, name: str, group: str) -> int:
    for sig, r in table.items():
        if r is role:
            return sig
    raise ValueError(f"variant {name!r} has no group {group} signal for {role.value}")


#: ITU-T R2 (Q.441 Tables 5 and 6; openr2's ITU defaults for A5 / II categories).
ITU = Variant(
    name="itu",
    group_a=MappingProxyType({
        1: Role.NEXT_DIGIT,
        2: Role.RESEND_LAST_BUT_ONE,
        3: Role.ADDRESS_COMPLETE_CHANGE_TO_B,
        4: Role.CONGESTION,
        5: Role.SEND_CATEGORY,
        6: Role.ADDRESS_COMPLETE_CHARGE,
        7: Role.RESEND_LAST_BUT_TWO,
        8: Role.RESEND_LAST_BUT_THREE,
        15: Role.CONGESTION,
    }),
    group_b=MappingProxyType({
        2: Role.SPECIAL_INFO,
        3: Role.BUSY,
        4: Role.CONGESTION,
        5: Role.UNALLOCATED,
        6: Role.FREE_CHARGE,
        7: Role.FREE_NO_CHARGE,
        8: Role.OUT_OF_ORDER,
    }),
    group_i=MappingProxyType({15: Role.END_OF_DIGITS, 12: Role.ANI_RESTRICTED}),
    categories=MappingProxyType({
        1: "national subscriber", 2: "national priority subscriber", 3: "maintenance equipment",
        5: "operator", 6: "data transmission", 7: "international subscriber",
        9: "international priority subscriber",
    }),
    ka=MappingProxyType({}),
    cd_bits=0b01,
    backward_frequencies=6,
    # ITU: after the category, A5 asks for the next calling-number digit (as openr2 does)
    ani_phase_a=MappingProxyType({5: Role.NEXT_ANI_DIGIT}),
    default_ka=1,              # II-1 national subscriber (sent for A5)
    default_kd=1,
    clause="ITU-T Q.441 Tables 4-6, Q.421 clause 3",
)

#: China No.1 (GF 001-9001; openr2 variant CN).
CHINA = ITU.override(
    "cn",
    group_a={
        1: Role.NEXT_DIGIT,
        2: Role.RESEND_FROM_FIRST,
        3: Role.ADDRESS_COMPLETE_CHANGE_TO_B,
        4: Role.CONGESTION,
        5: Role.UNALLOCATED,
        6: Role.SEND_CATEGORY_AND_ANI,
        7: None, 8: None, 15: None,
    },
    group_b={
        1: Role.FREE_CHARGE,
        2: Role.BUSY,
        3: Role.BUSY_TOLL,
        4: Role.CONGESTION,
        5: Role.UNALLOCATED,
        6: Role.FREE_NO_CHARGE,
        7: None, 8: None,
    },
    group_i={12: None, 15: Role.END_OF_DIGITS},
    categories={
        1: "toll operator", 2: "toll automatic", 3: "local subscriber", 4: "fax / data",
        5: "semi-automatic (check calling number)", 6: "test call",
        7: None, 9: None,
    },
    ka={
        1: "ordinary subscriber, periodic charge", 2: "ordinary subscriber, immediate charge (meter)",
        3: "ordinary subscriber, immediate charge (printer)", 4: "priority subscriber",
        5: "free of charge", 6: "spare",
    },
    ani_phase_a={5: None, 1: Role.NEXT_ANI_DIGIT},
    # libopenr2 CN keeps the ITU B7 "accepted, no charge" and B8 "line out of order" (tones
    # China's four backward frequencies cannot make); we listen on all six and take each with
    # its ITU meaning (B8: destination out of order, cause 27), as data, never sent
    tolerated_b={7: Role.FREE_NO_CHARGE, 8: Role.OUT_OF_ORDER},
    default_ka=1,              # KA 1: ordinary subscriber, periodic charge
    default_kd=3,              # KD 3: local subscriber
    cd_bits=0b11,
    backward_frequencies=4,
    end_of_dnis=None,          # China sends no end-of-pulsing after the called number
    end_of_ani=15,             # ... but ends the calling number with I-15
    # the China numbering plan where a prefix fixes the length: mobiles 13x-19x (11 digits),
    # Beijing 010 and the 02x cities (trunk prefix 0 + 2-digit area + 8 digits). Other numbers
    # (local 7/8 digits, 0 + 3-digit areas, 400 / 800 / 95xxx service numbers, which collide
    # with the short internal numbers a PBX or call centre uses) end by I-15 or when the
    # caller stops (T_DNIS_END, then a pulsed A3); add them with No1Config.dnis_lengths.
    numbering=MappingProxyType({**{str(p): 11 for p in range(13, 20)}, "010": 11, "02": 11}),
    clause="GF 001-9001 register signalling (verify)",
)

VARIANTS: dict[str, Variant] = {"itu": ITU, "cn": CHINA, "china": CHINA}


def get_variant(name: str | Variant) -> Variant:
    """The variant named ``name`` ("itu", "cn"); a Variant passes through."""
    if isinstance(name, Variant):
        return name
    try:
        return VARIANTS[str(name).lower()]
    except KeyError:
        raise ValueError(f"unknown No.1/R2 variant {name!r}; known: {', '.join(sorted(VARIANTS))}") from None
