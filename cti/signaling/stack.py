"""The one sans-IO shape of every signalling stack, pinned by a :class:`typing.Protocol`.

Every protocol machine that an adapter drives — a No.1 line or MFC register, an MTP2 link,
MTP3, ISUP call control, Q.921/Q.931 — offers the same five calls, and nothing else is
needed to run it (aioquic / h11 style: the stack never reads a clock or touches a socket)::

    stack.receive(data, now)        # what arrived from the wire (bytes, abcd bits, an MF signal ...)
    stack.events()                  # what it means to the layer above, oldest first (drains)
    stack.data_to_send(now)         # what to put on the wire now
    stack.timer_deadline()          # when handle_timer must run even without input (None: never)
    stack.handle_timer(now)         # run the timers due at ``now``

Rules every implementation keeps:

* ``now`` is a float of seconds on one monotonic clock, chosen by the caller and never
  earlier than the ``now`` of the previous call;
* ``events()`` returns a new list each call and forgets what it returned (a drain);
* ``data_to_send(now)`` is what the wire needs *now*: for framed transports (HDLC, SCTP,
  a socket) the frames queued since the last call (a drain, a list of ``bytes``); for
  level signalling such as CAS bits or an MF tone, the current level (an ``int``, which the
  caller may write again at any time — after a card or peer reconnects for instance);
* ``timer_deadline()`` never returns a time in the past without ``handle_timer`` making
  progress on it; a stack with nothing pending returns None;
* requests from the layer above (seize, answer, clear, send a message ...) are ordinary
  methods with a ``now`` argument; their effects show up through the same five calls.

The type parameters are what goes in, what comes out and the event type, so a checker sees
``Line`` as ``SansIOStack[int, int, LineEvent]`` and an MTP2 link as
``SansIOStack[bytes, list[bytes], Mtp2Event]``. :func:`conformance` checks the shape at run
time, beyond what ``isinstance`` sees (parameter names and counts), for tests.
"""
from __future__ import annotations

import inspect
from typing import Protocol, TypeVar, runtime_checkable

InT_contra = TypeVar("InT_contra", contravariant=True)    #: what :meth:`SansIOStack.receive` takes
OutT_co = TypeVar("OutT_co", covariant=True)     #: what :meth:`SansIOStack.data_to_send` returns
EvT = TypeVar("EvT")        #: the event type :meth:`SansIOStack.events` lists

__all__ = ["SHAPE", "SansIOStack", "conformance"]


@runtime_checkable
class SansIOStack(Protocol[InT_contra, OutT_co, EvT]):
    """A signalling protocol machine without I/O: feed it, drain it, clock it."""

    def receive(self, data: InT_contra, now: float) -> None:
        """``data`` arrived from the wire at ``now``. Malformed data raises ValueError (or a
        RemoteProtocolError) and leaves the stack usable; protocol surprises become events."""

    def events(self) -> list[EvT]:
        """The events produced since the last call, oldest first."""

    def data_to_send(self, now: float) -> OutT_co:
        """What to put on the wire at ``now``."""

    def timer_deadline(self) -> float | None:
        """The earliest time :meth:`handle_timer` must run even without input, or None."""

    def handle_timer(self, now: float) -> None:
        """Run every timer due at ``now`` (a timer's expiry is an event of the state table)."""


#: method name -> positional parameter names after ``self`` (the shape, for :func:`conformance`)
SHAPE: dict[str, tuple[str, ...]] = {
    "receive": ("data", "now"),
    "events": (),
    "data_to_send": ("now",),
    "timer_deadline": (),
    "handle_timer": ("now",),
}


def conformance(obj: object) -> list[str]:
    """What keeps ``obj`` (an instance or a class) from the shape: missing methods, or methods
    that cannot be called with the shape's arguments. An empty list means it conforms.

    Parameter *names* other than ``now`` are free (``receive(self, frame, now)`` conforms);
    ``now`` must be called ``now`` so that keyword calls work across stacks."""
    problems: list[str] = []
    for name, params in SHAPE.items():
        fn = getattr(obj, name, None)
        if fn is None or not callable(fn):
            problems.append(f"missing method {name}()")
            continue
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):   # compiled methods without a signature: presence only
            continue
        ps = [p for p in sig.parameters.values() if p.name != "self"
              and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        required = [p for p in ps if p.default is p.empty]
        if len(required) > len(params) or len(ps) < len(params):
            problems.append(f"{name}() takes {[p.name for p in ps]}, the shape is {list(params)}")
            continue
        if "now" in params and ps[params.index("now")].name != "now":
            problems.append(f"{name}(): argument {params.index('now') + 1} must be called 'now'")
    return problems
