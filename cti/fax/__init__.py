"""Fax over G.711 on any timeslot: libspandsp's T.30 engine through cffi (see docs/fax.md)."""
from ._native import FaxUnavailable, available
from .document import FaxDocumentError
from .session import FaxCompleted, FaxEvent, FaxOptions, FaxPage, FaxSession, FaxStarted, Modem

__all__ = ["FaxCompleted", "FaxDocumentError", "FaxEvent", "FaxOptions", "FaxPage", "FaxSession", "FaxStarted",
           "FaxUnavailable", "Modem", "available"]
