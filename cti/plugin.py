"""The server's plugin protocol: how a part of the CTI server is handed in.

A :class:`CtiServer <cti.server.CtiServer>` is the board, the trunk adapters, the call
model and the bus, plus a list of *components* given at construction (starlette's list of
middleware, pluggy's hook specifications): the contact centre, the demo scenario, simulated
exchanges, a gateway's feed. A component declares what it needs from the server and what it
adds; the server calls it. Nothing patches another part's methods.

The protocol (stable: rooms build on it; add hooks with defaults, never change these)::

    class Component:
        name: str                                   # unique among a server's components
        def start(self, host: Host) -> None         # lifespan: the server is built, its bus bound
        def stop(self) -> None                      # lifespan: before the bus and store close
        def deadline(self) -> float | None          # model time service() must next run; None: no timer
        def service(self, now: float) -> None       # called once the deadline has come
        def requests(self) -> Mapping[str, Link]    # request types it serves or wraps (a chain link each)
        def sections(self) -> Mapping[str, Section] # snapshot sections it adds
        def events(self) -> Collection[str] | None  # event types it wants: () none (default), None all
        def on_event(self, event) -> None           # one event the server published

**Requests are an explicit chain.** For each request type the server links the components
that name it in :meth:`Component.requests`, in the order the components were handed in, and
ends the chain with its own call control (CSTA services over the call model) and finally an
``UnknownRequestError``. A link is called ``link(account, request, t, next)``: it answers
(the first component that serves the type), or passes the request on with
``next(account, request, t)`` (it observes or wraps), possibly after changing nothing but its
own state. :func:`serves` turns a plain handler into a link that never passes on.

**Time.** The server runs ``service(now)`` on every component whose :meth:`deadline` is due,
in the order handed in, after the call model's own service; on a board that ticks (the
simulator) that is checked every 20 ms block, otherwise at each turn of the loop, which
sleeps until the earliest deadline of the components, the call model and its stacks, or
until a socket or the board has something (never a fixed poll). A component that must see
every block of audio returns ``now``-or-earlier until it is idle (:data:`EVERY_BLOCK`).

**Events.** Everything the server publishes (call-model events, and what components publish
through :meth:`Host.publish`) goes to the components whose :meth:`events` name its type
(``type(event).__name__``, or a dict's ``"type"``), after it is on the bus.

A component subclasses :class:`Component` and overrides what it needs (the defaults do
nothing); :class:`Host` is what the server offers it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol
from collections.abc import Callable, Collection, Mapping

if TYPE_CHECKING:     # types only: the bus and call model sit on the floors this protocol joins
    from cti.bus.auth import Account, AccountBook
    from cti.bus.server import BusServer
    from cti.call.model import CallModel

#: ``handler(account, request, t) -> result map`` (raises a typed CallControlError to refuse)
Handler = Callable[["Account", Any, float], dict[str, Any]]
#: ``link(account, request, t, next) -> result map``: answers, or calls ``next(account, request, t)``
Link = Callable[["Account", Any, float, Handler], dict[str, Any]]
#: ``section(account, book) -> rows``: a snapshot section as that account may see it
Section = Callable[["Account", "AccountBook"], list[dict[str, Any]]]

#: a :meth:`Component.deadline` that asks for service at every block / loop turn
EVERY_BLOCK = float("-inf")


class Host(Protocol):
    """What the server offers its components (:class:`cti.server.CtiServer` is one)."""

    board: Any                 #: the drivers.base.Board, or None (loopback trunks)
    model: CallModel
    bus: BusServer

    def now(self) -> float:
        """Model time (the board's clock)."""
        ...

    def publish(self, event: Any) -> int:
        """Publish ``event`` on the bus (returns its seq) and hand it to the components that want it."""
        ...

    def flush_model(self) -> None:
        """Publish the events and store the CDRs the call model produced so far."""
        ...


class Component:
    """A part handed to the server (see the module docstring); every hook defaults to nothing."""

    name: str = "component"

    def start(self, host: Host) -> None:
        """The server is built and its bus bound: take what you need from ``host``."""

    def stop(self) -> None:
        """The server is stopping: finish what is open (files, recordings)."""

    def deadline(self) -> float | None:
        """Model time at which :meth:`service` must next run; None: only on input."""
        return None

    def service(self, now: float) -> None:
        """Run timers and per-block work due by ``now``."""

    def requests(self) -> Mapping[str, Link]:
        """Request type -> the link this component adds to its chain."""
        return {}

    def sections(self) -> Mapping[str, Section]:
        """Snapshot section name -> provider."""
        return {}

    def events(self) -> Collection[str] | None:
        """Event types wanted by :meth:`on_event`: () none, None every event."""
        return ()

    def on_event(self, event: Any) -> None:
        """One published event of a type named by :meth:`events`."""


def serves(handler: Handler) -> Link:
    """A link that answers with ``handler`` and never passes the request on."""
    def link(account: Account, request: Any, t: float, _next: Handler) -> dict[str, Any]:
        return handler(account, request, t)
    link.__doc__ = handler.__doc__
    return link


def chain(links: list[Link], last: Handler) -> Handler:
    """One handler that runs ``links`` in order, each with the rest of the chain as ``next``."""
    handler = last
    for link in reversed(links):
        handler = _bind(link, handler)
    return handler


def _bind(link: Link, nxt: Handler) -> Handler:
    def handler(account: Account, request: Any, t: float) -> dict[str, Any]:
        return link(account, request, t, nxt)
    return handler


def event_type(event: Any) -> str:
    """The type name an event is subscribed by."""
    return str(event.get("type")) if isinstance(event, dict) else type(event).__name__


__all__ = ["EVERY_BLOCK", "Component", "Handler", "Host", "Link", "Section", "chain", "event_type", "serves"]
