"""The feed hands the loop what piled up in one go: batches posted while the loop was busy go out
as one batch (one frame per subscriber), in order, split only by a gap or a restart."""
from __future__ import annotations

import asyncio
from typing import Any

from cti.gateway.hub import MERGE, Feed, Hub


def ev(seq: int) -> dict[str, Any]:
    return {"seq": seq, "type": "X", "topic": "server.x"}


def run_posts(posts: list[tuple[str, Any]]) -> tuple[Hub, list[list[int]]]:
    loop = asyncio.new_event_loop()
    try:
        hub = Hub()
        fed: list[list[int]] = []
        real = hub.feed

        def spy(events: list[dict[str, Any]]) -> None:
            fed.append([int(e["seq"]) for e in events])
            real(events)
        hub.feed = spy                                   # type: ignore[method-assign]
        feed = Feed(hub, loop, lambda after: None, lambda: 0)
        for kind, arg in posts:                         # the loop is not running: everything piles up
            feed._post(kind, arg)
        loop.run_until_complete(asyncio.sleep(0.05))
        return hub, fed
    finally:
        loop.close()


def test_batches_that_piled_up_go_out_as_one():
    hub, fed = run_posts([("start", 0)] + [("events", [ev(3 * k + i + 1) for i in range(3)]) for k in range(10)])
    assert fed == [list(range(1, 31))]
    assert hub.counters["coalesced"] == 9 and hub.head == 30 and [i.seq for i in hub.ring] == list(range(1, 31))


def test_a_gap_keeps_its_place_between_batches():
    hub, fed = run_posts([("start", 0), ("events", [ev(1), ev(2)]), ("events", [ev(3)]), ("gap", (4, 5)),
                          ("events", [ev(6)])])
    assert fed == [[1, 2, 3], [6]]
    assert hub.gaps == [(4, 5, False)]


def test_merged_batches_stay_bounded():
    posts: list[tuple[str, Any]] = [("start", 0)]
    seq = 0
    for _ in range(3):
        posts.append(("events", [ev(seq + i + 1) for i in range(MERGE // 2 + 1)]))
        seq += MERGE // 2 + 1
    hub, fed = run_posts(posts)
    assert all(len(b) <= MERGE for b in fed) and [s for b in fed for s in b] == list(range(1, seq + 1))
