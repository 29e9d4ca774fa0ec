"""What both publishers (compiled ``publish_c`` and its twin ``publish_py``) share, written once."""
from __future__ import annotations

#: ``limit`` of a publisher nobody limits
NO_LIMIT = (1 << 62)


def check_seq(seq: object) -> int:
    """``seq`` (the last seq published) as given; ValueError unless a non-negative int."""
    if not isinstance(seq, int) or seq < 0:
        raise ValueError(f"seq must be a non-negative int, not {seq!r}")
    return seq


def check_epoch(epoch: object) -> str | None:
    """``epoch`` (the journal's id) as given; ValueError unless None or a str of 1..64 characters."""
    if epoch is not None and (not isinstance(epoch, str) or not 0 < len(epoch) <= 64):
        raise ValueError(f"epoch must be None or a str of 1..64 characters, not {epoch!r}")
    return epoch
