"""Hook and ringing on station lines: an agent answers by lifting the handset, clears by hanging up.

A station timeslot on a CAS span carries, in its TS16 abcd bits, a plain loop-signalling code
(this project's station-line convention, modelled on an FXS port; the abcd values keep the
idle pattern 1001 of G.704 CAS lines and never send the forbidden 0000, G.704 5.1.3.2):

=============  ======  ===========================================
direction      abcd    meaning
=============  ======  ===========================================
to the phone   1001    idle
to the phone   0001    ringing (an ACD offer rings the agent)
from phone     1001    on hook
from phone     0001    off hook
=============  ======  ===========================================

:class:`StationHooks` reads the stations' received bits every block and reports hook changes;
:func:`service` turns them into the agent's actions: off hook while the ACD rings the agent
answers the call (as AnswerCall from the desktop would), on hook during the agent's call clears
it (as ClearConnection would). Ringing follows the agents the ACD has Reserved.
"""
from __future__ import annotations

import logging
from typing import Any

from cti.acd.agents import AgentState

from cti.media.taps import Circuit

log = logging.getLogger(__name__)

IDLE = 0b1001
RING = 0b0001
ON_HOOK = 0b1001
OFF_HOOK = 0b0001


class StationHooks:
    """Hook state and ringing of station lines (see the module docstring)."""

    def __init__(self, board: Any, stations: dict[str, Circuit]) -> None:
        self.board = board
        self.stations: dict[str, Circuit] = {}
        self.off_hook: dict[str, bool] = {}
        self.ringing: set[str] = set()
        for device, (span, ts) in stations.items():
            sp = board.span(span)
            if getattr(sp, "config", None) is not None and sp.config.signalling != "cas":
                continue                       # a CCS span carries no abcd bits: no hook signalling
            self.stations[device] = (span, ts)
            self.off_hook[device] = False
        self._by_span: dict[int, list[tuple[str, int]]] = {}      #: span -> its (device, timeslot)s
        for device, (span, ts) in self.stations.items():
            self._by_span.setdefault(span, []).append((device, ts))
        self._seen: dict[int, int | None] = {}    #: span -> its Span.changes at the last poll

    def poll(self) -> list[tuple[str, bool]]:
        """Hook changes since the last call: ``(device, off_hook)``. A station span whose
        ``Span.changes`` count did not move since its last poll (no abcd or alarm change) is
        passed over: every block, most station spans have no hook change."""
        out = []
        seen = self._seen
        for n, devices in self._by_span.items():
            try:
                span = self.board.span(n)
            except Exception:                  # a closed board: no change seen
                continue
            changes = getattr(span, "changes", None)
            if changes is not None and seen.get(n) == changes:
                continue
            failed = False
            for device, ts in devices:
                try:
                    off = span.cas(ts) == OFF_HOOK
                except Exception:              # a span in alarm or closed: no change seen
                    failed = True
                    continue
                if off != self.off_hook[device]:
                    self.off_hook[device] = off
                    out.append((device, off))
            seen[n] = None if failed else changes
        return out

    def ring(self, devices: set[str]) -> None:
        """Ring exactly ``devices`` (those with a station line)."""
        want = {d for d in devices if d in self.stations}
        for device in want ^ self.ringing:
            span, ts = self.stations[device]
            try:
                self.board.span(span).set_cas(ts, RING if device in want else IDLE)
            except Exception:
                log.warning("station %s: cannot signal %s", device, "ringing" if device in want else "idle")
                continue
        self.ringing = want


def service(centre: Any, hooks: StationHooks, now: float) -> None:
    """One block: hook changes become answers and clears; ringing follows Reserved agents."""
    by_device = {m.agent.device: m.agent for m in centre.engine.agents.values() if m.agent.device}
    for device, off in hooks.poll():
        agent = by_device.get(device)
        if agent is None or agent.call_id is None or agent.call_id not in centre.model.calls:
            continue
        try:
            if off and agent.state is AgentState.RESERVED:
                centre.answer_for(agent.call_id, agent.id)
            elif not off and agent.state is AgentState.BUSY:
                centre.model.clear_connection(agent.call_id, now)
        except Exception as e:        # the call moved on meanwhile: the hook change is moot
            log.info("station %s hook %s on call %s: %s", device, "off" if off else "on", agent.call_id, e)
    hooks.ring({a.device for a in by_device.values() if a.state is AgentState.RESERVED and a.device})
