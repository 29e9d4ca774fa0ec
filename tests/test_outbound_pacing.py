"""Pacing modes: preview, progressive, predictive to an abandon-rate target; abandonment."""
from __future__ import annotations

import pytest

from bench.bench_outbound import simulate
from cti.outbound import Campaign, CampaignError
from cti.outbound.campaign import Contact, Outcome
from cti.outbound.pacing import Pacer, PacingError


def campaign(n=10, **kw):
    return Campaign("c", "q", [Contact(f"1390000{i:04d}", {"i": str(i)}) for i in range(n)], **kw)


@pytest.mark.parametrize("kw,msg", [({"target": 0.5}, "target"), ({"target": 0.0}, "target"), ({"mode": "turbo"}, "mode"),
                                    ({"abandon_after": 0.1}, "abandon_after"), ({"ratio": 0}, "ratio")])
def test_settings_out_of_range(kw, msg):
    with pytest.raises(PacingError, match=msg):
        Pacer(**kw)


def test_modes_switch_while_running_and_keep_history():
    c = campaign()
    assert c.mode == "progressive" and len(c.service(0.0, 2)) == 2
    c.set_mode("preview")
    assert c.service(1.0, 5) == []                     # preview: the pacer dials nobody
    c.set_mode("predictive")
    assert c.pacer is not None and len(c.pacer.attempts) == 0
    with pytest.raises(CampaignError, match="mode"):
        c.set_mode("fast")
    assert len(c.service(2.0, 3, 0)) == 1              # no history yet: progressive (3 ready, 2 dialling)
    c.pacer.warmup = 0
    got = c.service(2.0, 3, 0)
    assert len(got) == 1 and len(c.dialling) == 4     # ahead of the 3 ready agents: 0.5 x 3 / (1/3) = 4.5


def test_predictive_estimates_from_history():
    p = Pacer("predictive")
    for i in range(100):
        p.attempt_done(i % 2 == 0, 10.0)
    for _ in range(50):
        p.handled(60.0)
    pa, tau, h = p.estimates()
    assert 0.45 < pa < 0.55 and 10.0 <= tau < 10.2 and 60.0 < h < 61.5
    assert p.how_many(ready=0, busy=0, dialling=0, waiting=0) == 0
    # 4 ready + 6 busy each free within tau with 1/6: 5 agents; gain 0.5 / p 0.5 -> 5 calls
    assert p.how_many(ready=4, busy=6, dialling=0, waiting=0) == 5
    assert p.how_many(ready=4, busy=6, dialling=5, waiting=0) == 0


def test_gain_balances_at_the_target():
    p = Pacer("predictive", target=0.05)
    g0 = p.gain
    for i in range(2000):                              # exactly 5 % abandoned: the gain does not drift
        p.callee_served(abandoned=i % 20 == 19)
    assert abs(p.gain - g0) < 0.06 and abs(p.abandon_rate - 0.05) < 1e-9


def test_gain_is_not_raised_while_the_campaign_is_over_its_target():
    p = Pacer("predictive", target=0.05)
    p.callee_served(abandoned=True)                    # 1 of 1 abandoned: far over 5 %
    g = p.gain
    for _ in range(18):                                # 1 of 19: still over the target
        p.callee_served(abandoned=False)
    assert p.gain == g and p.abandon_rate > 0.05
    p.callee_served(abandoned=False)                   # 1 of 20 = 5 %: at the target, raising again
    p.callee_served(abandoned=False)
    assert p.gain > g


def test_answered_callee_waiting_too_long_is_abandoned():
    c = campaign(3, pacer=Pacer("predictive"))
    d = c.service(0.0, 1)[0]
    assert c.progress(d.attempt, "answered", 5.0)
    assert c.abandons(6.9) == []
    ab = c.abandons(7.1)
    assert [a.attempt for a in ab] == [d.attempt] and d.attempt not in c.waiting_agent
    assert c.summary()["abandoned"] == 1 and c.pacer.abandon_rate == 1.0
    c.agent_connected(d.attempt, 8.0)                  # too late: not counted as served
    assert c.pacer.answered == 1


def test_progressive_never_abandons_unless_asked():
    c = campaign(3)
    d = c.service(0.0, 1)[0]
    c.progress(d.attempt, "answered", 5.0)
    assert c.abandons(100.0) == []
    c = campaign(3, abandon_after=3.0)
    d = c.service(0.0, 1)[0]
    c.progress(d.attempt, "answered", 5.0)
    assert len(c.abandons(8.5)) == 1


def test_preview_dial_and_skip():
    c = campaign(3)
    c.set_mode("preview")
    p = c.preview(0.0, "a1")
    assert p is not None and p.number == "13900000000" and p.data == {"i": "0"}
    q = c.preview(0.0, "a2")
    assert q is not None and q.number == "13900000001"   # a reserved record is not shown twice
    d = c.preview_dial(p.attempt, 3.0)
    assert d.number == p.number and c.contacts[0].attempts == 1 and p.attempt in c.dialling
    c.preview_skip(q.attempt, 3.0, later=600.0)
    assert c.contacts[1].next_try == 603.0 and c.contacts[1].attempts == 0
    with pytest.raises(CampaignError, match="no previewed"):
        c.preview_dial(q.attempt, 4.0)
    c.progress(d.attempt, Outcome.ANSWERED, 9.0)
    assert c.contacts[0].result is Outcome.ANSWERED


def test_preview_calls_reach_their_agents_in_the_load_simulation():
    r = simulate("preview", agents=4, numbers=300, hours=0.5, seed=2)
    assert r["connected"] > 10 and r["abandon"] == 0.0 and r["occupancy"] > 0.1, r


@pytest.mark.system
def test_predictive_holds_the_target_and_beats_progressive():
    pro = simulate("progressive", agents=10, numbers=2500, hours=1.5, seed=3)
    pre = simulate("predictive", agents=10, numbers=2500, hours=1.5, seed=3)
    assert pro["abandon"] == 0.0
    assert pre["abandon"] <= 0.03, pre                      # at or below the target, never above
    assert pre["occupancy"] > pro["occupancy"] + 0.08 and pre["per_agent_hour"] > pro["per_agent_hour"]
