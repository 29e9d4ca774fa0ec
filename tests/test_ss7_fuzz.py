"""Hypothesis round trips for every ISUP message and parameter; decoders fed random and
mutated bytes raise only cti.signaling.errors.ProtocolError subclasses."""
from __future__ import annotations

import pytest

import random

from hypothesis import given, strategies as st

from cti.signaling.errors import ProtocolError
from cti.signaling.ss7.isup.codec import FORMATS, IsupMessage, MessageType, decode, encode
from _boardcore import _select
from conftest import compiled_or_twin
from cti.signaling.ss7.isup.node import node_class
from cti.signaling.ss7.isup.params import BY_NAME, PARAMS, CauseInd, Number, RangeStatus
from cti.signaling.ss7.mtp2 import decode as su_decode
from cti.signaling.ss7.mtp3 import RoutingLabel, Variant

CONTROL = "cti.signaling.ss7.isup.control"
#: IsupNode over each call control that is built (compiled and twin): both must survive
NODES = [node_class(m) for m in (_select.compiled(CONTROL), _select.twin(CONTROL)) if m is not None]

digits = st.text("0123456789ABCDE", max_size=20)
numbers = st.builds(Number, digits, st.integers(0, 127), st.integers(0, 7), st.integers(0, 1),
                    st.integers(0, 3), st.integers(0, 3))
causes = st.builds(CauseInd, st.integers(0, 127), st.integers(0, 15), st.integers(0, 3), st.binary(max_size=6))


@st.composite
def ranges(draw, with_status=True):
    r = draw(st.integers(0, 255 if with_status else 255))
    if not with_status:
        return RangeStatus(r)
    return RangeStatus(r, draw(st.binary(min_size=r // 8 + 1, max_size=r // 8 + 1)))


def value_for(name: str):
    p = BY_NAME[name]
    if p.size:
        return st.integers(0, (1 << (8 * p.size)) - 1)
    if name == "called_party_number":
        return numbers.map(lambda n: Number(n.digits, n.nai, n.npi, n.inn))
    if name == "subsequent_number":
        return digits.map(Number)
    if name.endswith("number"):
        return numbers
    if name == "cause_indicators":
        return causes
    if name == "range_and_status":
        return st.one_of(ranges(False), ranges(True))
    return st.binary(max_size=20)


OPTIONAL = ["calling_party_number", "redirecting_number", "original_called_number", "user_service_information",
            "optional_backward_call_indicators", "cause_indicators"]


@st.composite
def messages(draw, mtype):
    fmt = FORMATS[mtype]
    params = {n: draw(value_for(n)) for n in fmt.fixed + fmt.variable}
    if mtype in (MessageType.GRS,):
        params["range_and_status"] = draw(ranges(False))
    if fmt.optional:
        for n in draw(st.lists(st.sampled_from(OPTIONAL), max_size=3, unique=True)):
            if n not in params:
                params[n] = draw(value_for(n))
    return IsupMessage(mtype, draw(st.integers(0, 4095)), params)


any_message = st.one_of(*[messages(t) for t in MessageType])


@given(st.sampled_from(sorted(PARAMS)), st.data())
def test_every_parameter_round_trips(code, data):
    p = PARAMS[code]
    v = data.draw(value_for(p.name))
    assert p.decode(p.encode(v)) == v


@given(any_message)
def test_every_message_round_trips(msg):
    assert decode(encode(msg)) == msg


@given(st.binary(max_size=80))
def test_random_bytes_only_protocol_errors(data):
    for fn in (decode, su_decode, lambda d: RoutingLabel.decode(d, Variant.CHINA)):
        try:
            fn(data)
        except ProtocolError:
            pass


def mutate(octets: bytes, rnd: random.Random) -> bytearray:
    """1 to 4 random edits: an octet changed, the tail cut, an octet inserted."""
    data = bytearray(octets)
    for _ in range(rnd.randint(1, 4)):
        op = rnd.randrange(3)
        if op == 0 and data:
            data[rnd.randrange(len(data))] = rnd.randrange(256)
        elif op == 1 and data:
            del data[rnd.randrange(len(data)):]
        else:
            data.insert(rnd.randrange(len(data) + 1), rnd.randrange(256))
    return data


@pytest.mark.system
@given(any_message, st.randoms(use_true_random=False))
def test_mutated_messages_only_protocol_errors_and_node_survives(msg, rnd):
    data = mutate(encode(msg), rnd)
    try:
        decode(bytes(data))
    except ProtocolError:
        pass
    outs = []
    for Node in NODES:
        node = Node(list(range(64)), 1, 2)
        node.receive(bytes(data), 0.0)     # never raises: CFN, UCIC, discard or handled
        outs.append((node.data_to_send(0.0), [(e.kind, e.cic, e.reason) for e in node.events()], node.counters))
    assert all(o == outs[0] for o in outs)    # compiled and twin answer alike


def test_seeded_mutation_battery_on_the_node():
    rng = random.Random(1234)
    node = node_class(compiled_or_twin(CONTROL))(list(range(1, 32)), 1, 2)   # long: compiled only
    base = [encode(IsupMessage(t, rng.randrange(1, 32), {n: 0 for n in FORMATS[t].fixed}
                               | {n: RangeStatus(3, b"\x0f") if n == "range_and_status" else CauseInd(16)
                                  for n in FORMATS[t].variable if n != "called_party_number"
                                  and n != "subsequent_number"}))
            for t in MessageType if t not in (MessageType.IAM, MessageType.SAM)]
    for i in range(3000):
        d = bytearray(rng.choice(base))
        d[rng.randrange(len(d))] = rng.randrange(256)
        node.receive(bytes(d), float(i))
        node.handle_timer(float(i))
        node.data_to_send(0.0)
        node.events()
    assert node.counters["rx"] == 3000
