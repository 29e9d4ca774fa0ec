"""The compiled ISUP accelerators against their Python twins: same octets, same values, same
errors (type and message) for every message and parameter, on valid, random and mutated input."""
from __future__ import annotations

import random

import pytest
from hypothesis import given, strategies as st

from _boardcore import _select
from conftest import kernel_impls, load_impl
from test_ss7_fuzz import any_message, messages, mutate, value_for

from cti.signaling.errors import ProtocolError
from cti.signaling.ss7.isup.call import CallState
from cti.signaling.ss7.isup.formats import FORMATS, IsupMessage, MessageType as M
from cti.signaling.ss7.isup.params import BY_NAME, PARAMS, CauseInd, Number, RangeStatus

CODEC = "cti.signaling.ss7.isup.codec"
compiled_codec = _select.compiled(CODEC)
twin_codec = _select.twin(CODEC)
needs_compiled = pytest.mark.skipif(compiled_codec is None, reason="compiled codec_c not built")


@pytest.fixture(params=kernel_impls(CODEC))
def codec(request):
    return load_impl(request.param)


def outcome(fn, *args):
    """What ``fn(*args)`` gives: ('ok', value) or ('err', exception type, message)."""
    try:
        return ("ok", fn(*args))
    except Exception as e:
        return ("err", type(e), str(e))


def test_the_public_codec_is_the_live_implementation():
    from cti.signaling.ss7.isup import codec
    live = _select.load(CODEC)
    assert codec.decode is live.decode and codec.encode_message is live.encode_message
    assert ("compiled" if live is compiled_codec else "python") == codec.IMPLEMENTATION


def test_known_octets_both_ways(codec):
    m = IsupMessage(M.IAM, 5, dict(nature_of_connection_indicators=0, forward_call_indicators=0x2001,
                                   calling_partys_category=10, transmission_medium_requirement=0,
                                   called_party_number=Number("12345F"), calling_party_number=Number("8888")))
    data = bytes.fromhex("0500010001200a0002070503102143f50a040313888800")
    assert codec.encode(m) == data and codec.decode(data) == m
    rel = IsupMessage(M.REL, 0x123, {"cause_indicators": CauseInd(16, diagnostic=b"\x01")})
    assert codec.encode(rel) == bytes.fromhex("230 10c 02 00 03 80 90 01".replace(" ", ""))
    assert codec.decode(codec.encode(rel)) == rel


def test_every_message_of_the_tables(codec):
    """Each format (fixed, variable, optional part) with an unknown optional parameter kept raw."""
    for t, fmt in FORMATS.items():
        params = {n: (RangeStatus(7, b"\x81") if n == "range_and_status" else CauseInd(31) if n == "cause_indicators"
                      else Number("123") if n.endswith("number") else 1) for n in fmt.fixed + fmt.variable}
        unknown = {0xFE: b"\x01\x02"} if fmt.optional else {}
        m = IsupMessage(t, 7, params, unknown)
        assert codec.decode(codec.encode(m)) == m
        assert codec.encode(m) == twin_codec.encode(m)


@needs_compiled
@given(any_message)
def test_compiled_and_twin_agree_on_every_message(msg):
    data = twin_codec.encode(msg)
    assert compiled_codec.encode(msg) == data
    assert compiled_codec.decode(data) == twin_codec.decode(data) == msg


@needs_compiled
@given(st.sampled_from(sorted(PARAMS)), st.data())
def test_compiled_and_twin_agree_on_every_parameter(code, data):
    """Each parameter alone in an optional part (CPG carries any), so the compiled encoder and
    decoder of that parameter kind run."""
    p = PARAMS[code]
    v = data.draw(value_for(p.name))
    msg = IsupMessage(M.CPG, 1, {"event_information": 1, p.name: v} if p.name != "event_information"
                      else {"event_information": v})
    out = twin_codec.encode(msg)
    assert compiled_codec.encode(msg) == out
    assert compiled_codec.decode(out) == twin_codec.decode(out) == msg


BAD_VALUES = [-1, 256, 70000, 2 ** 70, 1.0, "1", None, True, b"\x01", Number("12"), Number("12X"),
              Number("1" * 41), Number("1", nai=128), Number("1", npi=8), Number("1", inn=2),
              Number("1", presentation=4), Number("1", screening=-1), Number(12),
              CauseInd(128), CauseInd(16, location=16), CauseInd(16, coding=4), CauseInd(16, diagnostic=bytearray(b"x")),
              CauseInd(16, diagnostic="x"), RangeStatus(256), RangeStatus(3, b""), RangeStatus(3, b"\x01\x02"),
              RangeStatus(-1), RangeStatus(8, bytearray(b"\x01\x02")), bytearray(b"ab"), b"x" * 300]


@needs_compiled
@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_compiled_and_twin_raise_the_same_on_bad_values(name):
    for v in BAD_VALUES:
        for t, fmt in FORMATS.items():
            if name in fmt.fixed + fmt.variable:
                params = {n: twin_codec.decode(twin_codec.encode(IsupMessage(t, 1, {
                    k: (RangeStatus(0) if k == "range_and_status" else CauseInd(16) if k == "cause_indicators"
                        else Number("1") if k.endswith("number") else 0) for k in fmt.fixed + fmt.variable}))).params[n]
                          for n in fmt.fixed + fmt.variable}
                params[name] = v
                break
        else:
            t, params = M.CPG, {"event_information": 0, name: v}
        assert outcome(compiled_codec.encode_message, t, 9, params) == outcome(twin_codec.encode_message, t, 9, params)


@needs_compiled
def test_compiled_and_twin_raise_the_same_on_bad_messages():
    cases = [(0x77, 1, {}), (M.RLC, -1, {}), (M.RLC, 4096, {}), (M.RLC, 1.5, {}), (M.REL, 1, {}),
             (M.BLO, 1, {"cause_indicators": CauseInd(1)}), (M.RLC, 1, {"bogus": 1}), (M.RLC, 1, {}, {0x04: b"x"}),
             (M.RLC, 1, {}, {0x300: b"x"}), (M.RLC, 1, {}, {0xF0: b"x" * 256}), (M.BLO, 1, {}, {0xF0: b"x"}),
             (M.REL, 1, {"cause_indicators": CauseInd(16, diagnostic=b"d" * 254), "calling_party_number": Number("1")}),
             (M.REL, 1, {"cause_indicators": CauseInd(16, diagnostic=b"d" * 254)}),
             (M.CPG, 1, {"event_information": 1, "user_service_information": b"u" * 256}),
             (M.IAM, 1, {"called_party_number": Number("1")})]
    for case in cases:
        assert outcome(compiled_codec.encode_message, *case) == outcome(twin_codec.encode_message, *case), case


def _same_decode(data: bytes) -> None:
    c, p = outcome(compiled_codec.decode, data), outcome(twin_codec.decode, data)
    assert c == p
    if c[0] == "err":
        assert issubclass(c[1], ProtocolError)


@needs_compiled
@given(st.binary(max_size=80))
def test_compiled_decoder_on_random_bytes(data):
    _same_decode(data)
    for t in (M.IAM, M.REL, M.GRS, M.CGB, M.CPG, 0x77):
        _same_decode(bytes((1, 0, t)) + data)


@pytest.mark.system
@needs_compiled
@given(any_message, st.randoms(use_true_random=False))
def test_compiled_decoder_on_mutated_messages(msg, rnd):
    data = mutate(twin_codec.encode(msg), rnd)
    _same_decode(bytes(data))
    _same_decode(bytearray(data))
    _same_decode(memoryview(bytes(data)))


@needs_compiled
def test_compiled_decoder_seeded_battery():
    """A long battery (compiled only): mutations of every message type; errors identical."""
    rng = random.Random(77)
    base = [twin_codec.encode(IsupMessage(t, rng.randrange(4096), {
        n: (RangeStatus(9, b"\x01\x02") if n == "range_and_status" else CauseInd(16, diagnostic=b"\x05")
            if n == "cause_indicators" else Number("12345") if n.endswith("number") else 3)
        for n in FORMATS[t].fixed + FORMATS[t].variable} | (
        {"calling_party_number": Number("8"), "user_service_information": b"\x80\x90"} if FORMATS[t].optional else {})))
        for t in FORMATS]
    for _ in range(20000):
        d = bytearray(rng.choice(base))
        for _ in range(rng.randint(1, 3)):
            d[rng.randrange(len(d))] = rng.randrange(256)
        if rng.random() < 0.3:
            del d[rng.randrange(len(d)):]
        _same_decode(bytes(d))


# ---- call control: the compiled node and the twin node driven in lockstep -------------------------
CONTROL = "cti.signaling.ss7.isup.control"
compiled_control = _select.compiled(CONTROL)
IAM = "cti.signaling.ss7.isup.iam"


def _state(node):
    return ({cic: (c.fsm.state, c.local_blocked, c.remote_blocked, c.unequipped, c.reset_pending,
                   dict(c.fsm.running), c.called, c.calling, int(c.cause))
             for cic, c in node.circuits.items()}, dict(node.counters), node.timer_deadline())


def _request(node, op, x, y, raw, now):
    cic = 1 + x % 12
    busy = [k for k, c in sorted(node.circuits.items()) if c.fsm.state is not CallState.IDLE]
    if op in ("alert", "answer", "release") and busy and x % 4:
        cic = busy[x % len(busy)]           # mostly a circuit with a call: calls get answered and cleared
    if op == "setup":
        return node.setup("55" + str(x), str(y) if y % 3 else None, now, cic=None if y % 2 else cic)
    if op in ("alert", "answer", "reset", "block", "unblock"):
        return getattr(node, op)(cic, now)
    if op == "release":
        return node.release(cic, 16 + y % 3, now)
    if op in ("group_reset", "group_block", "group_unblock"):
        return getattr(node, op)(1 + x % 8, 2 + y % 8, now)
    if op == "timer":
        return node.handle_timer(now)
    if op == "garbage":
        return node.receive(raw, now)
    if op == "message":        # a well-formed message of any type, out of the blue
        t = sorted(FORMATS)[x % len(FORMATS)]
        params = {n: (RangeStatus(y % 4, bytes([y & 0xFF])) if n == "range_and_status" else CauseInd(16 + y % 3)
                      if n == "cause_indicators" else Number(str(y)) if n.endswith("number") else y % 3)
                  for n in FORMATS[t].fixed + FORMATS[t].variable}
        if t == M.GRS:
            params["range_and_status"] = RangeStatus(1 + y % 4)
        return node.receive(twin_codec.encode(IsupMessage(t, cic, params)), now)
    raise AssertionError(op)


def _lockstep(pairs, op, first, x, y, raw, now):
    """One step on each (a, b) pair (compiled first, twin second); everything observable must be
    equal. Returns the events of the step."""
    results = []
    for a, b in pairs:
        src, dst = (a, b) if first else (b, a)
        if op in ("deliver", "drop"):          # the queued messages, the first lost on "drop"
            out = src.data_to_send(0.0)
            for k, (_, data) in enumerate(out):
                if not (op == "drop" and k == 0):
                    dst.receive(data, now)
            results.append(out)
        else:
            results.append(outcome(_request, src, op, x, y, raw, now))
        results.append((a.events() + b.events(), _state(a), _state(b)))
    assert results[:2] == results[2:], (op, x, y)
    return results[1][0]


OPS = ["setup", "setup", "alert", "answer", "answer", "release", "reset", "block", "unblock", "group_reset", "group_block",
       "group_unblock", "timer", "garbage", "message", "deliver", "deliver", "deliver", "drop"]


@needs_compiled
@pytest.mark.skipif(compiled_control is None, reason="compiled control_c not built")
@given(st.lists(st.tuples(st.sampled_from(OPS), st.booleans(), st.integers(0, 200), st.integers(0, 400),
                          st.binary(max_size=12)), max_size=60))
@pytest.mark.system
def test_compiled_and_twin_nodes_agree_step_by_step(steps):
    from cti.signaling.ss7.isup.node import node_class
    pairs = []
    for control in (compiled_control, _select.twin(CONTROL)):
        Node = node_class(control)
        pairs.append((Node(list(range(1, 13)), 100, 200, name="a"), Node(list(range(1, 13)), 200, 100, name="b")))
    now = 0.0
    for op, first, x, y, raw in steps:
        now += y / 10
        _lockstep(pairs, op, first, x, y, raw, now)


@pytest.mark.system
@needs_compiled
@pytest.mark.skipif(compiled_control is None, reason="compiled control_c not built")
def test_compiled_and_twin_nodes_agree_on_a_long_seeded_walk():
    """Thousands of calls, clears, timeouts, glare, resets, blocking and garbage, both node
    implementations fed the same steps: same octets out, same events, same circuit states."""
    from cti.signaling.ss7.isup.node import node_class
    rng = random.Random(2024)
    weights = {"setup": 8, "alert": 5, "answer": 5, "release": 5, "reset": 1, "block": 1, "unblock": 1,
               "group_reset": 1, "group_block": 1, "group_unblock": 1, "timer": 3, "garbage": 1, "message": 2,
               "deliver": 20, "drop": 1}
    ops = rng.choices(list(weights), list(weights.values()), k=6000)
    pairs = [(node_class(m)(list(range(1, 13)), 100, 200, name="a"), node_class(m)(list(range(1, 13)), 200, 100,
                                                                                     name="b"))
             for m in (compiled_control, _select.twin(CONTROL))]
    now, kinds = 0.0, set()
    for op in ops:
        first, x, y = rng.random() < 0.5, rng.randrange(200), rng.randrange(400)
        raw = rng.randbytes(rng.randrange(12))
        now += rng.choice((0.0, 0.1, 1.0, 30.0)) if op == "timer" else 0.01
        kinds |= {e.kind for e in _lockstep(pairs, op, first, x, y, raw, now)}
    assert {"setup", "alerting", "answered", "released", "reset_done", "circuit", "unexpected"} <= kinds


@needs_compiled
@pytest.mark.skipif(compiled_control is None, reason="compiled control_c not built")
@given(st.text("0123456789ABCDEFabcf#x", max_size=44), st.one_of(st.none(), st.text("0123456789ABCDEF*", max_size=44)),
       st.one_of(st.integers(-1, 256), st.sampled_from([0x0A, "x"])), st.booleans())
def test_compiled_iam_from_its_parts_equals_the_tables(called, calling, category, extra):
    """The compiled node writes the IAM from pre-encoded parts (no Number objects): the same
    octets or the same error as the twin encoding it from the tables, extra parameters too."""
    from cti.signaling.ss7.isup.node import node_class
    kw = {"user_service_information": b"\x80\x90\xa3"} if extra else {}
    got = []
    for control in (compiled_control, _select.twin(CONTROL)):
        node = node_class(control)([7, 300], 1, 2, name="a")
        r = outcome(lambda: node.setup(called, calling, 0.0, 300, category, **kw))
        got.append((r, node.data_to_send(0.0), node.events(), _state(node)))
    assert got[0] == got[1]


@needs_compiled
@pytest.mark.skipif(compiled_control is None, reason="compiled control_c not built")
def test_compiled_node_checks_acm_anm_con_rlc_rel_whole_without_decoding_them():
    """ACM/ANM/CON/RLC/REL are only checked by the compiled node (no IsupMessage built; REL's
    cause value read in place, with or without octet 1a): mutated and truncated ones (bad
    pointers, lengths, optional parameters) are discarded exactly as the twin discards them
    after decoding, and good ones move the calls the same way (same RLC, same released cause)."""
    from cti.signaling.ss7.isup.node import node_class
    rng = random.Random(77)
    base = [twin_codec.encode_message(M.ACM, 3, {"backward_call_indicators": 0x0416}),
            twin_codec.encode_message(M.ACM, 3, {"backward_call_indicators": 0x0416, "cause_indicators": CauseInd(16)}),
            twin_codec.encode_message(M.ANM, 3, {}), twin_codec.encode_message(M.CON, 3, {"backward_call_indicators": 1}),
            twin_codec.encode_message(M.RLC, 3, {}), twin_codec.encode_message(M.ANM, 3, {"cause_indicators": CauseInd(31)}),
            twin_codec.encode_message(M.REL, 3, {"cause_indicators": CauseInd(17, 1, diagnostic=b"\x01")}),
            twin_codec.encode_message(M.REL, 3, {"cause_indicators": CauseInd(21), "user_service_information": b"\x80"}),
            bytes.fromhex("03000c0200030081a2")]        # REL, cause with octet 1a (extension bit 0): value 34
    nodes = [node_class(m)([3, 4], 1, 2, name="a") for m in (compiled_control, _select.twin(CONTROL))]
    now = 0.0
    released = []
    for k in range(3000):
        d = bytearray(rng.choice(base))
        if k % 3:
            for _ in range(rng.randint(1, 3)):
                d[rng.randrange(3, len(d))] = rng.randrange(256)
            if rng.random() < 0.3:
                del d[rng.randrange(3, len(d) + 1):]
        d[0] = rng.choice((3, 4, 9))               # 9: unequipped
        now += 0.5
        seen = []
        for node in nodes:
            if node.circuits[3].fsm.state is CallState.IDLE and k % 7 == 0:
                node.setup("123", None, now, cic=3)
            node.receive(bytes(d), now)
            seen.append((node.data_to_send(0.0), node.events(), _state(node)))
        assert seen[0] == seen[1], bytes(d).hex()
        released += [e for e in seen[0][1] if e.kind == "released"]
    assert nodes[0].counters["discarded"] > 100 and nodes[0].counters["rx"] == 3000
    causes = {e.cause for e in released if e.reason == "REL received"}
    assert {17, 21, 34} <= causes, causes


@pytest.mark.parametrize("which", ["compiled", "twin"])
@given(called=st.text("0123456789ABCDEFabcdef", min_size=1, max_size=41),
       calling=st.one_of(st.none(), st.just(""), st.text("0123456789ABCDEFabcdefX", min_size=1, max_size=41)),
       category=st.sampled_from([0x0A, 0x01, 0xE0]), cic=st.sampled_from([1, 7, 300, 4095]))
def test_iam_written_from_parts_is_the_codecs_iam(which, called, calling, category, cic):
    """The usual IAM is written from pre-encoded parts (call control's fast path): the same
    octets as the codec's encoder, and the codec's error where a number cannot be encoded."""
    from cti.signaling.ss7.isup.node import node_class
    control = compiled_control if which == "compiled" else _select.twin(CONTROL)
    if control is None:
        pytest.skip("compiled control_c not built")
    node = node_class(control)([1, 7, 300, 4095], 1, 2)
    p = dict(node.iam_defaults, calling_partys_category=category,
             called_party_number=Number(called if called.endswith("F") else called + "F"))
    if calling:
        p["calling_party_number"] = Number(calling)
    assert outcome(node._iam, cic, called, calling, category, {}) == \
        outcome(twin_codec.encode_message, M.IAM, cic, p)


@pytest.mark.parametrize("which", ["compiled", "twin"])
@given(msg=messages(M.IAM), seed=st.integers(0, 2**32), mutated=st.booleans())
def test_iam_read_in_place_is_what_the_codec_decodes(which, msg, seed, mutated):
    """Call control reads the usual IAM's numbers and category from the octets, not through
    the codec: whatever it reads there (valid, with other optional parameters, mutated) is what
    the codec decodes, and an IAM it does not read is left to the codec (None)."""
    iam = _select.compiled(IAM) if which == "compiled" else _select.twin(IAM)
    if iam is None:
        pytest.skip("compiled iam_c not built")
    data = twin_codec.encode(msg)
    if mutated:
        data = bytes(mutate(data, random.Random(seed)))
    if len(data) < 10 or data[2] != M.IAM:
        return
    seen = iam.read_iam(data)
    try:
        decoded = iam.iam_of(twin_codec.decode(data))
    except ProtocolError:
        assert seen is None
        return
    if seen is not None:
        assert (seen.called, seen.calling, seen.category) == (decoded.called, decoded.calling, decoded.category)
    elif not mutated and set(msg.params) <= {"nature_of_connection_indicators", "forward_call_indicators",
                                             "calling_partys_category", "transmission_medium_requirement",
                                             "called_party_number", "calling_party_number"}:
        raise AssertionError(f"the usual IAM {data.hex()} was left to the codec")
