"""What both publishers (compiled ``publish_c`` and its twin ``publish_py``) share, written once."""
from __future__ import annotations

#: ``limit`` of a publisher nobody limits
NO_LIMIT = (1 << 62)


def check_seq(seq: object) -> int:
    """``seq`` (the last seq published) as given; ValueError unless a non-negative int."""
    if not isinstance(seq, int) or seq < 0:
        raise ValueError(f"seq must be a non-negative int, not {seq!r}")
    return seq
