"""The project's protocol accelerators, registered with the kernel selector.

Each is ``<prefix>_py`` (the twin) and ``<prefix>_c`` (compiled by setup.py, from a ``.pyx`` or
from the twin itself with a ``.pxd``), picked at import by :func:`_boardcore._select.load`.
The lowest floor names nothing above it, so the list lives here and ``import cti`` registers
it; ``_boardcore.IMPLEMENTATIONS`` then covers these too. A room that adds an accelerator adds
its prefix here.
"""
from __future__ import annotations

from _boardcore import _select

ACCELERATED: tuple[str, ...] = (
    "cti.signaling.ss7.mtp2.bec", "cti.signaling.ss7.mtp3.route", "cti.signaling.ss7.seqpacket",
    "cti.signaling.ss7.isup.codec", "cti.signaling.ss7.isup.control", "cti.signaling.ss7.isup.iam",
    "cti.store.journal", "cti.bus.publish",
    "cti.signaling.machine", "cti.signaling.pri.link", "cti.gateway.sendloop", "cti.signaling.pri.message",
    "cti.signaling.pri.q931", "cti.signaling.pri.stack", "cti.signaling.pri.call",
)

_select.register(*ACCELERATED)
