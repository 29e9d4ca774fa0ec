"""The gateway benchmark's subscriber reads frames on the cheap path (the batch header only) and
still catches what it exists to catch: a lost frame, a repeated one, a header that lies, an event
not as published (sampled subscribers), frames split anywhere across reads, compressed or not."""
from __future__ import annotations

import time
from typing import Any

import pytest

from bench.gateway_clients import Subscriber, Tally, event
from cti.gateway.hub import Item, encode, events_frame


def items(first: int, n: int, offset: int = 1000, **change: Any) -> list[Item]:
    out = []
    for seq in range(first, first + n):
        e = dict(event(seq - offset), seq=seq, time=time.time() - 0.003, v=1)
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


# ---- the C reader (bench/gateway_reader.c): the same checks, for the subscribers that are not sampled ----

def _reader(tmp_path: Any) -> str:
    import shutil
    import subprocess

    from bench.gateway_clients import READER_C
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler (Debian: gcc): the bench then runs Python subscribers only")
    exe = str(tmp_path / "gateway_reader")
    subprocess.run([cc, "-O2", "-Wall", "-Werror", "-o", exe, READER_C], check=True, timeout=120)
    return exe


def _handshake(conn: Any, deflate: int) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(4096)
    assert data.startswith(b"GET /ws HTTP/1.1") and (b"permessage-deflate" in data) == bool(deflate)
    ext = b"Sec-WebSocket-Extensions: permessage-deflate\r\n" if deflate else b""
    hello = b'{"op":"hello","version":"1.0"}'
    conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + ext
                 + b"\r\n" + bytes((0x81, len(hello))) + hello)


@pytest.mark.parametrize("deflate", [0, 15], ids=["plain", "deflate"])
def test_the_c_reader_counts_what_the_python_one_counts(tmp_path: Any, deflate: int) -> None:
    import json
    import socket
    import subprocess
    exe = _reader(tmp_path)
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    port = srv.getsockname()[1]
    proc = subprocess.Popen([exe, "127.0.0.1", str(port), "2", "1" if deflate else "0"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)
    conns = []
    try:
        for _ in range(2):
            c, _addr = srv.accept()
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            _handshake(c, deflate)
            conns.append(c)
        for c in conns:
            sub = c.recv(4096)                  # the masked subscribe frame
            assert sub[0] == 0x81 and sub[1] & 0x80
            ok = b'{"op":"subscribed","id":1,"after":1000,"head":1000,"topics":[""]}'
            c.sendall(bytes((0x81, len(ok))) + ok)
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        good = b"".join(events_frame(items(1001 + 10 * k, 10), 1010 + 10 * k, deflate) for k in range(5))
        gap = b'{"op":"gap","first":1,"last":2}'
        bad = (events_frame(items(1001, 10), 1010, deflate)
               + events_frame(items(1016, 5), 1020, deflate)                # 1011..1015 never came
               + events_frame(items(1018, 3), 1020, deflate)                # 1018..1020 again
               + b"\x89\x02hi" + bytes((0x81, len(gap))) + gap)
        if not deflate:
            bad += events_frame(items(1021, 10), 1030).replace(b'"count":10', b'"count":09')
        else:                                   # compressed without its stored header: not readable here
            bad += b"\xc1\x05" + b"\x4a\x04\x00\x00\x00"
            bad += events_frame(items(1021, 10), 1030, deflate)
        bad += events_frame(items(1031, 20), 1050, deflate)     # both end at 1050: the reader reads to the end
        for stream, c in ((good, conns[0]), (bad, conns[1])):
            for i in range(0, len(stream), 7):      # 7-octet writes: headers and payloads cut everywhere
                c.sendall(stream[i:i + 7])
                if i % 140 == 0:
                    time.sleep(0.001)
        conns[1].settimeout(5)
        pong = conns[1].recv(64)
        assert pong[0] == 0x8A and pong[1] == 0x82            # answered the ping, masked
        assert proc.stdin is not None
        proc.stdin.write(b"1050\n")
        proc.stdin.flush()
        report = json.loads(proc.stdout.readline())
    finally:
        for c in conns:
            c.close()
        srv.close()
        proc.wait(10)
    t = report["tally"]
    # the lying header's count (9) is what a header-only reader can count
    assert (t["delivered"], t["frames"], t["lost"], t["duplicated"]) == (
        50 + 10 + 5 + 3 + (10 if deflate else 9) + 20, 10, 5, 3)
    assert t["bad_header"] == 1 and t["others"]["gap"] == 1 and report["short"] == 0 and report["n"] == 2
    assert t["stored_headers"] == (10 if deflate else 0)
    lats = {int(k): v for k, v in t["lats"].items()}
    assert sum(lats.values()) == t["delivered"] and all(k >= 30 for k in lats)     # the 3 ms they are old
    assert sum(t["lats_sent"].values()) == t["delivered"]
