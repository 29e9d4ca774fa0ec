"""Card conformance: what a vendor runs against a card to certify it.

The card under test has its spans wired back to back in pairs (a crossover cable from
span A to span B; ``cti-sim serve`` does it in software): whatever span A sends, span B
receives, and the other way. :func:`run` opens the card — a wire-protocol card by URL
(``socket://card:7000``), or any ``cti.boards`` backend by name — runs the checks of
:data:`CHECKS` and returns one :class:`CheckResult` each. A check that needs an optional
feature the card does not offer (FAULT injection, an HDLC pair, the wire protocol itself
for a backend that does not speak it) is SKIPPED; in strict mode a skip fails the run.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import drivers
from drivers.base import Board, BoardError
from drivers.wire.client import WireBoard

from . import checks as C
from . import linechecks as L
from . import wirechecks as W
from .context import Context, RawLink, Skip
from .report import FAIL, PASS, SKIP, summary
from .soak import SoakReport, soak

__all__ = ["CHECKS", "FAIL", "PASS", "SKIP", "CheckResult", "Context", "RawLink", "Skip", "check_names",
           "find_hdlc_pair", "run", "run_soak", "summary"]


@dataclass
class CheckResult:
    name: str
    status: str
    detail: str = ""
    seconds: float = 0.0
    check: str = ""                   #: the check's function name (what --check also takes)
    measured: dict[str, float | int | str] = field(default_factory=dict)   #: figures, e.g. drift_ppm


#: every check, in the order run (overflow last: it leaves a timeslot's queue full)
CHECKS: list[tuple[str, Callable[[Context], str]]] = [
    ("hello / version", C.check_hello),
    ("version negotiation", W.check_version_negotiation),
    ("ping", W.check_ping),
    ("audio loopback per timeslot", C.check_audio_loopback),
    ("CAS set/get all channels", C.check_cas_all_channels),
    ("CAS 0000 refused", W.check_cas_0000_refused),
    ("HDLC frames both ways", C.check_hdlc_both_ways),
    ("alarms on injected faults", C.check_alarms_on_faults),
    ("line errors counted", C.check_line_errors),
    ("multiframe alarms", L.check_multiframe_alarms),
    ("CAS debounce", L.check_cas_debounce),
    ("pacing and seq continuity", L.check_pacing),
    ("clock offset and slips", L.check_clock_slips),
    ("out-of-range span/timeslot", W.check_out_of_range),
    ("garbage answered, link survives", W.check_garbage_survives),
    ("several hosts at once", W.check_several_hosts),
    ("test vectors", W.check_test_vectors),
    ("counters", C.check_counters),
    ("full load", C.check_full_load),
    ("overflow", W.check_overflow),
]


def check_names() -> list[str]:
    """Every name ``--check`` accepts: the titles and the function names."""
    return [n for title, fn in CHECKS for n in (title, fn.__name__)]


def select(only: list[str] | None) -> list[tuple[str, Callable[[Context], str]]]:
    """The checks named by ``only`` (all when None); ValueError names unknown ones."""
    if not only:
        return list(CHECKS)
    unknown = [n for n in only if n not in check_names()]
    if unknown:
        valid = ", ".join(fn.__name__ for _, fn in CHECKS)
        raise ValueError(f"unknown check(s) {', '.join(map(repr, unknown))}; valid: {valid}")
    return [(t, fn) for t, fn in CHECKS if t in only or fn.__name__ in only]


def find_hdlc_pair(board: Board, a: int, b: int) -> tuple[int, int, int] | None:
    """The first back-to-back pair (A,B first, then 2k,2k+1) with a common HDLC timeslot."""
    pairs = [(a, b)] + [(i, i + 1) for i in range(0, len(board.spans) - 1, 2)]
    for x, y in pairs:
        if max(x, y) >= len(board.spans):
            continue
        common = sorted(set(board.span(x).config.hdlc) & set(board.span(y).config.hdlc))
        if common:
            return x, y, common[0]
    return None


def open_card(url: str | None = None, backend: str | None = None, options: dict[str, Any] | None = None,
              timeout: float = 5.0) -> Board:
    """A wire-protocol card by URL, or any registered backend by name with its options."""
    if backend is None or backend == "wire":
        if url is None:
            raise BoardError("a wire-protocol card needs --url")
        return WireBoard(url=url, timeout=timeout, name="cti-sim conformance")
    return drivers.open(backend, **(options or {}))


def run_soak(url: str | None, pair: tuple[int, int], seconds: float, timeout: float = 5.0, *,
             backend: str | None = None, options: dict[str, Any] | None = None,
             progress: Callable[[SoakReport], None] | None = None) -> tuple[list[CheckResult], SoakReport | None]:
    """Open the card, check the handshake, soak it for ``seconds``; one CheckResult per
    aspect (audio, calls, HDLC, line counters) for the JUnit/JSON reports, and the report."""
    hello = run(url, pair, timeout, ["check_hello"], backend=backend, options=options)
    if hello[0].status != PASS:
        return hello, None
    board = open_card(url, backend, options, timeout)
    ctx = Context(board, url if backend in (None, "wire") else None, pair[0], pair[1], timeout=timeout)
    t = time.monotonic()
    try:
        ctx.hdlc_pair = find_hdlc_pair(board, *pair)
        rep = soak(ctx, seconds, progress)
    finally:
        board.close()
    took = time.monotonic() - t

    def res(name: str, bad: int, detail: str) -> CheckResult:
        return CheckResult(f"soak: {name}", FAIL if bad else PASS, detail, took, "soak")
    out = [*hello,
           res("audio", rep.audio_errors, f"{rep.audio_timeslot_seconds:.0f} timeslot-seconds, "
                                          f"{rep.audio_errors} errors"),
           res("calls", rep.calls_failed, f"{rep.calls} calls, {rep.calls_failed} failed"),
           res("HDLC", rep.hdlc_lost, f"{rep.hdlc_frames} frames, {rep.hdlc_lost} lost"),
           res("line counters", rep.slips + rep.fas_errors + rep.crc4_errors + rep.hdlc_errors,
               f"slips {rep.slips}, FAS {rep.fas_errors}, CRC-4 {rep.crc4_errors}, HDLC {rep.hdlc_errors}")]
    if rep.rounds == 0:
        out.append(CheckResult("soak: rounds", FAIL, "no round completed", took, "soak"))
    return out, rep


def run(url: str | None = None, pair: tuple[int, int] = (0, 1), timeout: float = 5.0,
        only: list[str] | None = None, *, backend: str | None = None, options: dict[str, Any] | None = None,
        load_seconds: float = 10.0, expect_timing: str | None = None,
        load_pairs: list[tuple[int, int]] | None = None) -> list[CheckResult]:
    """Run the checks against the card; a card that cannot be opened fails 'hello'.
    ValueError for an unknown check name (before anything is opened)."""
    chosen = select(only)
    results: list[CheckResult] = []
    t0 = time.monotonic()
    where = url or backend or "?"
    try:
        board = open_card(url, backend, options, timeout)
    except (BoardError, TypeError, ValueError) as exc:
        return [CheckResult("hello / version", FAIL, f"cannot open {where}: {exc}", time.monotonic() - t0,
                            "check_hello")]
    ctx = Context(board, url if backend in (None, "wire") else None, pair[0], pair[1], timeout=timeout,
                  load_seconds=load_seconds, expect_timing=expect_timing, load_pairs=list(load_pairs or []))
    try:
        ctx.hdlc_pair = find_hdlc_pair(board, *pair)
        for name, fn in chosen:
            t = time.monotonic()
            ctx.measured = {}
            try:
                detail, status = fn(ctx), PASS
            except Skip as exc:
                detail, status = str(exc), SKIP
            except AssertionError as exc:
                detail, status = str(exc) or "assertion failed", FAIL
            except Exception as exc:  # a check must report, never abort the run
                detail, status = f"{type(exc).__name__}: {exc}", FAIL
            results.append(CheckResult(name, status, detail, time.monotonic() - t, fn.__name__,
                                       dict(ctx.measured)))
            if fn is C.check_hello and status == FAIL:
                break
    finally:
        board.close()
    return results
