"""The gateway benchmark's subscriber reads frames on the cheap path (the batch header only) and
still catches what it exists to catch: a lost frame, a repeated one, a header that lies, an event
not as published (sampled subscribers), frames split anywhere across reads, compressed or not."""
from __future__ import annotations

import time
from typing import Any

import pytest

from bench.bench_gateway import Subscriber, Tally, _event
from cti.gateway.hub import Item, encode, events_frame


def items(first: int, n: int, offset: int = 1000, **change: Any) -> list[Item]:
    out = []
    for seq in range(first, first + n):
        e = dict(_event(seq - offset), seq=seq, time=time.time() - 0.003, v=1)
        e.update(change if seq == first + n - 1 else {})
        out.append(Item(seq, e, encode(e)))
    return out


def subscriber(sample: bool, deflate: int) -> tuple[Subscriber, Tally]:
    t = Tally()
    s = Subscriber("127.0.0.1:1", bool(deflate), sample, t, lambda: None)
    s.state, s.expected = 2, 1001                 # subscribed after seq 1000
    return s, t


@pytest.mark.parametrize("deflate", [0, 15], ids=["plain", "deflate"])
@pytest.mark.parametrize("sample", [False, True], ids=["header", "sampled"])
def test_in_order_frames_split_anywhere_are_all_counted(sample: bool, deflate: int) -> None:
    s, t = subscriber(sample, deflate)
    stream = b"".join(events_frame(items(1001 + 10 * k, 10), 1010 + 10 * k, deflate) for k in range(5))
    for i in range(0, len(stream), 7):             # 7-octet reads: headers and payloads cut everywhere
        s.data_received(stream[i:i + 7])
    assert (t.delivered, t.frames, t.lost, t.duplicated, t.bad_header, t.content_errors) == (50, 5, 0, 0, 0, 0)
    assert s.expected == 1051 and sum(t.lats.values()) == 50
    assert all(2 <= k / 10 < 1000 for k in t.lats)              # ms: the 3 ms the events are old, not 0
    assert t.sampled_events == (50 if sample else 0)
    assert t.stored_headers == (5 if deflate and not sample else 0)      # read in place, not inflated


def test_a_compressed_events_frame_stores_its_header_and_inflates_whole() -> None:
    import json
    import zlib
    frame = events_frame(items(1001, 10), 1010, 15)
    assert frame[0] == 0xC1 and frame[1] == 126                            # FIN RSV1 text, 16-bit length
    payload = frame[4:]
    n = payload[1] | payload[2] << 8
    assert payload[0] == 0 and (payload[3] | payload[4] << 8) == n ^ 0xFFFF
    assert payload[5:5 + n].startswith(b'{"op":"events","first":1001,"last":1010,"count":10,"oldest":')
    assert payload[5 + n:5 + n + 11] != b',"events":['                     # the rest is compressed
    msg = json.loads(zlib.decompressobj(-15).decompress(payload + b"\x00\x00\xff\xff"))
    assert [e["seq"] for e in msg["events"]] == list(range(1001, 1011)) and msg["count"] == 10


@pytest.mark.parametrize("deflate", [0, 15], ids=["plain", "deflate"])
def test_a_missing_frame_is_lost_and_a_repeated_one_duplicated(deflate: int) -> None:
    s, t = subscriber(False, deflate)
    s.data_received(events_frame(items(1001, 10), 1010, deflate))
    s.data_received(events_frame(items(1016, 5), 1020, deflate))        # 1011..1015 never came
    s.data_received(events_frame(items(1018, 3), 1020, deflate))        # 1018..1020 again
    assert (t.lost, t.duplicated, s.expected) == (5, 3, 1021)


def test_a_header_that_does_not_cover_its_events_is_counted() -> None:
    s, t = subscriber(False, 0)
    frame = events_frame(items(1001, 10), 1010)
    s.data_received(frame.replace(b'"count":10', b'"count":09'))
    assert t.bad_header == 1


@pytest.mark.parametrize("deflate", [0, 15], ids=["plain", "deflate"])
def test_a_sampled_subscriber_checks_every_event(deflate: int) -> None:
    s, t = subscriber(True, deflate)
    s.data_received(events_frame(items(1001, 10), 1010, deflate))
    s.data_received(events_frame(items(1011, 10, state="connected"), 1020, deflate))   # not as published
    s.data_received(events_frame(items(1021, 10, offset=999), 1030, deflate))          # another event's call
    assert t.content_errors == 2 and t.lost == 0 and t.delivered == 30
    plain, tp = subscriber(False, deflate)                 # the cheap path does not look inside
    plain.data_received(events_frame(items(1001, 10, state="connected"), 1010, deflate))
    assert tp.content_errors == 0 and tp.delivered == 10


def test_other_messages_and_pings_are_answered_or_counted() -> None:
    s, t = subscriber(False, 0)
    sent: list[bytes] = []

    class Transport:
        def write(self, data: bytes) -> None:
            sent.append(data)
    s.transport = Transport()
    s.data_received(b"\x89\x02hi" + events_frame(items(1001, 2), 1002)[:-1])
    assert sent and sent[0][0] == 0x8A and t.delivered == 0           # pong (masked), frame incomplete
    gap = b'{"op":"gap","first":1,"last":2}'
    s.data_received(events_frame(items(1001, 2), 1002)[-1:] + bytes((0x81, len(gap))) + gap)
    assert t.delivered == 2 and t.others == {"gap": 1}
