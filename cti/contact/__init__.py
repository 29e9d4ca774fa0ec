"""The contact centre on the CTI server: ACD queues and agents, IVR, recording, supervision,
statistics, all driven and observed through the bus (docs/contact-centre.md)."""
from __future__ import annotations

from typing import Any

from .config import ContactConfig


def install(server: Any, config: ContactConfig) -> Any:
    """Attach the contact centre described by ``config`` to a CtiServer; returns it."""
    from .centre import ContactCentre
    return ContactCentre(server, config).attach()


__all__ = ["ContactConfig", "install"]
