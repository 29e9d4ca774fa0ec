"""Calling rules: do-not-call list, calling hours by region of the number, retries per outcome,
caller-ID; bad input never dials."""
from __future__ import annotations

import datetime as dt
import os
import zoneinfo

import pytest
from hypothesis import given, strategies as st

from cti.contact.outbound import Dialler
from cti.outbound import Campaign, CampaignError, Outcome
from cti.outbound.numbers import DialPlan
from cti.outbound.rules import CallingHours, DncList, Rules, RulesError, to_e164

PLAN = DialPlan()
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def at(hh: int, mm: int = 0, tz: zoneinfo.ZoneInfo = SHANGHAI) -> float:
    return dt.datetime(2026, 3, 2, hh, mm, tzinfo=tz).timestamp()


def csv_file(tmp_path, numbers):
    p = tmp_path / "list.csv"
    p.write_text("number\n" + "".join(f"{n}\n" for n in numbers))
    return p


@pytest.mark.parametrize("written,e164", [("+86 139 1234 5678", "8613912345678"), ("13912345678", "8613912345678"),
                                          ("010-1234 5678", "861012345678"), ("0044 20 7946 0000", "442079460000"),
                                          ("+44 20 7946 0000", "442079460000")])
def test_e164_forms(written, e164):
    assert to_e164(written, PLAN) == e164


def test_dnc_file_matches_every_written_form(tmp_path):
    f = tmp_path / "dnc.txt"
    f.write_text("# opted out\n+86 139 1234 5678\n010 8765 4321, complained 2026-01-02\n\n")
    d = DncList.load(f, PLAN)
    assert len(d) == 2
    assert d.blocked("13912345678") and d.blocked("+8613912345678") and d.blocked("+86 10 8765 4321")
    assert not d.blocked("13912345679")


def test_dnc_blocked_numbers_are_never_dialled(tmp_path):
    f = tmp_path / "dnc.txt"
    f.write_text("13900000001\n")
    c = Campaign.from_csv("c", csv_file(tmp_path, ["13900000001", "13900000002"]), "q",
                          rules=Rules(PLAN, DncList.load(f, PLAN)))
    dials = c.service(0.0, ready_agents=5)
    assert [d.number for d in dials] == ["13900000002"]
    blocked = c.take_blocked()
    assert [b.number for b in blocked] == ["13900000001"] and blocked[0].result is Outcome.DNC_BLOCKED
    assert c.contacts[0].attempts == 0 and c.summary()["dnc-blocked"] == 1


def test_dnc_checked_before_every_dial_even_retries(tmp_path):
    """A number added to the file while the campaign runs is not retried."""
    f = tmp_path / "dnc.txt"
    f.write_text("")
    c = Campaign.from_csv("c", csv_file(tmp_path, ["13900000001"]), "q", retry_after=60.0,
                          rules=Rules(PLAN, DncList.load(f, PLAN)))
    d = c.service(0.0, 1)[0]
    c.progress(d.attempt, "busy", 5.0)
    f.write_text("+86 139 0000 0001\n")
    os.utime(f, ns=(1, 10**18))                        # a new stamp even within the same second
    assert c.service(100.0, 1) == [] and c.contacts[0].result is Outcome.DNC_BLOCKED


def test_unreadable_dnc_file_refuses_to_start(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(RulesError, match=r"nope\.txt"):
        DncList.load(missing, PLAN)
    bad = tmp_path / "dnc.txt"
    bad.write_bytes(b"139\xff\xfe\n")
    with pytest.raises(RulesError, match=r"dnc\.txt"):
        DncList.load(bad, PLAN)
    bad.write_text("13900000001\nnot-a-number\n")
    with pytest.raises(RulesError, match=r"dnc\.txt:2: bad number"):
        DncList.load(bad, PLAN)
    d = Dialler({"c": {"csv": str(csv_file(tmp_path, ["13900000001"])), "queue": "q", "dnc": str(missing)}}, {"q"})
    with pytest.raises(CampaignError, match=r"not started.*nope\.txt"):
        d.start("c")
    assert "c" not in d.running
    calls: list = []
    d.tick(0.0, lambda q: 5, lambda *a: calls.append(a))
    assert calls == []


def test_dnc_file_lost_while_running_halts_dialling(tmp_path):
    f = tmp_path / "dnc.txt"
    f.write_text("13900000009\n")
    c = Campaign.from_csv("c", csv_file(tmp_path, [f"1390000000{i}" for i in range(5)]), "q",
                          rules=Rules(PLAN, DncList.load(f, PLAN)))
    assert len(c.service(0.0, 1)) == 1
    f.unlink()
    assert c.service(1.0, 5) == [] and "dnc.txt" in c.halted
    f.write_text("")
    assert len(c.service(2.0, 5)) == 4 and c.halted == ""


def test_calling_hours_by_region_of_the_number(tmp_path):
    hours = CallingHours.from_config({"default": ["09:00", "21:00"], "0991": ["10:00", "22:00"],
                                      "+44": ["09:00", "20:00"]},
                                     {"0991": "Asia/Urumqi", "+44": "Europe/London"}, PLAN)
    beijing, urumqi, london = "86" + "1012345678", "86" + "99112345678", "442079460000"
    assert hours.next_open(beijing, at(9, 30)) == at(9, 30)
    assert hours.next_open(beijing, at(8, 0)) == at(9, 0)
    assert hours.next_open(beijing, at(21, 0)) == at(9, 0) + 86400          # closes at 21:00 sharp
    urumqi_tz = zoneinfo.ZoneInfo("Asia/Urumqi")                              # UTC+6: 2 h behind Beijing
    assert hours.next_open(urumqi, at(11, 0)) == at(10, 0, urumqi_tz)       # 09:00 there
    assert hours.next_open(urumqi, at(23, 0)) == at(23, 0)                  # 21:00 there: still open
    london_tz = zoneinfo.ZoneInfo("Europe/London")
    assert hours.next_open(london, at(12, 0)) == at(9, 0, london_tz)        # 04:00 in London
    assert hours.next_open("8613912345678", at(20, 0)) == at(20, 0)         # mobile: the default (Beijing)


def test_campaign_waits_for_calling_hours(tmp_path):
    rules = Rules.from_spec({"hours": {"default": ["09:00", "21:00"]}}, PLAN)
    c = Campaign.from_csv("c", csv_file(tmp_path, ["13900000001", "01012345678"]), "q", rules=rules)
    assert c.service(at(7, 0), 5) == []
    assert c.next_deadline() == at(9, 0)
    assert len(c.service(at(9, 0), 5)) == 2


@pytest.mark.parametrize("hours,zones,msg", [
    ({"default": ["9:00", "21:00"]}, None, "HH:MM"), ({"default": ["21:00", "09:00"]}, None, "open before"),
    ({"default": "09:00-21:00"}, None, "HH:MM"), ({"abc": ["09:00", "21:00"]}, None, "region"),
    (None, {"0991": "Mars/Olympus"}, "unknown time zone")])
def test_bad_hours_are_clear_errors(hours, zones, msg):
    with pytest.raises(RulesError, match=msg):
        CallingHours.from_config(hours, zones, PLAN)


def test_retry_spacing_and_attempts_per_outcome(tmp_path):
    c = Campaign.from_csv("c", csv_file(tmp_path, ["100"]), "q", max_attempts={"busy": 4, "no-answer": 2},
                          retry_after={"busy": 60, "no-answer": 3600})
    assert c.retry_rule(Outcome.BUSY) == (4, 60.0) and c.retry_rule(Outcome.NO_ANSWER) == (2, 3600.0)
    assert c.retry_rule(Outcome.CONGESTION) == (3, 300.0) and c.retry_rule(Outcome.UNALLOCATED) is None
    t = 0.0
    for _ in range(3):
        d = c.service(t, 1)[0]
        c.progress(d.attempt, "busy", t)
        assert c.service(t + 59, 1) == []
        t += 60
    d = c.service(t, 1)[0]
    c.progress(d.attempt, "busy", t)
    assert c.finished and c.contacts[0].attempts == 4


def test_machine_retried_only_when_the_table_says(tmp_path):
    c = Campaign.from_csv("c", csv_file(tmp_path, ["100"]), "q")
    c.progress(c.service(0, 1)[0].attempt, "machine", 1)
    assert c.finished
    c = Campaign.from_csv("c", csv_file(tmp_path, ["100"]), "q", retry_after={"machine": 7200})
    c.progress(c.service(0, 1)[0].attempt, "machine", 1)
    assert not c.finished and c.contacts[0].next_try == 7201


@pytest.mark.parametrize("kw,msg", [({"max_attempts": {"busy": 0}}, "positive"), ({"retry_after": {"bsy": 5}}, "unknown outcome"),
                                    ({"retry_after": {"answered": 5}}, "never retried"), ({"max_attempts": 2.5}, "whole"),
                                    ({"ratio": 9}, "ratio"), ({"caller_id": "40080-1"}, "caller_id")])
def test_bad_knobs(tmp_path, kw, msg):
    with pytest.raises(CampaignError, match=msg):
        Campaign.from_csv("c", csv_file(tmp_path, ["100"]), "q", **kw)


def test_caller_id_is_presented_and_rights_checked(tmp_path):
    spec = {"csv": str(csv_file(tmp_path, ["13900000001"])), "queue": "q", "caller_id": "4008001234"}
    d = Dialler({"c": spec}, {"q"})
    with pytest.raises(PermissionError, match="4008001234"):
        d.start("c", may_set_calling=False)
    with pytest.raises(CampaignError, match="no agents"):
        d.start("c", staffed=0)
    d.start("c", staffed=3)
    calls: list = []
    d.tick(0.0, lambda q: 1, lambda *a: calls.append(a) or {"call": "x1"})
    assert calls == [("dialler", "13900000001", None, "4008001234")]


def test_dialler_reports_dnc_blocked(tmp_path):
    spec = {"csv": str(csv_file(tmp_path, ["13900000001", "13900000002"])), "queue": "q", "dnc": ["+8613900000001"]}
    d = Dialler({"c": spec}, {"q"})
    d.start("c")
    calls: list = []
    reports, _ = d.tick(0.0, lambda q: 2, lambda *a: calls.append(a) or {"call": f"x{len(calls)}"})
    assert [(r.number, r.outcome.value, r.source) for r in reports] == [("13900000001", "dnc-blocked", "rules")]
    assert [a[1] for a in calls] == ["13900000002"]
    assert d.summary("c")["dnc-blocked"] == 1


@given(st.text(max_size=40))
def test_any_dnc_line_is_read_or_refused_never_raises_else(line):
    try:
        d = DncList.load([line], PLAN)
    except RulesError:
        return
    assert len(d) == 1
