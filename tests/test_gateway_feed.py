"""The feed hands the loop what piled up in one go: batches posted while the loop was busy go out
as one batch (one frame per subscriber), in order, split only by a gap or a restart."""
from __future__ import annotations

import asyncio
from typing import Any

from cti.gateway.hub import MERGE, Feed, Group, Hub


def ev(seq: int) -> dict[str, Any]:
    return {"seq": seq, "type": "X", "topic": "server.x"}


def run_posts(posts: list[tuple[str, Any]]) -> tuple[Hub, list[list[int]]]:
    loop = asyncio.new_event_loop()
    try:
        hub = Hub()
        fed: list[list[int]] = []
        real = hub.feed

        def spy(events: list[dict[str, Any]], got: float = 0.0, posted: float = 0.0) -> None:
            fed.append([int(e["seq"]) for e in events])
            real(events, got, posted)
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
    assert hub.counters["coalesced"] == 9 and hub.head == 30 and [seq for seq, _data in hub.ring] == list(range(1, 31))


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


def test_batch_window_fits_the_target_and_saves_cpu_when_it_cannot():
    loop = asyncio.new_event_loop()
    try:
        hub = Hub()
        feed = Feed(hub, loop, lambda after: None, lambda: 0)
        hub.groups[("a", ("",))] = Group(None, set(range(150)))            # type: ignore[arg-type]
        hub.groups[("b", ("",))] = Group(None, set(range(49)))             # type: ignore[arg-type]
        hub.fanout_s = 0.005
        assert feed.batch_window() == feed.window == 0.01          # few subscribers: latency first
        hub.groups[("c", ("",))] = Group(None, set(range(801)))            # type: ignore[arg-type]
        hub.fanout_s = 0.005                             # a fast fan-out: the longest window fits
        assert feed.batch_window() == feed.window_busy == 0.02
        hub.fanout_s = 0.02                              # 50 - 15 - 20 ms: a 15 ms window still fits
        assert abs(feed.batch_window() - 0.015) < 1e-9
        hub.fanout_s = 0.03                              # even 10 ms would not fit: least CPU
        assert feed.batch_window() == feed.window_busy
    finally:
        loop.close()


class FakeTransport:
    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.closing = False

    def write(self, frame: bytes) -> None:
        self.frames.append(frame)

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return 0


class FakeWs:
    closed = False


def test_fast_and_plain_paths_write_the_same_frames_once_per_batch():
    from cti.bus.auth import PLAIN_ACCOUNT, AccountBook
    from cti.gateway.hub import Sink, Viewer

    loop = asyncio.new_event_loop()
    try:
        hub = Hub()
        hub.start_at(0)
        plain: list[bytes] = []
        fast, shut = FakeTransport(), FakeTransport()
        viewer = Viewer(PLAIN_ACCOUNT, AccountBook())
        a = Sink(viewer, plain.append, lambda: 0, lambda code, why: asyncio.sleep(0), lambda: False)
        b = Sink(viewer, fast.write, lambda: 0, lambda code, why: asyncio.sleep(0), lambda: False,
                 transport=fast, ws=FakeWs())
        c = Sink(viewer, shut.write, lambda: 0, lambda code, why: asyncio.sleep(0), lambda: True,
                 transport=shut, ws=FakeWs())
        shut.closing = True
        for s in (a, b, c):
            loop.run_until_complete(hub.attach(s, 0))
        assert hub.fanout_s == 0.0
        loop.run_until_complete(_feed(hub, [ev(1), ev(2)]))
        loop.run_until_complete(_feed(hub, [ev(3)]))
        assert plain == fast.frames and len(plain) == 2                 # one frame per batch, same octets
        assert plain[0].startswith(b'\x81') and b'"first":1,"last":2,"count":2' in plain[0]
        assert shut.frames == [] and not c.live and a.last == b.last == 3      # a closing one leaves
        assert hub.fanout_s > 0.0 and hub.counters["frames"] == 4
    finally:
        loop.close()


async def _feed(hub: Hub, events: list[dict[str, Any]]) -> None:
    hub.feed(events)


class FlakySub:
    """A subscription that fails once in the middle of a batch, after handing out events."""

    def __init__(self) -> None:
        self.last = 0
        self.undeclared: list[tuple[int, int]] = []
        self.queue = [ev(s) for s in range(1, 11)]
        self.calls = 0

    def get(self, timeout: float = 1.0) -> dict[str, Any] | None:
        self.calls += 1
        if self.calls == 4:                      # events 1..3 are taken: the replay under it times out
            raise TimeoutError("replay timed out")
        if not self.queue:
            return None
        e = self.queue.pop(0)
        self.last = e["seq"]
        return e


def test_an_error_mid_batch_loses_none_of_the_events_already_taken():
    loop = asyncio.new_event_loop()
    hub = Hub()
    feed = Feed(hub, loop, lambda after: FlakySub(), lambda: 0, window=0.001)
    feed.start()
    try:
        deadline = loop.time() + 5
        while hub.head < 10 and loop.time() < deadline:
            loop.run_until_complete(asyncio.sleep(0.02))
        assert [seq for seq, _data in hub.ring] == list(range(1, 11))
    finally:
        feed.stop.set()
        feed.join(2)
        loop.close()


def test_the_ring_costs_the_garbage_collector_nothing():
    import gc
    loop = asyncio.new_event_loop()
    try:
        hub = Hub()
        hub.start_at(0)
        loop.run_until_complete(_feed(hub, [dict(ev(s), devices=["2001"], data={"k": [1]}) for s in range(1, 101)]))
        gc.collect()                     # a collection stops tracking tuples of untracked things
        assert len(hub.ring) == 100 and not any(gc.is_tracked(entry) for entry in hub.ring)
        items, last = loop.run_until_complete(hub.events_after(90))      # replayed: decoded again
        assert last == 100 and [i.seq for i in items] == list(range(91, 101)) and items[0].event["devices"] == ["2001"]
    finally:
        loop.close()
