"""Deterministic runs: ``cti-server --clock virtual --until SECONDS`` (docs/scenarios.md).

:class:`RunReport` is a component that watches every published event and, when the board's
(virtual) clock reaches ``until`` — or earlier, when the scenario has only scripted calls and
all of them have ended — stops the server. It then gives a summary: calls by outcome (as our
side saw them), events by type, errors logged, calls the network could not place (lost), and
what the scenario's expectations (``[scenario.expect]``, ``expect`` of a scripted call) did
not meet. ``cti-server`` prints it and exits 1 on errors, lost calls or unmet expectations.

Identical inputs give identical runs: the virtual clock advances by ``board.step`` per loop
turn whatever the wall clock does, the scenario draws from its seeded RNG, and nothing on the
model's path reads the wall clock. ``trace`` writes each event (its fields and type, without
the bus envelope's wall-clock ``time`` and journal ``epoch``) as one JSON line, so two runs
can be compared byte for byte.
"""
from __future__ import annotations

import collections
import json
import logging
from typing import Any, TextIO
from collections.abc import Collection

from cti.plugin import Component, Host

#: model seconds between two checks whether a scripted scenario is finished
DONE_CHECK = 0.5


class _ErrorCount(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name}: {record.getMessage()}")


class RunReport(Component):
    """See the module docstring; ``until`` in board seconds (None: until the scenario is done)."""

    name = "run"

    def __init__(self, until: float | None = None, trace: TextIO | None = None) -> None:
        self.until = until
        self.trace = trace
        self.done = False
        self.ended_at: float | None = None
        self.n_events = 0
        self.by_type: collections.Counter[str] = collections.Counter()
        self.calls: dict[str, dict[str, Any]] = {}
        self._errors = _ErrorCount()
        self._host: Host | None = None
        self._next = 0.0

    def start(self, host: Host) -> None:
        self._host = host
        self._next = host.now() + DONE_CHECK
        logging.getLogger().addHandler(self._errors)

    def stop(self) -> None:
        logging.getLogger().removeHandler(self._errors)

    def events(self) -> Collection[str] | None:
        return None

    def on_event(self, event: Any) -> None:
        d = event if isinstance(event, dict) else event.to_dict()
        kind = str(d.get("type"))
        self.n_events += 1
        self.by_type[kind] += 1
        if self.trace is not None:
            self.trace.write(json.dumps({k: v for k, v in d.items() if k not in ("time", "epoch", "seq")},
                                        sort_keys=True, default=str, ensure_ascii=False) + "\n")
        call = d.get("call")
        if not call:
            return
        c = self.calls.setdefault(str(call), {"direction": d.get("direction") or "", "answered": False,
                                              "cleared": False, "cause": None})
        c["direction"] = c["direction"] or d.get("direction") or ""
        if kind == "Established":
            c["answered"] = True
        elif kind == "CallCleared":
            c["cleared"], c["cause"] = True, d.get("cause")

    def deadline(self) -> float | None:
        if self.done:
            return None
        return self._next if self.until is None else min(self.until, self._next)

    def service(self, now: float) -> None:
        self._next = now + DONE_CHECK
        if self.done or self._host is None:
            return
        scenario = self._scenario()
        if (self.until is not None and now >= self.until) or (scenario is not None and scenario.finished()):
            self.done = True
            self.ended_at = now
            stop = getattr(self._host, "stop", None)
            if stop is not None:
                stop()

    # ---- the summary ---------------------------------------------------------------------
    def _scenario(self) -> Any:
        for c in getattr(self._host, "components", []):
            if c.name == "demo":
                return getattr(c, "scenario", None)
        return None

    def _networks(self) -> list[Any]:
        for c in getattr(self._host, "components", []):
            if c.name == "network":
                return list(getattr(c, "networks", []))
        return []

    def summary(self) -> dict[str, Any]:
        """Counts (the keys of ``[scenario.expect]``), events by type, errors, lost calls and
        unmet expectations."""
        from simulator.scenario import check, lost_calls
        outcomes: collections.Counter[str] = collections.Counter()
        for c in self.calls.values():
            if not c["cleared"]:
                outcomes["open"] += 1
            elif c["answered"]:
                outcomes["answered"] += 1
            elif c["cause"] == 17:
                outcomes["busy"] += 1
            elif c["direction"] == "in":
                outcomes["unanswered"] += 1
            else:
                outcomes["failed"] += 1
        lost = lost_calls(self._networks())
        counts: dict[str, int] = {"calls": len(self.calls), "events": self.n_events, "errors": len(self._errors.messages),
                  "lost": len(lost),
                  "inbound": sum(1 for c in self.calls.values() if c["direction"] == "in"),
                  "outbound": sum(1 for c in self.calls.values() if c["direction"] == "out"),
                  **{k: outcomes.get(k, 0) for k in ("answered", "unanswered", "busy", "failed", "open")}}
        scenario = self._scenario()
        unmet: list[str] = []
        if scenario is not None:
            records = [r for n in self._networks() for r in getattr(n, "records", [])]
            unmet = check(scenario.config, counts, records)
        return {"until": self.until, "ended_at": self.ended_at, "counts": counts,
                "events_by_type": dict(sorted(self.by_type.items())),
                "errors": self._errors.messages[:50], "lost": lost[:50], "unmet": unmet}


def render(summary: dict[str, Any]) -> str:
    """The summary as a few lines of text."""
    c = summary["counts"]
    ended = summary["ended_at"]
    lines = [f"run: {ended if ended is not None else '?'} virtual s, {c['events']} events, "
             f"{c['errors']} errors, {c['lost']} lost calls",
             f"calls: {c['calls']} (in {c['inbound']}, out {c['outbound']}): answered {c['answered']}, "
             f"unanswered {c['unanswered']}, busy {c['busy']}, failed {c['failed']}, open {c['open']}",
             "events: " + ", ".join(f"{k} {v}" for k, v in summary["events_by_type"].items())]
    lines += [f"error: {e}" for e in summary["errors"]]
    lines += [f"lost: {x}" for x in summary["lost"]]
    lines += [f"unmet: {x}" for x in summary["unmet"]]
    if not (summary["errors"] or summary["lost"] or summary["unmet"]):
        lines.append("result: OK")
    else:
        lines.append("result: FAILED")
    return "\n".join(lines)


def failed(summary: dict[str, Any]) -> bool:
    """Errors, lost calls or unmet expectations."""
    return bool(summary["counts"]["errors"] or summary["counts"]["lost"] or summary["unmet"])


__all__ = ["RunReport", "failed", "render"]
