"""Progressive campaign pacing, retries and outcomes; call-progress classification."""
from __future__ import annotations

import random

import pytest
from hypothesis import given, strategies as st

from cti.outbound import Campaign, CampaignError, Outcome, ProgressClassifier
from cti.outbound.numbers import DialPlan


def csv_file(tmp_path, rows):
    p = tmp_path / "list.csv"
    p.write_text("number,name\n" + "".join(f"{n},{name}\n" for n, name in rows))
    return p


def test_csv_load_and_data(tmp_path):
    c = Campaign.from_csv("c", csv_file(tmp_path, [("010 1234-5678", "Li Lei"), ("+8613800000000", "Han")]), "sales")
    assert [x.number for x in c.contacts] == ["01012345678", "+8613800000000"]
    assert c.contacts[0].data == {"name": "Li Lei"}


@pytest.mark.parametrize("text,msg", [("name\nx\n", "'number' column"), ("number\n12a\n", ":2: bad number"), ("", "header")])
def test_csv_errors_name_the_line(tmp_path, text, msg):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(CampaignError, match=msg):
        Campaign.from_csv("c", p, "q")


def test_progressive_pacing_never_exceeds_ready_agents(tmp_path):
    c = Campaign.from_csv("c", csv_file(tmp_path, [(f"1000{i}", "") for i in range(10)]), "sales")
    dials = c.service(0.0, ready_agents=3)
    assert len(dials) == 3
    assert c.service(0.0, ready_agents=3) == []        # three in flight already
    conn = c.progress(dials[0].attempt, "answered", 5.0)
    assert conn[0].queue == "sales" and conn[0].number == dials[0].number
    assert c.service(5.0, ready_agents=3) == []        # answered one still waits for an agent
    c.agent_connected(dials[0].attempt)
    assert len(c.service(6.0, ready_agents=3)) == 1


def test_retries_then_final(tmp_path):
    c = Campaign.from_csv("c", csv_file(tmp_path, [("100", "")]), "q", max_attempts=2, retry_after=60.0)
    d = c.service(0.0, 1)[0]
    c.progress(d.attempt, Outcome.BUSY, 10.0)
    assert c.service(20.0, 1) == []                    # not before retry_after
    d = c.service(70.0, 1)[0]
    c.progress(d.attempt, "no-answer", 100.0)
    assert c.finished and c.summary()["no-answer"] == 1
    with pytest.raises(CampaignError, match="unknown attempt"):
        c.progress(d.attempt, "busy", 101.0)


def test_unallocated_is_final_at_once(tmp_path):
    c = Campaign.from_csv("c", csv_file(tmp_path, [("100", "")]), "q")
    c.progress(c.service(0.0, 1)[0].attempt, "unallocated", 1.0)
    assert c.finished and c.contacts[0].attempts == 1


@given(st.integers(0, 2**32 - 1))
def test_random_run_every_contact_ends_and_pacing_holds(seed):
    rng = random.Random(seed)
    from cti.outbound.campaign import Contact
    c = Campaign("c", "q", [Contact(str(1000 + i), {}) for i in range(30)], max_attempts=3, retry_after=10.0)
    now, agents = 0.0, 4
    while not c.finished and now < 10_000:
        for d in c.service(now, agents):
            assert len(c.dialling) + len(c.waiting_agent) <= agents
            for conn in c.progress(d.attempt, rng.choice(list(Outcome)), now):
                c.agent_connected(conn.attempt)
        now += 5.0
    assert c.finished
    s = c.summary()
    assert s["pending"] == 0 and sum(s.values()) == 30


def test_classifier_busy_voice_no_answer():
    p = ProgressClassifier(started=0.0)
    assert p.tone("ringback", 1.0) is None
    assert p.tone("busy", 5.0) is Outcome.BUSY
    p = ProgressClassifier(started=0.0, voice_seconds=0.6)
    p.tone("ringback", 1.0)
    assert p.tone("voice", 8.0) is None
    assert p.service(8.7) is Outcome.ANSWERED
    p = ProgressClassifier(started=0.0, no_answer_timeout=30.0)
    p.tone("ringback", 1.0)
    assert p.service(29.0) is None and p.service(30.0) is Outcome.NO_ANSWER


def test_dial_plan_turns_written_numbers_into_digits(tmp_path):
    p = DialPlan()                                    # China: +86, 00, trunk prefix 0, mobiles 13x-19x
    assert p.dialable("+8613912345678") == "13912345678"
    assert p.dialable("+861012345678") == "01012345678"      # Beijing landline: trunk prefix 0
    assert p.dialable("+442071234567") == "00442071234567"   # abroad: international prefix
    assert p.dialable("01012345678") == "01012345678"        # national numbers as written
    uk = DialPlan.from_dict({"country_code": "44", "international_prefix": "00", "national_prefix": "0",
                             "mobile_prefixes": []})
    assert uk.dialable("+442071234567") == "02071234567" and uk.dialable("+8613912345678") == "008613912345678"
    for bad in ("+86", "+", "12a", "\u00b2", "1+2"):
        with pytest.raises(ValueError):
            p.dialable(bad)
    with pytest.raises(TypeError):
        p.dialable(139)                                # type: ignore[arg-type]
    for bad in ({"country_code": ""}, {"country_code": "8a"}, {"mobile_prefixes": "13"}, {"colour": 1},
                {"mobile_prefixes": [13]}, {"national_prefix": 0}):
        with pytest.raises(ValueError):
            DialPlan.from_dict(bad)
    c = Campaign.from_csv("c", csv_file(tmp_path, [("+86 139-1234-5678", "a"), ("(010) 1234.5678", "b")]), "q")
    assert [d.dialled for d in c.service(0.0, 5)] == ["13912345678", "01012345678"]
    assert [x.number for x in c.contacts] == ["+8613912345678", "01012345678"]
    for text in ("number\n+86\n", "number\n+1+2\n", "number\n\u00b2\n"):
        bad = tmp_path / "bad.csv"
        bad.write_text(text)
        with pytest.raises(CampaignError, match=":2: "):
            Campaign.from_csv("c", bad, "q")
