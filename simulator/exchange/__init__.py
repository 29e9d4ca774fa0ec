"""Simulated exchanges: ``no1.No1Exchange`` (CAS + MFC) and ``ss7.Ss7Exchange`` (ISUP)."""
from .base import Behaviour, CallRecord, CallScript, Exchange, Subscriber

__all__ = ["Behaviour", "CallRecord", "CallScript", "Exchange", "Subscriber"]
