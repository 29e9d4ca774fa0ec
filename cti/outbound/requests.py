"""Bus requests of running outbound campaigns: switch the pacing mode, and preview work.

* ``SetCampaignMode {campaign, mode}``: preview / progressive / predictive while the campaign
  runs (its history is kept; predictive needs the campaign's abandon message). Supervisors
  and integrators.
* ``PreviewNext {campaign, agent}``: preview mode: reserve the next record the calling rules
  allow for ``agent`` and return it (``attempt``, ``number``, ``data``); the agent reads it and
  then dials or skips it. The agent (for itself), its supervisor or an integrator.
* ``PreviewDial {campaign, attempt}``: dial the previewed record from the agent's own device;
  the outcome is classified as for any attempt (CampaignProgress) and an answered callee is
  with the agent at once (never queued, never abandoned).
* ``PreviewSkip {campaign, attempt, later}``: the agent skips the record: done, or back in
  the list after ``later`` seconds.

The request types join the bus schema with the contact centre's
(:mod:`cti.contact.requests`); the contact centre serves them.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SetCampaignMode:
    """Switch running campaign ``campaign`` to pacing ``mode``: preview, progressive or predictive."""

    campaign: str
    mode: str
    RESULT = ("campaign", "mode")


@dataclass(frozen=True, slots=True)
class PreviewNext:
    """Preview mode: the next record of ``campaign`` for ``agent`` to look at (dial or skip)."""

    campaign: str
    agent: str
    RESULT = ("campaign", "attempt", "number", "data")


@dataclass(frozen=True, slots=True)
class PreviewDial:
    """Dial previewed record ``attempt`` of ``campaign`` from its agent's device."""

    campaign: str
    attempt: str
    RESULT = ("campaign", "attempt", "call")


@dataclass(frozen=True, slots=True)
class PreviewSkip:
    """Skip previewed record ``attempt``: done, or tried again ``later`` seconds from now."""

    campaign: str
    attempt: str
    later: float | None = None
    RESULT = ("campaign", "attempt")


OUTBOUND_REQUESTS = (SetCampaignMode, PreviewNext, PreviewDial, PreviewSkip)
