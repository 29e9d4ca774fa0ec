"""Answering-machine detection on an answered outbound call: the board's AMD kernel
(``_boardcore.amd``) fed the callee's A-law audio from the answer on, and what the campaign
does with its verdict.

Actions (``[contact.campaigns.<name>] amd``): ``drop`` (a machine's call is released at once),
``message`` (wait for the end of the greeting - the beep, else a long silence - then play
``amd_message`` and release), ``agent`` (machines go to an agent like people, marked
``machine``). ``""`` (default): no detection, every answer is a person.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from _boardcore.amd import VERDICTS, AmdDetector, AmdEvent, params
from _boardcore.g711 import alaw_decode

ACTIONS = ("drop", "message", "agent")


def check(action: Any, message: Any, amd_params: Any) -> None:
    """ValueError when a campaign's AMD settings make no sense."""
    if action not in ("", *ACTIONS):
        raise ValueError(f"amd: one of {ACTIONS} or '', not {action!r}")
    if action == "message" and (not isinstance(message, str) or not message):
        raise ValueError("amd = 'message' needs amd_message (the prompt to leave)")
    if amd_params is not None and not isinstance(amd_params, Mapping):
        raise ValueError(f"amd_params: a table of AMD parameters, not {amd_params!r}")
    params(**dict(amd_params or {}))


class AmdListener:
    """One answered call's detector: feed A-law blocks; ``verdict`` and ``end`` when known."""

    def __init__(self, **kw: Any) -> None:
        self.detector = AmdDetector(**kw)
        self.start: float | None = None
        self.verdict: AmdEvent | None = None   #: human / machine / unknown
        self.end: AmdEvent | None = None       #: beep or greeting-end (machines)

    def feed(self, alaw: bytes, t: float) -> None:
        if self.start is None:
            self.start = float(t)
        if self.detector.done or not alaw:
            return
        for ev in self.detector.feed(alaw_decode(bytes(alaw))):
            if ev.kind in VERDICTS:
                self.verdict = ev
            else:
                self.end = ev

    def time_of(self, ev: AmdEvent) -> float:
        """The event's time on the caller's clock."""
        return (self.start or 0.0) + ev.at / 1000.0
