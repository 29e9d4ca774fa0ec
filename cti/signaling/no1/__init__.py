"""China No.1 signalling (R2 digital line signalling + compelled MFC), sans-IO, plus the trunk adapter.

line.py      CAS line signalling FSM of one circuit (Q.421 code, China c,d = 11)
register.py  compelled MFC register FSMs: OutgoingRegister (forward), IncomingRegister (backward)
variants.py  signal roles; ITU R2 defaults with China as an override
timers.py    every timer with its clause and range
config.py    No1Config (from a TOML section)
trunk.py     No1Trunk: a span's 30 circuits through the Board API (TrunkAdapter)
"""
from .config import No1Config
from .line import Line, LineEvent, LineState
from .register import IncomingRegister, OutgoingRegister, RegisterEvent, RegState
from .variants import CHINA, ITU, Role, Variant, get_variant

__all__ = ["No1Config", "Line", "LineEvent", "LineState", "IncomingRegister", "OutgoingRegister",
           "RegisterEvent", "RegState", "CHINA", "ITU", "Role", "Variant", "get_variant"]
