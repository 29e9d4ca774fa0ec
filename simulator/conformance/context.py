"""What every conformance check is handed: the board under test, its back-to-back pair,
and the few services a check needs that the Board API leaves to the backend (letting the
line carry a change, injecting a fault, a raw second connection to a wire-protocol card).

The board may be any ``cti.boards`` backend: a wire-protocol card (``--url``), or a
backend opened by name (``--board sim``, ``--board dahdi``, a vendor's entry point).
Checks that speak the wire protocol itself run only against wire-protocol cards.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

from drivers.base import Board, BoardError, ConfigError
from drivers.wire import protocol as P
from drivers.wire.client import CardRefused, WireBoard, readable
from simulator.faults import apply_wire_fault


class Skip(Exception):
    """The card lacks an optional feature this check needs (or the layout does not allow it)."""


@dataclass
class Context:
    board: Board
    url: str | None = None            #: the card's pyserial URL when it speaks the wire protocol
    a: int = 0                        #: span A of the back-to-back pair
    b: int = 1                        #: span B
    hdlc_pair: tuple[int, int, int] | None = None   #: (span, span, timeslot) with HDLC both ends
    settle: float = 0.3               #: seconds to let the line carry a change
    timeout: float = 5.0
    load_seconds: float = 10.0        #: how long the full-load check keeps every timeslot busy
    expect_timing: str | None = None  #: "internal" / "line": the timing span B must show (None: either)
    load_pairs: list[tuple[int, int]] = field(default_factory=list)  #: full load on these (default: the pair)
    notes: list[str] = field(default_factory=list)
    #: figures the running check measured (drift in ppm, slips...), filed with its result
    measured: dict[str, float | int | str] = field(default_factory=dict)

    def measure(self, **figures: float | int | str) -> None:
        """Keep figures for the report (the JSON report's ``measured`` of this check)."""
        self.measured.update(figures)

    @property
    def wire(self) -> WireBoard | None:
        return self.board if isinstance(self.board, WireBoard) else None

    @property
    def virtual(self) -> bool:
        """True when card time moves only when we advance it (deterministic runs)."""
        w = self.wire
        if w is not None:
            return w.virtual_time
        clock = getattr(getattr(self.board, "card", None), "clock", None)
        return getattr(clock, "kind", "") == "virtual"

    def wait(self, seconds: float | None = None) -> None:
        """Let the line run ``seconds`` (virtual cards are advanced, real ones waited for),
        then make sure the card has processed everything sent before."""
        s = self.settle if seconds is None else seconds
        try:
            self.board.advance(s)
        except BoardError:
            time.sleep(s)
        sync = getattr(self.board, "sync", None)
        if callable(sync):
            sync()

    def inject(self, span: int, fault: P.Fault, value: float = 1.0) -> None:
        """Inject ``fault`` toward span ``span``'s receiver; Skip when the card cannot."""
        w = self.wire
        if w is not None:
            try:
                w.fault(span, fault, value)
            except CardRefused as exc:
                if exc.error.code == P.ErrorCode.UNSUPPORTED:
                    raise Skip("the card does not inject faults (FAULT unsupported)") from None
                if exc.error.code == P.ErrorCode.OUT_OF_RANGE and fault >= P.Fault.MFAS:
                    raise Skip(f"the card does not inject {fault.name} (a FAULT id added later)") from None
                raise
            return
        faults: Callable[[int], Any] | None = getattr(self.board, "faults", None)
        if faults is None:
            raise Skip(f"the {self.board.backend or type(self.board).__name__} backend cannot inject faults")
        try:
            apply_wire_fault(faults(span), int(fault), value)
        except ConfigError as exc:
            raise AssertionError(f"the card refused FAULT {fault.name} {value:g}: {exc}") from None


def wire_only(ctx: Context) -> str:
    """The card's URL, or Skip for a backend that does not speak the wire protocol."""
    if ctx.url is None or ctx.wire is None:
        raise Skip("not a wire-protocol card: this check speaks the protocol itself")
    return ctx.url


class RawLink:
    """A second connection speaking raw messages (to send what WireBoard never would)."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        import serial

        self.ser = serial.serial_for_url(url, timeout=0.05)
        self.fd: int | None
        try:
            self.fd = self.ser.fileno()
            self.ser.timeout = 0
        except Exception:
            self.fd = None
        self.dec = P.Decoder()
        self.timeout = timeout
        self.items: list[P.Message | P.BadMessage] = []

    def send(self, raw: bytes) -> None:
        self.ser.write(raw)

    def pump(self, seconds: float = 0.05) -> None:
        """Read what arrives within ``seconds``."""
        if self.fd is not None:
            data = self.ser.read(65536) if readable(self.fd, seconds) else b""
        else:
            data = self.ser.read(max(1, self.ser.in_waiting))
        if data:
            self.items += self.dec.feed(data)

    def expect(self, pred: Callable[[Any], bool], what: str) -> Any:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            for i, item in enumerate(self.items):
                if pred(item):
                    del self.items[:i + 1]
                    return item
            self.pump()
        raise AssertionError(f"no {what} within {self.timeout:g} s (got {self.items[-5:]!r})")

    def hello(self) -> P.HelloAck:
        self.send(P.encode(P.Hello(name="conformance-raw")))
        ack: P.HelloAck = self.expect(lambda m: isinstance(m, P.HelloAck), "HELLO_ACK")
        return ack

    def expect_error(self, code: P.ErrorCode, what: str) -> P.Error:
        err: P.Error = self.expect(lambda m: isinstance(m, P.Error), f"ERROR {code.name} for {what}")
        if err.code != code:
            raise AssertionError(f"{what}: ERROR {error_name(err.code)} ({err.text}), expected {code.name}")
        return err

    def ping(self, data: bytes = b"alive") -> None:
        self.send(P.encode(P.Ping(data)))
        self.expect(lambda m: isinstance(m, P.Pong) and m.data == data, "PONG")

    def close(self) -> None:
        self.ser.close()


def error_name(code: int) -> str:
    try:
        return P.ErrorCode(code).name
    except ValueError:
        return str(code)
