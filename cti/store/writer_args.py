"""What both journal writers (compiled ``journal_c`` and its twin ``journal_py``) share: their
queue limits and the check of their arguments, written once."""
from __future__ import annotations

#: queued octets that make the writer write before its interval is up
HURRY_BYTES = 4 << 20
#: queued octets that make submit wait for the writer (memory stays bounded when the disk is slower)
MAX_BYTES = 64 << 20
#: the journal row both writers insert
INSERT = "INSERT INTO journal (seq, last, time, topic, type, body) VALUES (?, ?, ?, ?, ?, ?)"


def check_writer_args(page: int, interval: float) -> None:
    """ValueError unless ``page`` is 1..65535 events and ``interval`` 0..60 seconds."""
    if not 1 <= page <= 65535:
        raise ValueError(f"page must be 1..65535 events, not {page}")
    if not 0.0 <= interval <= 60.0:
        raise ValueError(f"interval must be 0..60 seconds, not {interval}")
