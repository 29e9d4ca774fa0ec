"""SS7 trunk configuration: a dataclass built from a dict (a TOML ``[trunk.config]`` table).

    variant = "itu"            # or "china" (24-bit point codes)
    opc = "1-100-1"            # our point code (int or dashed text)
    dpc = "1-100-2"            # the adjacent exchange
    ni = 2                     # network indicator (2 national)
    links = [{span = 0, timeslot = 16}]     # signalling links; span = index into the trunk's spans
    cic_map = {"1" = [0, 1]}   # CIC -> [span index, timeslot]; default: CIC = 32*span + timeslot
    timers = {mtp2 = {T4N = 8.2}, mtp3 = {}, isup = {T7 = 25}}
    emergency = false, link_test = true, reset_at_start = true, pcap = "ss7.pcap"
    repeat_attempts = 1        # Q.764 2.10.1.4: our call that backs off on dual seizure is placed
                               # again on another circuit this many times (0: released, cause 41)
    transmission_medium = "speech"   # IAM transmission medium requirement (Q.763 3.54):
                               # "speech" (0, what exchanges send), "3.1khz" (3), "64k_unrestricted" (2)
    ready_wait = 0.0           # seconds a call made before any circuit is ready (start-up GRS not
                               # yet acknowledged) waits for one; 0: it fails at once, cause 41
    cic_numbering = "span"     # without cic_map: "span" = 32 * span + timeslot (the E1 timeslot
                               # is the CIC's low 5 bits), "sequential" = 1..N over the voice timeslots
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .mtp3.label import NI, Variant, parse_pc

VOICE_TIMESLOTS = tuple(range(1, 16)) + tuple(range(17, 32))


def _seconds(v: Any, key: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 3600:
        raise ValueError(f"{key} must be seconds 0..3600, not {v!r}")
    return float(v)


@dataclass(frozen=True)
class LinkConfig:
    span: int = 0          #: index into the trunk's span list
    timeslot: int = 16


@dataclass
class Ss7Config:
    variant: Variant = Variant.ITU
    opc: int = 1
    dpc: int = 2
    ni: int = NI.NATIONAL
    links: list[LinkConfig] = field(default_factory=lambda: [LinkConfig()])
    cic_map: dict[int, tuple[int, int]] = field(default_factory=dict)   #: CIC -> (span index, timeslot)
    timers: dict[str, dict[str, float]] = field(default_factory=dict)   #: mtp2 / mtp3 / isup overrides
    emergency: bool = False
    link_test: bool = True
    reset_at_start: bool = True
    pcap: str | None = None
    repeat_attempts: int = 1   #: Q.764 2.10.1.4 automatic repeat attempts after a lost dual seizure
    transmission_medium: str = "speech"   #: IAM transmission medium requirement (Q.763 3.54)
    cic_numbering: str = "span"           #: default CICs without cic_map: "span" or "sequential"
    ready_wait: float = 0.0               #: seconds a call waits for a ready circuit (0: fail at once)

    _KEYS = ("variant", "opc", "dpc", "ni", "links", "cic_map", "timers", "emergency", "link_test",
             "reset_at_start", "pcap", "repeat_attempts", "transmission_medium", "cic_numbering", "ready_wait")
    #: the range of ``repeat_attempts`` (Q.764 2.10.1.4 asks for one; more are a network option)
    REPEAT_ATTEMPTS_RANGE = (0, 3)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Ss7Config:
        """Build and validate; ValueError names the bad key."""
        d = dict(d or {})
        unknown = set(d) - set(cls._KEYS)
        if unknown:
            raise ValueError(f"unknown SS7 config keys: {', '.join(sorted(unknown))}")
        try:
            variant = Variant(str(d.get("variant", "itu")).lower())
        except ValueError:
            raise ValueError(f"variant must be 'itu' or 'china', not {d.get('variant')!r}") from None
        opc = parse_pc(d.get("opc", 1), variant)
        dpc = parse_pc(d.get("dpc", 2), variant)
        if opc == dpc:
            raise ValueError("opc and dpc must differ")
        ni = int(d.get("ni", NI.NATIONAL))
        if not 0 <= ni <= 3:
            raise ValueError(f"ni must be 0..3, not {ni}")
        links = []
        for ln in d.get("links", [{}]):
            if not isinstance(ln, dict) or set(ln) - {"span", "timeslot"}:
                raise ValueError(f"a link is {{span, timeslot}}, not {ln!r}")
            lc = LinkConfig(int(ln.get("span", 0)), int(ln.get("timeslot", 16)))
            if not 0 <= lc.timeslot <= 31 or lc.span < 0:
                raise ValueError(f"link {ln!r} out of range")
            links.append(lc)
        if not 1 <= len(links) <= 16:
            raise ValueError("1..16 links")
        cic_map: dict[int, tuple[int, int]] = {}
        for k, v in dict(d.get("cic_map", {})).items():
            cic = int(k)
            span, ts = (int(x) for x in v)
            if not 0 <= cic <= 4095 or ts not in VOICE_TIMESLOTS or span < 0:
                raise ValueError(f"cic_map {k!r} -> {v!r}: CIC 0..4095, timeslot 1-15/17-31")
            cic_map[cic] = (span, ts)
        if len(set(cic_map.values())) != len(cic_map):
            raise ValueError("cic_map names one timeslot twice")
        timers = {k: dict(v) for k, v in dict(d.get("timers", {})).items()}
        if set(timers) - {"mtp2", "mtp3", "isup"}:
            raise ValueError("timers has sections mtp2, mtp3, isup")
        repeat = d.get("repeat_attempts", 1)
        lo, hi = cls.REPEAT_ATTEMPTS_RANGE
        if isinstance(repeat, bool) or not isinstance(repeat, int) or not lo <= repeat <= hi:
            raise ValueError(f"repeat_attempts must be an int {lo}..{hi}, not {repeat!r}")
        from .isup.call import TMR
        tmr = str(d.get("transmission_medium", "speech")).lower()
        if tmr not in TMR:
            raise ValueError(f"transmission_medium must be one of {', '.join(TMR)}, not {tmr!r}")
        numbering = str(d.get("cic_numbering", "span")).lower()
        if numbering not in ("span", "sequential"):
            raise ValueError(f"cic_numbering must be 'span' or 'sequential', not {numbering!r}")
        cfg = cls(variant, opc, dpc, ni, links, cic_map, timers, bool(d.get("emergency", False)),
                  bool(d.get("link_test", True)), bool(d.get("reset_at_start", True)), d.get("pcap"),
                  repeat, tmr, numbering, _seconds(d.get("ready_wait", 0.0), "ready_wait"))
        cfg.check_timers()
        return cfg

    def check_timers(self) -> None:
        """Every override names a known timer within its range (ValueError otherwise)."""
        from cti.signaling.timers import Timers

        from .isup.timers import ISUP_TIMERS
        from .mtp2.timers import MTP2_TIMERS
        from .mtp3.linkset import MTP3_TIMERS
        for sec, specs in (("mtp2", MTP2_TIMERS), ("mtp3", MTP3_TIMERS), ("isup", ISUP_TIMERS)):
            Timers(specs, self.timers.get(sec))

    def circuits(self, nspans: int) -> dict[int, tuple[int, int]]:
        """CIC -> (span index, timeslot): ``cic_map``, or the default for ``nspans`` spans over
        the voice timeslots not used by a link: ``cic_numbering = "span"`` gives CIC = 32 * span
        + timeslot (span 0: CICs 1-15, 17-31; span 1: 33-47 ...), ``"sequential"`` gives 1..N
        in span then timeslot order."""
        if self.cic_map:
            return dict(self.cic_map)
        used = {(ln.span, ln.timeslot) for ln in self.links}
        slots = [(s, ts) for s in range(nspans) for ts in VOICE_TIMESLOTS if (s, ts) not in used]
        if self.cic_numbering == "sequential":
            return {k + 1: st for k, st in enumerate(slots)}
        return {32 * s + ts: (s, ts) for s, ts in slots}
