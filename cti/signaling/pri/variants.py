"""Q.931 variant differences as data: one table, ETSI (EuroISDN, ETS 300 102) the default.

Each :class:`Variant` names only what differs between the variants that E1 PRI equipment
meets; the call control reads these fields and nothing else tells variants apart.
"""
from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    #: the user side answers a CONNECT with CONNECT ACKNOWLEDGE (Q.931 5.1.8: optional)
    user_connect_ack: bool = True
    #: an en-bloc SETUP carries Sending complete (ETS 300 102-1 5.1.1; Q.931 optional)
    sending_complete: bool = True
    #: the first answer to a SETUP from the network names the channel even if it was exclusive
    channel_id_in_first_response: bool = True
    #: a display element starts with a character set octet (ANSI T1.607 / NI-2)
    display_charset: bool = False
    #: the user side may send Display toward the network
    display_to_network: bool = False
    #: RESTART of the whole interface when the data link comes up (at start-up)
    restart_at_link_up: bool = False
    #: timer values that differ from Q.931 Tables 9-1/9-2 (seconds)
    timers: tuple[tuple[str, float], ...] = ()
    #: numbering plan of the numbers we send (1 E.164, 9 private)
    plan: int = 1


VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant("etsi", "ETSI EuroISDN (ETS 300 102-1 / EN 300 403), the default for E1"),
    Variant("q931", "ITU-T Q.931 (05/98) as written", user_connect_ack=False, sending_complete=False),
    Variant("ni2", "National ISDN-2 (Telcordia SR-4619), as some E1 PBXs are set",
            display_charset=True, display_to_network=True, timers=(("T310", 10.0),)),
    Variant("qsig", "QSIG (ECMA-143) basic call between PBXs", display_to_network=True, plan=9,
            channel_id_in_first_response=True, timers=(("T310", 120.0),)),
    Variant("china", "China ISDN PRI (YD/T 1013, ETSI based)", restart_at_link_up=True),
)}


def variant(name: str) -> Variant:
    try:
        return VARIANTS[name.lower()]
    except KeyError:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)}, not {name!r}") from None


def variants_markdown() -> str:
    """The variant table as Markdown (docs/pri.md embeds it)."""
    cols = [f.name for f in fields(Variant) if f.name != "description"]
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for v in VARIANTS.values():
        cells = []
        for c in cols:
            x = getattr(v, c)
            cells.append(", ".join(f"{k}={s:g}s" for k, s in x) or "-" if c == "timers" else
                         ("yes" if x else "no") if isinstance(x, bool) else str(x))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)
