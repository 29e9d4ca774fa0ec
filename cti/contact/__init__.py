"""The contact centre on the CTI server: ACD queues and agents, IVR, recording, supervision,
statistics, all driven and observed through the bus (docs/contact-centre.md).

It is a server component (:mod:`cti.plugin`): hand it in at construction,
``CtiServer(cfg, components=[ContactCentre(ContactConfig.from_dict(...))])``, or add it to a
server with :func:`install`.
"""
from __future__ import annotations

from typing import Any

from .config import ContactConfig


def install(server: Any, config: ContactConfig) -> Any:
    """Hand the contact centre described by ``config`` to a CtiServer (``server.add``); returns it."""
    from .centre import ContactCentre
    return server.add(ContactCentre(config))


__all__ = ["ContactConfig", "install"]
