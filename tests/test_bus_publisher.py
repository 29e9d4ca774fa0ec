"""The publish hot path (cti.bus.publish, compiled and twin): msgpack-python's octets, the twin's
errors, seq taken only by an event that was encoded and can be sent."""
from __future__ import annotations

import collections
import dataclasses
import enum
from dataclasses import dataclass
from typing import ClassVar

import msgpack
import pytest
import zmq
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.call.events import EVENT_TYPES, BusEvent, Delivered
from tests.conftest import kernel_impls, load_impl

IMPLS = kernel_impls("cti.bus.publish")
ENV = ("seq", "time", "v", "topic")


class Color(enum.IntEnum):
    RED = 1


@dataclass(frozen=True, slots=True)
class Custom(BusEvent):
    """An event outside the call model, with a topic of its own."""
    TOPIC: ClassVar[str] = "queue"
    name: str
    data: dict = dataclasses.field(default_factory=dict)

    def topic(self) -> str:
        return f"queue.{self.name}"


@dataclass(frozen=True, slots=True)
class OwnDict(BusEvent):
    """A subclass with its own to_dict: stamped() keeps it, so must the publisher."""
    n: int

    def to_dict(self):
        return {"n": self.n * 2, "type": "OwnDict"}


@dataclass(frozen=True, slots=True)
class BadTopic(BusEvent):
    def topic(self):
        return 5


@pytest.fixture(scope="module")
def shared_sock():
    ctx = zmq.Context()
    s = ctx.socket(zmq.PUB)
    s.bind("tcp://127.0.0.1:*")
    yield s
    s.close(0)
    ctx.term()


@pytest.fixture
def sock():
    ctx = zmq.Context()
    s = ctx.socket(zmq.PUB)
    s.bind("tcp://127.0.0.1:*")
    yield s
    s.close(0)
    ctx.term()


def _pub(impl, sock, seq=0):
    ring = collections.deque(maxlen=1000)
    return load_impl(impl).Publisher(sock, seq, ring, 1), ring


def _want(event: dict, seq, t, topic) -> bytes:
    return msgpack.packb({**event, "seq": seq, "time": t, "v": 1, "topic": topic}, use_bin_type=True)


scalars = (st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | st.floats(allow_nan=False)
           | st.text(max_size=40) | st.binary(max_size=40)
           | st.sampled_from(["", "x" * 31, "x" * 32, "x" * 255, "x" * 256, "é" * 40, "x" * 65536,
                              b"x" * 255, b"x" * 256, b"x" * 65536, 127, 128, 255, 256, 65535, 65536,
                              2**32 - 1, 2**32, -32, -33, -128, -129, -32768, -32769, -2**31, -2**31 - 1]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=17) | st.tuples(inner, inner)
                      | st.dictionaries(st.text(max_size=8) | st.integers(-5, 5), inner, max_size=17), max_leaves=40)


@pytest.mark.parametrize("impl", IMPLS)
@settings(max_examples=80, deadline=None)
@given(fields=st.dictionaries(st.text(max_size=10), values, max_size=20), seq=st.integers(0, 2**62),
       t=st.floats(allow_nan=False) | st.integers(0, 2**40), topic=st.text(max_size=300))
@pytest.mark.system
def test_frames_are_msgpacks_octets(impl, shared_sock, fields, seq, t, topic):
    p, _ = _pub(impl, shared_sock)
    event = {"type": "Note", **fields}
    assert p.encode(event, seq, t, topic) == _want(event, seq, t, topic)


@pytest.mark.parametrize("impl", IMPLS)
def test_fallbacks_give_msgpacks_result_or_error(impl, sock):
    p, _ = _pub(impl, sock)
    deep: list = []
    for _ in range(100):
        deep = [deep]
    for event in ({"type": "X", "seq": 99}, {"topic": "mine", "type": "X"}, {"type": "X", "c": Color.RED},
                  {"type": "X", "d": collections.OrderedDict(a=1)}, {"type": "X", "deep": deep},
                  {"type": "X", "s": "x" * 70_000}, {"type": "X", "l": list(range(70_000))}):
        assert p.encode(event, 7, 1.5, "t") == _want(event, 7, 1.5, "t")
    for bad in ({"type": "X", "o": object()}, {"type": "X", "big": 2**64}, {"type": "X", "neg": -2**63 - 1},
                {"type": "X", "sur": "\ud800"}, {"type": "X", "set": {1}}):
        with pytest.raises(Exception) as got:
            _want(bad, 7, 1.5, "t")
        with pytest.raises(got.type):
            p.encode(bad, 7, 1.5, "t")


@pytest.mark.parametrize("impl", IMPLS)
def test_publish_frames_ring_journal_and_seq(impl, sock):
    p, ring = _pub(impl, sock, seq=41)
    ev = Delivered(call="9", device="8002", state="alerting", span=1, ts=4, devices=["8002"])
    assert p.publish({"type": "Note", "n": 1}, 10.0) == 42
    assert p.publish(ev, 11.0) == 43
    assert p.publish(Custom(name="sales", data={"k": [1, 2.5]}), 12) == 44
    assert p.publish(OwnDict(n=3), 13.0) == 45
    assert p.publish({"type": "SpanThing"}, 14.0) == 46         # topic defaults to the type
    assert p.seq == 46
    rows = p.take_journal()
    assert p.take_journal() == []
    assert [r[:4] for r in rows] == [(42, 10.0, "note", "Note"), (43, 11.0, "call.1.4", "Delivered"),
                                     (44, 12, "queue.sales", "Custom"), (45, 13.0, "server", "OwnDict"),
                                     (46, 14.0, "spanthing", "SpanThing")]
    assert [r[4] for r in rows] == list(ring)
    assert rows[1][4] == msgpack.packb(ev.stamped(43, 11.0, 1, "call.1.4"), use_bin_type=True)
    assert rows[2][4] == msgpack.packb(Custom(name="sales", data={"k": [1, 2.5]}).stamped(44, 12, 1, "queue.sales"))
    assert msgpack.unpackb(rows[3][4])["n"] == 6
    t0 = p.publish({"type": "Clock"})                            # time.time() when not given
    assert isinstance(p.take_journal()[0][1], float) and t0 == 47


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("name", sorted(EVENT_TYPES))
def test_every_event_type_is_stamped_exactly(impl, sock, name):
    cls = EVENT_TYPES[name]
    values = {"str": "x", "int": 3}
    ev = cls(**{f.name: values[str(f.type).split(" ")[0]] for f in dataclasses.fields(cls)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING})
    p, ring = _pub(impl, sock)
    p.publish(ev, 5.5)
    assert ring[-1] == msgpack.packb(ev.stamped(1, 5.5, 1, ev.topic()), use_bin_type=True)


@pytest.mark.parametrize("impl", IMPLS)
def test_failures_take_no_seq(impl, sock):
    p, ring = _pub(impl, sock, seq=9)
    for bad, exc in (({"type": "X", "o": object()}, TypeError), ({"no": "type"}, KeyError),
                     ({"type": "X", "big": 2**70}, OverflowError), (BadTopic(), TypeError),
                     (Custom(name="q", data={"o": object()}), TypeError)):
        with pytest.raises(exc):
            p.publish(bad)
    assert p.seq == 9 and not ring and p.take_journal() == []
    with pytest.raises(ValueError):
        load_impl(impl).Publisher(sock, -1, ring, 1)
    sock.close(0)
    with pytest.raises(zmq.ZMQError):
        p.publish({"type": "X"})
    assert p.seq == 9 and not ring


@pytest.mark.parametrize("impl", IMPLS)
def test_a_subscriber_receives_topic_and_frame(impl, sock):
    p, ring = _pub(impl, sock)
    sub = sock.context.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"call.")
    sub.rcvtimeo = 5000
    sub.connect(sock.getsockopt_string(zmq.LAST_ENDPOINT))
    ev = Delivered(call="1", device="8001", state="alerting", span=0, ts=5)
    try:
        for _ in range(500):                 # slow joiner: publish until the subscription is in place
            p.publish(ev)
            if sub.poll(10):
                break
        topic, frame = sub.recv_multipart()
        assert topic == b"call.0.5" and frame in ring
    finally:
        sub.close(0)


@pytest.mark.parametrize("impl", IMPLS)
def test_call_topics_made_by_the_publisher_are_topic(impl, sock):
    """The compiled publisher makes CallEvent topics itself for small span/ts: always topic()."""
    p, ring = _pub(impl, sock)
    cases = [(None, None), (0, 0), (0, 5), (255, 63), (256, 1), (1, 64), (-1, 3), (3, -1), (True, 2),
             (2**63 + 5, 1), (7, None), (None, 7), (0, 5)]
    for i, (span, ts) in enumerate(cases):
        cls = sorted(EVENT_TYPES.items())[i % len(EVENT_TYPES)][1]
        if "span" not in {f.name for f in dataclasses.fields(cls)}:
            cls = Delivered
        ev = cls(**{**{f.name: "x" for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING
                       and f.default_factory is dataclasses.MISSING}, "span": span, "ts": ts})
        seq = p.publish(ev, 1.0)
        (row,) = p.take_journal()
        assert row[2] == ev.topic() and row[3] == cls.__name__
        assert ring[-1] == msgpack.packb(ev.stamped(seq, 1.0, 1, ev.topic()), use_bin_type=True)
