"""The wire protocol's test vectors: hex exchanges with the replies a card must give,
kept in ``vectors.txt`` beside this file (its header says the format) and replayed by
the conformance suite against a card, so the document and the suite cannot drift apart.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any

from drivers.wire import protocol as P

#: types a card sends when it likes; skipped while a reply is awaited
UNSOLICITED = (P.CasChanged, P.Alarms, P.Audio, P.HdlcFrame)


@dataclass(frozen=True)
class Vector:
    name: str
    tags: frozenset[str]
    send: tuple[bytes, ...]
    expect: tuple[str, ...]        #: patterns, normalised to space-separated lowercase tokens
    line: int

    def matches(self, i: int, octets: bytes) -> bool:
        return match(self.expect[i], octets)


class VectorError(ValueError):
    """The vector file itself is malformed (line number and reason)."""


def parse(text: str) -> list[Vector]:
    out: list[Vector] = []
    name: str | None = None
    tags: frozenset[str] = frozenset()
    send: list[bytes] = []
    expect: list[str] = []
    start = 0

    def flush() -> None:
        if name is not None:
            if not send:
                raise VectorError(f"line {start}: vector {name!r} sends nothing")
            out.append(Vector(name, tags, tuple(send), tuple(expect), start))

    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or (line.startswith("#") and not line.startswith("##")):
            continue
        if line.startswith("##"):
            flush()
            m = re.fullmatch(r"##\s*(.+?)\s*((?:\[[a-z0-9-]+\]\s*)*)", line)
            if m is None:
                raise VectorError(f"line {n}: bad vector heading {raw!r}")
            name, tags = m.group(1), frozenset(re.findall(r"\[([a-z0-9-]+)\]", m.group(2)))
            send, expect, start = [], [], n
        elif name is None:
            raise VectorError(f"line {n}: {raw!r} before the first '## name'")
        elif line.startswith(">"):
            try:
                send.append(bytes.fromhex(line[1:]))
            except ValueError as exc:
                raise VectorError(f"line {n}: not hex: {exc}") from None
        elif line.startswith("<"):
            toks = line[1:].split()
            for i, t in enumerate(toks):
                if not (t == ".." or (t == "*" and i == len(toks) - 1) or re.fullmatch(r"[0-9a-fA-F]{2}", t)):
                    raise VectorError(f"line {n}: {t!r} is not an octet, '..' or a final '*'")
            expect.append(" ".join(t.lower() for t in toks))
        else:
            raise VectorError(f"line {n}: lines start with '##', '>', '<' or '#'")
    flush()
    return out


def match(pattern: str, octets: bytes) -> bool:
    toks = pattern.split()
    rest = toks[-1] == "*"
    if rest:
        toks = toks[:-1]
    if len(octets) < len(toks) or (not rest and len(octets) != len(toks)):
        return False
    return all(t == ".." or int(t, 16) == o for t, o in zip(toks, octets, strict=False))


def load_vectors() -> list[Vector]:
    text = resources.files(__package__).joinpath("vectors.txt").read_text(encoding="utf-8")
    return parse(text)


def replay(raw: Any, vectors: list[Vector], *, ccs: bool) -> int:
    """Send each vector on ``raw`` (a :class:`RawLink` after HELLO) and check its replies;
    AssertionError names the vector and what came instead. Returns how many were replayed."""
    done = 0
    for v in vectors:
        if "cas" in v.tags and ccs:
            continue
        for octets in v.send:
            raw.send(octets)
        for i, pattern in enumerate(v.expect):
            got = P.encode(_next_reply(raw, v.name))
            assert v.matches(i, got), (f"vector {v.name!r} (vectors.txt line {v.line}): expected "
                                       f"{pattern}, got {got.hex(' ')}")
        token = f"after {v.line}".encode()
        raw.send(P.encode(P.Ping(token)))
        item = _next_reply(raw, v.name)
        assert isinstance(item, P.Pong) and item.data == token, \
            f"vector {v.name!r} (vectors.txt line {v.line}): an extra reply {item!r} before the PONG"
        done += 1
    return done


def _next_reply(raw: Any, name: str) -> P.Message:
    deadline = time.monotonic() + raw.timeout
    while time.monotonic() < deadline:
        while raw.items:
            item = raw.items.pop(0)
            if isinstance(item, UNSOLICITED):
                continue
            if isinstance(item, P.BadMessage):
                raise AssertionError(f"vector {name!r}: the card sent a malformed message: {item.error}")
            msg: P.Message = item
            return msg
        raw.pump()
    raise AssertionError(f"vector {name!r}: no reply within {raw.timeout:g} s")
