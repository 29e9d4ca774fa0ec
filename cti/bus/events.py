"""Events the bus itself publishes (the call model's are in :mod:`cti.call.events`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from cti.call.events import BusEvent


@dataclass(frozen=True, slots=True)
class JournalGap(BusEvent):
    """Seqs first..last are not in the journal and never will be: the server stopped uncleanly
    (crash, kill, power failure) after reserving them, and some may have been published before
    it stopped. They are never reused. A client that saw some of them keeps what it saw; one
    resuming at or inside the range continues after it (a declared gap, not a silent one)."""

    TOPIC: ClassVar[str] = "server"

    first: int
    last: int
    reason: str = ""

    def topic(self) -> str:
        return "server.journal_gap"


#: Events of the bus itself, by name (the schema lists them with the call model's).
BUS_EVENTS: dict[str, type[BusEvent]] = {"JournalGap": JournalGap}
