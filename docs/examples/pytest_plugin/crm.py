"""The integration under test: a tiny CRM connector, as a user's repository would have it.

It watches the bus, pops the customer's record when a call is delivered to an agent's
device, answers it for the agent and writes a note when the call ends.
"""
from __future__ import annotations

from typing import Any

CUSTOMERS = {"13800138000": "王小明 (VIP)", "13900001111": "Li Na"}


class Connector:
    def __init__(self, client: Any, agent_device: str = "8001") -> None:
        self.client = client
        self.device = agent_device
        self.pops: list[tuple[str, str]] = []          # (call, customer) shown to the agent
        self.notes: dict[str, str] = {}                # call -> note written at the end

    def on_event(self, e: dict[str, Any]) -> None:
        if e["type"] == "Delivered" and e.get("device") == self.device:
            self.pops.append((e["call"], CUSTOMERS.get(e.get("calling") or "", "unknown caller")))
            self.client.answer_call(e["call"])
        elif e["type"] == "CallCleared" and any(c == e["call"] for c, _ in self.pops):
            self.notes[e["call"]] = f"cause {e.get('cause')}"
