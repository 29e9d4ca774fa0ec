"""The IVR digit collector on the one engine: guarded rows for terminator / last digit /
barge-in, first- and inter-digit timeouts as entry timers whose expiry is a row."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.ivr.collect import TABLE, CollectEvent, CollectSpec, CollectState, DigitCollector

C = CollectState


def test_collector_table_is_whole_on_the_one_engine():
    assert TABLE.validate() == []
    assert TABLE.reachable() == set(CollectState)


def test_timeouts_are_entry_timers_and_a_digit_restarts_the_inter_digit_one():
    c = DigitCollector(CollectSpec(max_digits=4, first_timeout=5.0, inter_digit_timeout=2.0))
    c.start(10.0, prompt=True)
    assert c.state is C.PROMPTING and c.deadline is None          # no timeout while the prompt plays
    c.prompt_done(11.0)
    assert c.state is C.WAIT_FIRST and c.deadline == 16.0
    c.digit("1", 12.0)
    assert c.state is C.COLLECTING and c.deadline == 14.0
    c.digit("2", 13.5)
    assert c.deadline == 15.5
    c.service(15.4)
    assert c.state is C.COLLECTING
    c.service(15.5)
    assert c.state is C.DONE and c.result is not None and (c.result.digits, c.result.reason) == ("12", "timeout")
    assert c.deadline is None
    c.digit("3", 16.0)                                               # late digits are ignored
    assert c.result.digits == "12"


def test_barge_in_terminator_and_max():
    c = DigitCollector(CollectSpec(max_digits=3, terminator="#"))
    c.start(0.0, prompt=True)
    c.digit("7", 0.5)
    assert c.stop_prompt and c.state is C.COLLECTING
    c.digit("#", 1.0)
    assert (c.result.digits, c.result.reason) == ("7", "terminator")
    c = DigitCollector(CollectSpec(max_digits=1))
    c.start(0.0, prompt=True)
    c.digit("5", 0.1)
    assert (c.result.digits, c.result.reason) == ("5", "max") and c.stop_prompt
    c = DigitCollector(CollectSpec(max_digits=2, barge_in=False))
    c.start(0.0, prompt=True)
    c.digit("5", 0.1)                                                # ignored during the prompt
    assert c.state is C.PROMPTING and c.digits == ""


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["digit", "prompt_done", "service"]),
                          st.sampled_from(list("0123456789*#")), st.floats(0, 4)), max_size=30),
       st.integers(1, 6), st.booleans(), st.booleans())
def test_any_input_ends_in_one_result_or_keeps_waiting(steps, max_digits, barge, prompt):
    spec = CollectSpec(max_digits=max_digits, first_timeout=3.0, inter_digit_timeout=2.0, barge_in=barge)
    c = DigitCollector(spec)
    now = 0.0
    c.start(now, prompt=prompt)
    for kind, d, dt in steps:
        now += dt
        if kind == "digit":
            c.digit(d, now)
        elif kind == "prompt_done":
            c.prompt_done(now)
        else:
            c.service(now)
        assert (c.state is C.DONE) == (c.result is not None)
        assert len(c.digits) <= max_digits and "#" not in c.digits
        assert c.state is not C.DONE or c.deadline is None


def test_bad_digit_and_spec_are_refused():
    with pytest.raises(ValueError):
        DigitCollector(CollectSpec()).digit("x", 0.0)
    with pytest.raises(ValueError):
        CollectSpec(max_digits=0)
    with pytest.raises(ValueError):
        CollectSpec(first_timeout=0.0)
    assert CollectEvent.TIMEOUT in {r.event for r in TABLE.rows}
