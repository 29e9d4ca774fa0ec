"""Q.921 frames and Q.931 messages/elements: round trips, known octets, and hypothesis fuzzing
of both decoders (random and mutated octets raise only protocol errors)."""
from __future__ import annotations

import pytest

from hypothesis import given, settings, strategies as st

from cti.signaling.errors import ProtocolError
from cti.signaling.pri import ie as IE
from cti.signaling.pri import lapd as L
from cti.signaling.pri import message as M

# ---- Q.921 --------------------------------------------------------------------------------
frames = st.one_of(
    st.builds(L.Frame, st.just(L.Kind.I), st.just(True), st.booleans(), st.integers(0, 127), st.integers(0, 127),
              st.binary(max_size=260)),
    st.builds(L.Frame, st.sampled_from([L.Kind.RR, L.Kind.RNR, L.Kind.REJ]), st.booleans(), st.booleans(),
              st.none(), st.integers(0, 127)),
    st.builds(L.Frame, st.sampled_from([L.Kind.SABME, L.Kind.DISC]), st.just(True), st.booleans()),
    st.builds(L.Frame, st.sampled_from([L.Kind.UA, L.Kind.DM]), st.just(False), st.booleans()),
    st.builds(L.Frame, st.just(L.Kind.FRMR), st.just(False), st.booleans(), info=st.binary(min_size=5, max_size=5)),
)


@given(frames, st.booleans())
def test_lapd_round_trip(f, network):
    assert L.decode(L.encode(f, network), network) == f


def test_lapd_known_octets():
    # user side SABME with P: SAPI 0 C/R 0 (a user command), TEI 0, 0x7F
    assert L.encode(L.Frame(L.Kind.SABME, True, True), False) == bytes.fromhex("00017f")
    # the network's UA response to it: C/R 0 (a network response), F set: 0x73
    assert L.encode(L.Frame(L.Kind.UA, False, True), True) == bytes.fromhex("000173")
    # network I frame N(S)=3 N(R)=5: C/R 1
    assert L.encode(L.Frame(L.Kind.I, True, False, 3, 5, b"\x08"), True) == bytes.fromhex("0201060a08")
    f = L.decode(bytes.fromhex("02010109"), True)       # RR command with P from the network
    assert (f.kind, f.command, f.pf, f.nr) == (L.Kind.RR, True, True, 4)


@given(st.binary(max_size=300), st.booleans())
def test_lapd_fuzz_only_protocol_errors(data, network):
    try:
        L.decode(data, network)
    except ProtocolError:
        pass


@given(frames, st.booleans(), st.data())
def test_lapd_mutated_only_protocol_errors(f, network, data):
    b = bytearray(L.encode(f, network))
    i = data.draw(st.integers(0, len(b) - 1))
    b[i] ^= data.draw(st.integers(1, 255))
    try:
        L.decode(bytes(b), network)
    except ProtocolError:
        pass


def test_lapd_invalid_frames_named():
    for octets, why in ((b"\x00", "shorter"), (b"\x01\x01\x7f", "EA"), (b"\x00\x01\x7f\x00", "information"),
                        (b"\x00\x01\x0d\x00", "supervisory"), (b"\x00\x01\x73", "C/R")):
        try:
            L.decode(octets, False)
        except L.LapdError as e:
            assert why in str(e), (octets, e)
        else:
            raise AssertionError(octets)
    assert len(L.frmr_info(b"\x00\x02", 1, 2, True, w=True)) == 5


# ---- Q.931 --------------------------------------------------------------------------------
digits = st.text("0123456789", max_size=20)
elements = st.one_of(
    st.builds(IE.BearerCapability, st.sampled_from([0, 8, 0x10]), st.just(0), st.just(0x10), st.sampled_from([2, 3, None])),
    st.builds(IE.Cause, st.integers(1, 127), st.integers(0, 10), st.just(0), st.binary(max_size=4)),
    st.builds(IE.CallState, st.sampled_from([0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 19, 25])),
    st.builds(IE.ChannelId, st.lists(st.sampled_from(IE_TS := [*range(1, 16), *range(17, 32)]), min_size=1,
                                     max_size=3).map(tuple), st.booleans()),
    st.builds(IE.Progress, st.sampled_from([1, 2, 3, 4, 8]), st.integers(0, 10)),
    st.builds(IE.Notification, st.integers(0, 127)),
    st.builds(IE.Display, st.text("abcdefghij XYZ0123", max_size=30)),
    st.builds(IE.CalledNumber, digits, st.integers(0, 6), st.sampled_from([0, 1, 9])),
    st.builds(IE.CallingNumber, digits, st.integers(0, 6), st.sampled_from([0, 1, 9]),
              st.sampled_from([0, 1, 2]), st.integers(0, 3)),
    st.builds(IE.CallingNumber, digits, st.integers(0, 6), st.sampled_from([0, 1, 9])),
    st.builds(IE.RestartIndicator, st.sampled_from([0, 6, 7])),
    st.builds(IE.Hlc, st.sampled_from([1, 4, 0x21])),
    st.builds(IE.Keypad, st.text("0123456789*#", min_size=1, max_size=10)),
)


@st.composite
def messages(draw):
    ies = draw(st.lists(elements, max_size=6, unique_by=lambda e: e.id))
    if draw(st.booleans()):
        ies.append(IE.SendingComplete())
    return M.Message(draw(st.sampled_from(list(M.MT))), draw(st.integers(0, 0x7FFF)), draw(st.booleans()), ies)


@pytest.mark.system
@given(messages())
def test_q931_round_trip(m):
    d = M.decode(M.encode(m))
    assert (d.mtype, d.cref, d.flag) == (m.mtype, m.cref, m.flag)
    assert sorted(map(repr, d.ies)) == sorted(map(repr, m.ies))
    assert not d.invalid and not d.unrecognized


def test_q931_known_octets_and_e1_numbering():
    m = M.Message(M.MT.SETUP, 5, False, [IE.BearerCapability(), IE.ChannelId((17,)), IE.SendingComplete(),
                                         IE.CalledNumber("1234", 2, 1), IE.CallingNumber("5678", 4, 1, 0, 3)])
    assert M.encode(m).hex() == "0802000505a104038090a31803a983916c064183353637387005a131323334"
    assert [IE.timeslot_of_bchannel(b) for b in (1, 15, 16, 30)] == [1, 15, 17, 31]
    assert [IE.bchannel_of_timeslot(t) for t in (1, 15, 17, 31)] == [1, 15, 16, 30]
    for bad in (0, 16, 32):
        try:
            IE.bchannel_of_timeslot(bad)
        except ValueError:
            pass
        else:
            raise AssertionError(bad)


def test_q931_bad_elements_are_recorded_not_raised():
    # channel 16 (the D channel) in a channel identification; an unknown element 0x5f;
    # a cause with a truncated octet 4; a called number with a non-digit
    body = bytes.fromhex("0802000105" "04038090a3" "1803a98390" "5f0100" "0801" "81" "7003a1" "31") + b"x"
    m = M.decode(body)
    assert m.mtype == M.MT.SETUP
    ids = [i for i, _ in m.invalid]
    assert IE.Id.CHANNEL_ID in ids and IE.Id.CAUSE in ids and IE.Id.CALLED_NUMBER in ids
    assert m.unrecognized == [0x5F]
    assert M.missing(m, from_network=True) == []               # invalid is not "missing"
    assert M.mandatory_invalid(m, from_network=True) == [IE.Id.CHANNEL_ID]
    assert M.missing(M.decode(bytes.fromhex("08020001450801")[:6]), False) == []


def test_q931_header_errors_ignored_per_5_8():
    for octets, why in ((b"\x08", "short"), (b"\x09\x02\x00\x01\x05", "discriminator"),
                        (b"\x08\x03\x00\x00\x01\x05", "call reference"), (b"\x08\x02\x00\x01\x85", "bit 8")):
        try:
            M.decode(octets)
        except M.MessageError as e:
            assert why in str(e), (octets, e)
        else:
            raise AssertionError(octets)


@pytest.mark.system
@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_q931_fuzz_only_protocol_errors(data):
    try:
        M.decode(b"\x08\x02" + data)
        M.decode(data)
    except ProtocolError:
        pass


@pytest.mark.system
@settings(max_examples=300)
@given(messages(), st.data())
def test_q931_mutated_only_protocol_errors(m, data):
    b = bytearray(M.encode(m))
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(b) - 1))
        b[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(b)))
    try:
        d = M.decode(bytes(b[:cut]))
        M.missing(d, True)
        for e in d.ies:
            e.encode()
    except ProtocolError:
        pass


# ---- every element decodes, and only with IeError --------------------------------------------
ELEMENTS = [*IE.IE_TYPES.values(), IE.SendingComplete, IE.Raw]


def test_every_element_type_encodes_and_decodes() -> None:
    import inspect
    for kind in ELEMENTS:
        assert not inspect.isabstract(kind), kind
        sample = {IE.ChannelId: IE.ChannelId((1,)), IE.Keypad: IE.Keypad("1#")}.get(kind) or kind()
        assert kind.decode(sample.encode()) == sample, kind
    try:
        IE.Ie()  # type: ignore[abstract]
    except TypeError as e:
        assert "abstract" in str(e)
    else:
        raise AssertionError("the element base is abstract")
    try:
        IE.SendingComplete.decode(b"\x01")
    except IE.IeError as e:
        assert "sending complete" in str(e)
    else:
        raise AssertionError("contents in a single-octet element")


@settings(max_examples=400)
@given(st.sampled_from(ELEMENTS), st.binary(max_size=40))
def test_element_fuzz_only_ie_errors_and_stable_reencoding(kind, data) -> None:
    """Random contents: an element or an IeError naming the element; what decodes re-encodes
    to contents that decode to the same element."""
    try:
        e = kind.decode(data)
    except IE.IeError as err:
        assert str(err)
        return
    again = kind.decode(e.encode())
    assert again == e or isinstance(e, IE.Display), (kind, data, e, again)


def test_decoded_messages_independent() -> None:
    m = M.Message(M.MT.DISCONNECT, 7, True, [IE.Cause(16, 2), IE.Progress(8, 2)])
    a = M.decode(M.encode(m))
    b = M.decode(M.encode(M.Message(M.MT.DISCONNECT, 9, False, m.ies)))
    assert (a.cref, a.flag, b.cref, b.flag) == (7, True, 9, False) and a.ies == b.ies == m.ies
    a.ies.append(IE.Display("x"))
    a.invalid.append((0x28, "spoilt"))
    assert a.get(IE.Display) == IE.Display("x") and not a.clean      # the lists, once built, are the message
    c = M.decode(M.encode(m))
    assert c.ies == m.ies and not c.invalid and c.clean


# ---- the one-pass decoder against the reference -----------------------------------------------
def _facts(m: M.Message) -> tuple[object, ...]:
    """What the call states read from a message, through the accessors."""
    return (m.cause_value(-7), m.progress(), m.call_state(), m.channel(), m.has(IE.Id.CHANNEL_ID),
            m.has(IE.Id.CAUSE), m.sending_complete, m.problem(True), m.problem(False),
            m.get(IE.CalledNumber), m.get(IE.CallingNumber), m.get(IE.Cause), m.get(IE.ChannelId),
            m.get(IE.Display), m.get(IE.SendingComplete), m.get(IE.ConnectedNumber), m.called_digits())


@st.composite
def bodies(draw):
    """Message octets after the header: well-formed elements, mutated ones, or garbage."""
    m = draw(messages())
    b = bytearray(M.encode(m)[5:])
    for _ in range(draw(st.integers(0, 2))):
        if b:
            b[draw(st.integers(0, len(b) - 1))] = draw(st.integers(0, 255))
    return m.mtype, bytes(b[:draw(st.integers(0, len(b)))]) if draw(st.booleans()) else bytes(b)


@pytest.mark.system
@settings(max_examples=400)
@given(st.one_of(bodies(), st.tuples(st.sampled_from(list(M.MT)), st.binary(max_size=40))))
def test_one_pass_decoder_agrees_with_the_reference(case):
    """decode() checks the elements' coding on the octets without building them: its verdict
    (clean or not), the accessors read from the octets and the lists built later are the
    reference decoder's (message_py._elements, which builds every element) on every input."""
    from cti.signaling.pri import message_py as P
    mtype, body = case
    data = bytes((0x08, 2, 0x80, 0x01, mtype)) + body
    d = M.decode(data)
    lazy = d.clean
    facts = _facts(d)                        # read before the lists exist (from the octets)
    r = P._elements(P.Message(mtype, 1, True, [], [], []), data, 5)
    assert (d.ies, d.unrecognized, d.invalid) == (r.ies, r.unrecognized, r.invalid)
    assert lazy == (not r.unrecognized and not r.invalid)
    assert facts == _facts(r)


def test_accessors_read_the_octets():
    m = M.decode(M.encode(M.Message(M.MT.DISCONNECT, 3, True, [IE.Cause(17, 2), IE.Progress(8, 2)])))
    assert (m.cause_value(), m.progress(), m.call_state(), m.channel(), m.problem(True)) == (17, 8, -1, 0, None)
    m = M.decode(M.encode(M.Message(M.MT.SETUP, 3, False, [IE.SPEECH, IE.channel(17), IE.SENDING_COMPLETE])))
    assert (m.channel(), m.sending_complete, m.cause_value(), m.problem(True)) == (17, True, 16, None)
    assert M.decode(M.encode(M.Message(M.MT.SETUP, 3, False, [IE.SPEECH]))).problem(True) == (96, False)
    assert M.decode(M.encode(M.Message(M.MT.STATUS, 3, False, [IE.Cause(30), IE.CallState(10)]))).call_state() == 10
    assert M.encode_header(M.MT.CONNECT_ACKNOWLEDGE, 0x1234, True) == bytes.fromhex("080292340f")
    with pytest.raises(ValueError):
        M.encode_parts(M.MT.CONNECT, 1 << 40, False, [])


@settings(max_examples=200)
@given(st.sampled_from([IE.CalledNumber, IE.CallingNumber, IE.ConnectedNumber]), st.text(IE.DIGITS, max_size=20),
       st.integers(0, 7), st.integers(0, 15), st.one_of(st.none(), st.integers(0, 3)), st.integers(0, 3))
def test_numbers_encoded_and_read_as_the_elements_do(kind, digits, ton, plan, pres, scr):
    """The codec writes a party number's contents and reads them back without the element's
    own encode() / decode(); both agree with them."""
    if kind is IE.CalledNumber:
        pres = None
    if pres is None:
        scr = 0                                   # no octet 3a: no screening indicator either
    n = kind(digits, ton, plan, pres, scr)
    body = M.encode_parts(M.MT.SETUP, 1, False, [n])[5:]
    assert body == bytes((n.id, len(n.encode()))) + n.encode()
    got = M.decode(bytes.fromhex("0802000105") + body).get(kind)
    assert got == kind.decode(n.encode()) and type(got) is kind and repr(got) == repr(n)


@settings(max_examples=200)
@given(st.sampled_from([IE.CalledNumber, IE.CallingNumber, IE.ConnectedNumber]), st.text(IE.DIGITS, max_size=20),
       st.integers(0, 7), st.integers(0, 15), st.one_of(st.none(), st.integers(0, 3)), st.integers(0, 3))
def test_number_wire_is_the_elements_octets(kind, digits, ton, plan, pres, scr):
    """A number written straight from its digits (number_wire, the per-call path: no element
    object) gives the octets the element gives, alone and among other elements."""
    if kind is IE.CalledNumber:
        pres = None
    if pres is None:
        scr = 0
    n = kind(digits, ton, plan, pres, scr)
    w = M.number_wire(kind.id, digits, ton, plan, -1 if pres is None else pres, scr)
    assert w[1] == bytes((n.id, len(n.encode()))) + n.encode()
    others = [IE.SENDING_COMPLETE, IE.channel(1), IE.SPEECH]
    assert M.encode_parts(M.MT.SETUP, 7, True, [w, *others]) == M.encode_parts(M.MT.SETUP, 7, True, [n, *others])
    with pytest.raises(ValueError):
        M.number_wire(IE.Id.DISPLAY, digits, ton, plan)
    with pytest.raises(ValueError):
        M.number_wire(kind.id, "1" * 260, ton, plan)


@given(st.lists(elements, max_size=8), st.integers(0, 0x7FFF), st.booleans())
def test_encode_parts_orders_as_a_stable_sort(ies, cref, flag):
    """encode_parts orders the elements (single octet first, then by codeset and identifier;
    repeated ones keep their order, Q.931 4.5.1) as a stable sort by that key does."""
    if len(ies) % 2:
        ies = [*ies, IE.SENDING_COMPLETE]
    key = [(0 if e.id & 0x80 else 1, e.id) for e in ies]
    ref = [e for _, e in sorted(zip(key, ies, strict=True), key=lambda p: p[0])]
    want = bytes.fromhex("0802") + bytes(((cref >> 8) | (0x80 if flag else 0), cref & 0xFF, 0x05)) + b"".join(
        bytes((e.id,)) if e.id & 0x80 else bytes((e.id, len(e.encode()))) + e.encode() for e in ref)
    assert M.encode_parts(M.MT.SETUP, cref, flag, ies) == want
    assert M.encode_parts(M.MT.SETUP, cref, flag, list(reversed(ies)))[5:] == b"".join(
        bytes((e.id,)) if e.id & 0x80 else bytes((e.id, len(e.encode()))) + e.encode()
        for _, e in sorted(zip(key[::-1], ies[::-1], strict=True), key=lambda p: p[0]))
