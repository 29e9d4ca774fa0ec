"""Table-driven finite state machines.

A machine is a dict ``{(state, event): (action, next_state)}``. Anything not in the
table is a protocol error that the caller reports (never a crash). ``action`` is the
name of a method on the owner, called with the event's arguments, or None.
States are str-valued Enums annotated with their spec clause in the owning module.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Callable, Generic, Hashable, Mapping, TypeVar

from .errors import RemoteProtocolError

S = TypeVar("S", bound=enum.Enum)

#: Matches any state in a table key: ``(ANY, "Ev")`` applies where no exact row does.
ANY = "*"


@dataclass(frozen=True, slots=True)
class Transition:
    action: str | None
    next_state: Any  # a state, or None to stay


class UnexpectedEvent(RemoteProtocolError):
    """An event arrived in a state whose table has no row for it."""

    def __init__(self, machine: str, state: Any, event: Hashable) -> None:
        super().__init__(f"{machine}: event {event!r} not allowed in state {getattr(state, 'name', state)}")
        self.machine = machine
        self.state = state
        self.event = event


class TableFSM(Generic[S]):
    """Drives a transition table; the owner supplies the action methods."""

    def __init__(self, name: str, table: Mapping[tuple[Any, Hashable], tuple[str | None, Any]],
                 initial: S, owner: Any) -> None:
        self.name = name
        self.table = {k: Transition(*v) for k, v in table.items()}
        self.state: S = initial
        self.owner = owner
        self.trace: list[tuple[Any, Hashable, Any]] = []  # (from, event, to) for golden-file tests

    def allowed(self, event: Hashable) -> bool:
        return (self.state, event) in self.table or (ANY, event) in self.table

    def fire(self, event: Hashable, *args: Any, **kwargs: Any) -> Any:
        """Apply ``event``; raises UnexpectedEvent when the table has no row."""
        tr = self.table.get((self.state, event)) or self.table.get((ANY, event))
        if tr is None:
            raise UnexpectedEvent(self.name, self.state, event)
        before = self.state
        if tr.next_state is not None:
            self.state = tr.next_state
        self.trace.append((before, event, self.state))
        if tr.action is not None:
            fn: Callable[..., Any] = getattr(self.owner, tr.action)
            return fn(*args, **kwargs)
        return None

    def states_and_events(self) -> list[tuple[Any, Hashable, Any]]:
        """The table as rows, for docs (state diagrams generated from the tables)."""
        return [(s, e, t.next_state) for (s, e), t in self.table.items()]
