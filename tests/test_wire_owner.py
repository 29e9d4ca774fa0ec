"""The wire protocol's OWNER: a card shared by cluster nodes takes orders on a span only from
the connection holding the highest lease epoch (docs/wire-protocol.md, docs/cluster.md).

Run on the simulator served over TCP: the owner of epoch 1 drives span 0; a standby taking
over with epoch 2 makes the card close the old owner's connection (a paused process that wakes
finds it gone); the old owner reconnecting with epoch 1 is refused; a connection holding no
claim may still listen and query, but its orders on a held span are refused; span 1 (the
network's side in the tests) is nobody's."""
from __future__ import annotations

import time

import pytest

import drivers
from drivers.base import BoardClosed, BoardError
from drivers.wire import protocol as P

pytest.importorskip("_boardcore.e1frame")


def test_owner_message_round_trip_and_malformed() -> None:
    for msg in (P.Owner(0), P.Owner(7, 1), P.Owner(2**64 - 1)):
        assert P.decode(P.encode(msg)) == msg
    assert P.encode(P.Owner(3)) == bytes.fromhex("e10109ff0008") + (3).to_bytes(8, "big")
    for payload in (b"", b"\x00" * 7, b"\x00" * 9):
        with pytest.raises(P.WireProtocolError):
            P.decode(P.encode_raw(P.MsgType.OWNER, P.BOARD, payload))
    for bad in (-1, 2**64):
        with pytest.raises(P.WireProtocolError):
            P.encode(P.Owner(bad))


def _wait(pred, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return False


def test_the_card_takes_orders_from_the_newest_owner_only() -> None:
    from simulator.server import SimServer
    card = drivers.open("sim", spans=2)
    server = SimServer(card, port=0)
    url = f"socket://127.0.0.1:{server.start_in_thread()}"
    boards = []
    try:
        old = drivers.open("wire", url=url, owner=1, owner_spans=[0])
        boards.append(old)
        assert old.owner == 1
        old.span(0).set_cas(1, 0x1)
        assert old.ping() == b"" and not old.remote_errors        # the owner's order was taken

        # a connection without a claim listens and asks, but cannot act on the owner's span
        other = drivers.open("wire", url=url)
        boards.append(other)
        other.span(0).set_cas(2, 0x1)
        other.span(1).set_cas(2, 0x1)            # span 1 is nobody's: accepted
        other.ping()
        assert [(e.ref_type, P.ErrorCode(e.code)) for e in other.remote_errors] == \
            [(P.MsgType.CAS_SET, P.ErrorCode.STALE_OWNER)]

        # the standby takes the lease over with epoch 2: the card closes the old owner's connection
        new = drivers.open("wire", url=url, owner=2, owner_spans=[0])
        boards.append(new)
        assert _wait(lambda: bool(old.closed)), "the old owner's connection is still open"
        with pytest.raises((BoardClosed, BoardError)):
            old.span(0).set_cas(1, 0x9)
            old.ping()
        new.span(0).set_cas(1, 0x9)
        assert new.ping() == b"" and not new.remote_errors

        # the old owner, woken, comes back with its epoch: refused, and says why
        with pytest.raises(BoardError, match="lease epoch 1"):
            drivers.open("wire", url=url, owner=1, owner_spans=[0])
        # the same epoch from another connection is no newer either
        with pytest.raises(BoardError, match="not newer"):
            drivers.open("wire", url=url, owner=2)
        # the owner gone, its epoch still stands against older claims; a newer one is taken
        new.close()
        assert _wait(lambda: server.owners[0][1] is None)
        with pytest.raises(BoardError):
            drivers.open("wire", url=url, owner=2, owner_spans=[0])
        boards.append(drivers.open("wire", url=url, owner=3, owner_spans=[0]))
    finally:
        for b in boards:
            b.close()
        server.stop()
        card.close()


def test_a_loopback_plug_always_has_its_one_owner() -> None:
    b = drivers.open("wire", url="loop://", owner=5)
    try:
        assert b.owner == 5
    finally:
        b.close()
    with pytest.raises(Exception, match="lease epoch"):
        drivers.open("wire", url="loop://", owner=-1)
