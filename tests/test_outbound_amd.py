"""The dialler with answering-machine detection (drop / leave a message / pass to an agent),
abandonment in predictive mode, and the configuration errors of both."""
from __future__ import annotations

import pytest

from _boardcore.g711 import alaw_encode
from cti.contact.outbound import Dialler
from cti.outbound import CampaignError


@pytest.fixture(scope="module")
def voices():
    from bench.amd_corpus import CorpusUnavailable, corpus
    try:
        items = corpus(4, seed=5)
    except CorpusUnavailable as e:
        pytest.skip(str(e))
    return {it.label: it for it in items}


def dialler(tmp_path, **spec):
    csv = tmp_path / "n.csv"
    csv.write_text("number\n13900000001\n")
    d = Dialler({"c": {"csv": str(csv), "queue": "q", "answer_wait": 0.0, **spec}}, {"q"})
    d.start("c")
    return d


def answer_and_play(d, pcm):
    taps = {}
    dial = lambda *a: {"call": "x1", "span": 0, "ts": 1}                     # noqa: E731
    listen = lambda circ, fn: taps.__setitem__(circ, fn) or (lambda: None)  # noqa: E731
    d.tick(0.0, lambda q: 1, dial, listen)
    d.alerting("x1", 1.0)
    assert d.answered("x1", 2.0) is None                # the report waits for AMD
    reports, clears = [], []
    alaw = alaw_encode(pcm)
    for i in range(0, len(alaw) - 159, 160):
        t = 2.0 + i / 8000
        taps[(0, 1)](alaw[i:i + 160], t)
        r, cl = d.tick(t + 0.02, lambda q: 0, dial, listen)
        reports += r
        clears += cl
    return reports, clears


@pytest.mark.parametrize("action", ["drop", "message", "agent"])
def test_machine_actions(tmp_path, voices, action):
    d = dialler(tmp_path, amd=action, amd_message="leave-msg")
    reports, clears = answer_and_play(d, voices["machine"].pcm)
    assert len(reports) == 1
    r = reports[0]
    assert (r.outcome.value, r.amd) == ("machine", "machine") and 0.5 <= r.confidence <= 1.0
    assert bool(r.connects) == (action == "agent")
    assert clears == ([("x1", 16)] if action == "drop" else [])
    plays = d.take_plays()
    if action == "message":                              # after the beep: the message, then release
        assert plays == [("x1", (0, 1), "leave-msg")]
        assert r.time < voices["machine"].beep_end_ms / 1000 + 2.0
    else:
        assert plays == []
    assert d.summary("c")["machine"] == 1


def test_human_goes_to_an_agent(tmp_path, voices):
    d = dialler(tmp_path, amd="drop")
    reports, clears = answer_and_play(d, voices["human"].pcm)
    r = reports[0]
    assert (r.outcome.value, r.amd) == ("answered", "human") and r.connects and clears == []
    assert r.time < 2.0 + 4.0                           # decided within 4 s of the answer


def test_hangup_during_detection_reports_once(tmp_path):
    d = dialler(tmp_path, amd="agent")
    taps = {}
    d.tick(0.0, lambda q: 1, lambda *a: {"call": "x1", "span": 0, "ts": 1},
           lambda circ, fn: taps.__setitem__(circ, fn) or (lambda: None))
    assert d.answered("x1", 2.0) is None
    r = d.ended("x1", 16, 3.0)
    assert r is not None and r.amd == "unknown" and not r.connects
    assert d.ended("x1", 16, 3.1) is None and not d.running["c"][0].waiting_agent


def test_predictive_abandon_plays_the_message(tmp_path):
    d = dialler(tmp_path, mode="predictive", abandon_message="sorry", tones="")
    d.tick(0.0, lambda q: 1, lambda *a: {"call": "x1", "span": 0, "ts": 1})
    r = d.answered("x1", 2.0)
    assert r is not None and r.connects
    reports, _ = d.tick(3.0, lambda q: 0, lambda *a: None)
    assert reports == []
    reports, _ = d.tick(4.5, lambda q: 0, lambda *a: None)
    assert [(x.outcome.value, x.call) for x in reports] == [("abandoned", "x1")]
    assert d.take_plays() == [("x1", (0, 1), "sorry")]
    assert d.summary("c")["abandoned"] == 1


def test_mode_switch_on_the_dialler(tmp_path):
    d = dialler(tmp_path)
    with pytest.raises(CampaignError, match="abandon_message"):
        d.set_mode("c", "predictive")
    d.set_mode("c", "preview")
    assert d.running["c"][0].mode == "preview"
    with pytest.raises(CampaignError, match="not running"):
        d.set_mode("x", "preview")


@pytest.mark.parametrize("spec,msg", [({"mode": "predictive"}, "abandon_message"), ({"target": 0.9}, "target"),
                                      ({"amd": "message"}, "amd_message"), ({"amd": "hangup"}, "amd"),
                                      ({"amd": "drop", "amd_params": {"greeting": 1}}, "unknown parameter"),
                                      ({"mode": "fast"}, "mode")])
def test_bad_settings(tmp_path, spec, msg):
    with pytest.raises(CampaignError, match=msg):
        Dialler({"c": {"csv": "n.csv", "queue": "q", **spec}}, {"q"})


def test_campaign_progress_carries_the_verdict():
    from cti.contact.outbound import Report, publish_campaign
    from cti.outbound import Outcome
    got = []

    class Bus:
        def publish(self, e):
            got.append(e)
    publish_campaign(Bus(), Report("c", "139", Outcome.MACHINE, "x1", "tone", ["voice"], amd="machine",
                                   confidence=0.9), {"machine": 1})
    assert (got[0].outcome, got[0].amd, got[0].confidence) == ("machine", "machine", 0.9)


def test_predictive_counts_busy_agents(tmp_path):
    csv = tmp_path / "n.csv"
    csv.write_text("number\n" + "".join(f"1390000{i:04d}\n" for i in range(40)))
    d = Dialler({"c": {"csv": str(csv), "queue": "q", "mode": "predictive", "abandon_message": "sorry"}}, {"q"})
    c = d.start("c")
    assert c.pacer is not None
    c.pacer.warmup = 0
    calls = []
    dial = lambda *a: calls.append(a) or {"call": f"x{len(calls)}"}   # noqa: E731
    d.tick(0.0, lambda q: 0, dial)
    assert calls == []                                  # nobody ready, nobody busy: no dial
    d.tick(1.0, lambda q: 0, dial, busy=lambda q: 10)
    assert calls                                        # busy agents will be free: dial ahead


def test_amd_without_tone_detection(tmp_path, voices):
    d = dialler(tmp_path, amd="drop", tones="")
    reports, clears = answer_and_play(d, voices["machine"].pcm)
    assert [(r.outcome.value, r.amd) for r in reports] == [("machine", "machine")] and clears == [("x1", 16)]
    assert d.attempts["x1"].listener is None
