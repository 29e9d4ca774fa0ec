"""The "wire" backend: a board reached over a byte stream speaking docs/wire-protocol.md."""
from __future__ import annotations

from typing import Any

__all__ = ["WireBoard"]


def __getattr__(name: str) -> Any:
    # Lazy: the codec (drivers.wire.protocol) must import without pyserial.
    if name == "WireBoard":
        from .client import WireBoard
        return WireBoard
    raise AttributeError(name)
