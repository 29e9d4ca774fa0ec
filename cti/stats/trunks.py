"""Trunk report: what the network side did, per span, from the call events of the journal.

A *seizure* is a call that occupied a circuit of the span (incoming: the network seized it;
outgoing: we did). It is *answered* when the call was established on that circuit. The
answer-seizure ratio (ASR, ITU-T E.411 / E.425) is answered seizures / seizures, in %.
Each seizure's clearing cause (Q.850, from ``CallCleared`` / ``ConnectionCleared`` /
``Failed``) is counted, so a span that keeps failing with cause 34 or 41 stands out.
"""
from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from typing import IO, Any
from collections.abc import Iterable

COLUMNS = ("span", "seizures", "incoming", "outgoing", "answered", "asr", "causes")

#: call events that carry the circuit of the call
_CALL_TYPES = frozenset({"Originated", "Offered", "Delivered", "Diverted", "Established", "Held", "Retrieved",
                         "Queued", "Failed", "Transferred", "Conferenced", "DigitsDialed", "Reattempted",
                         "UserDataChanged", "ConnectionCleared", "CallCleared"})
_CLEARING = frozenset({"CallCleared", "ConnectionCleared", "Failed"})


@dataclass
class _Seizure:
    span: int
    direction: str = ""
    answered: bool = False
    cause: int | None = None


@dataclass
class TrunkReport:
    """Feed it events (dicts as journaled); ``rows()`` gives one row per span."""

    seizures: dict[tuple[str, int, int], _Seizure] = field(default_factory=dict)

    def feed(self, events: Iterable[dict[str, Any]]) -> TrunkReport:
        for ev in events:
            if ev.get("type") not in _CALL_TYPES:
                continue
            call, span, ts = ev.get("call"), ev.get("span"), ev.get("ts")
            if not isinstance(call, str) or not isinstance(span, int) or not isinstance(ts, int):
                continue                        # not on a trunk circuit (a station-only call, junk)
            s = self.seizures.setdefault((call, span, ts), _Seizure(span))
            d = ev.get("direction")
            if d in ("in", "out") and not s.direction:
                s.direction = d
            if ev["type"] == "Established":
                s.answered = True
            cause = ev.get("cause")
            if ev["type"] in _CLEARING and isinstance(cause, int) and s.cause is None:
                s.cause = cause
        return self

    def rows(self) -> list[dict[str, Any]]:
        spans = sorted({s.span for s in self.seizures.values()})
        out = []
        for span in spans:
            ss = [s for s in self.seizures.values() if s.span == span]
            answered = sum(s.answered for s in ss)
            causes = Counter(s.cause for s in ss if s.cause is not None)
            out.append({
                "span": span, "seizures": len(ss),
                "incoming": sum(s.direction == "in" for s in ss),
                "outgoing": sum(s.direction == "out" for s in ss),
                "answered": answered,
                "asr": round(100.0 * answered / len(ss), 1) if ss else None,
                "causes": " ".join(f"{c}:{n}" for c, n in sorted(causes.items(), key=lambda kv: (-kv[1], kv[0]))),
            })
        return out

    def write_csv(self, out: IO[str]) -> None:
        w = csv.DictWriter(out, fieldnames=COLUMNS)
        w.writeheader()
        for r in self.rows():
            w.writerow({k: ("" if v is None else v) for k, v in r.items()})
