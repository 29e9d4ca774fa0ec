"""Linux DAHDI cards behind the Board API (registered as board ``"dahdi"``).

    board = drivers.open("dahdi", spans=[1, 2])        # DAHDI spans 1 and 2, as dahdi_cfg set them
    board = DahdiBoard(spans=2, device=FakeDahdi(spans=2, loop=[(1, 2)]))   # tests: no card

See docs/dahdi.md. Every system call goes through :class:`DeviceLayer`;
:class:`drivers.dahdi.fake.FakeDahdi` is a double that behaves like the DAHDI kernel.
"""
from __future__ import annotations

from .board import DahdiBoard, DahdiHdlc, DahdiSpan, alarms_of
from .device import DeviceLayer

__all__ = ["DahdiBoard", "DahdiSpan", "DahdiHdlc", "DeviceLayer", "alarms_of"]
