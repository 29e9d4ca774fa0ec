"""Supervisor monitor, whisper (coach) and barge-in: who hears whom, mixed in the G.711 kernel.

=========  ===================  =====================  =====================
mode       caller hears         agent hears            supervisor hears
=========  ===================  =====================  =====================
monitor    agent                caller                 caller + agent
whisper    agent                caller + supervisor    caller + agent
barge      agent + supervisor   caller + supervisor    caller + agent
=========  ===================  =====================  =====================

Blocks are A-law octets of equal length (160 per 20 ms). Rights are checked by the bus
(a supervisor may supervise only agents of its team); this module only mixes.
"""
from __future__ import annotations

import enum

from _boardcore import g711


class SuperviseMode(str, enum.Enum):
    MONITOR = "monitor"
    WHISPER = "whisper"
    BARGE = "barge"


def mix(mode: SuperviseMode | str, caller: bytes, agent: bytes, supervisor: bytes) -> tuple[bytes, bytes, bytes]:
    """(to caller, to agent, to supervisor) for one block of each party's speech."""
    m = SuperviseMode(mode)
    to_sup = g711.mix_alaw(caller, agent)
    if m is SuperviseMode.MONITOR:
        return bytes(agent), bytes(caller), to_sup
    if m is SuperviseMode.WHISPER:
        return bytes(agent), g711.mix_alaw(caller, supervisor), to_sup
    return g711.mix_alaw(agent, supervisor), g711.mix_alaw(caller, supervisor), to_sup
