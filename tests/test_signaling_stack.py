"""The one sans-IO shape (cti.signaling.stack): the Protocol, its run-time check, and every
stack that claims it."""
from __future__ import annotations

import pytest

from cti.signaling.stack import SansIOStack, conformance


class Echo:
    """A minimal stack of the shape: what it receives it sends back, one event per input."""

    def __init__(self) -> None:
        self._out: list[bytes] = []
        self._ev: list[str] = []
        self._due: float | None = None

    def receive(self, data: bytes, now: float) -> None:
        if not isinstance(data, bytes):
            raise TypeError("bytes expected")
        self._out.append(data)
        self._ev.append(f"got {data!r}")
        self._due = now + 1.0

    def events(self) -> list[str]:
        out, self._ev = self._ev, []
        return out

    def data_to_send(self, now: float) -> list[bytes]:
        out, self._out = self._out, []
        return out

    def timer_deadline(self) -> float | None:
        return self._due

    def handle_timer(self, now: float) -> None:
        if self._due is not None and now >= self._due:
            self._due = None
            self._ev.append("timeout")


class Old:
    """The shapes we had: events() plus a tx property and messages()."""

    tx = 0

    def receive(self, abcd: int, when: float) -> None: ...
    def events(self) -> list[str]: return []
    def messages(self) -> list[bytes]: return []
    def timer_deadline(self) -> float | None: return None
    def handle_timer(self) -> None: ...


def test_a_stack_of_the_shape_conforms_and_runs() -> None:
    s: SansIOStack[bytes, list[bytes], str] = Echo()
    assert isinstance(s, SansIOStack) and conformance(s) == [] and conformance(Echo) == []
    s.receive(b"x", 1.0)
    assert s.data_to_send(1.0) == [b"x"] and s.data_to_send(1.0) == []
    assert s.events() == ["got b'x'"] and s.events() == []
    assert s.timer_deadline() == 2.0
    s.handle_timer(1.5)
    assert s.events() == []
    s.handle_timer(2.0)
    assert s.events() == ["timeout"] and s.timer_deadline() is None
    with pytest.raises(TypeError):
        s.receive("x", 3.0)   # type: ignore[arg-type]


def test_the_old_shapes_do_not_conform() -> None:
    problems = conformance(Old())
    assert not isinstance(Old(), SansIOStack)          # no data_to_send
    assert "missing method data_to_send()" in problems
    assert any("receive(): argument 2 must be called 'now'" in p for p in problems)
    assert any(p.startswith("handle_timer() takes []") for p in problems)



def test_no1_stacks_conform() -> None:
    from cti.signaling.no1.line import Line
    from cti.signaling.no1.register import IncomingRegister, OutgoingRegister

    for stack in (Line(), OutgoingRegister("123"), IncomingRegister()):
        assert isinstance(stack, SansIOStack), type(stack).__name__
        assert conformance(stack) == [], (type(stack).__name__, conformance(stack))
