"""bench_outbound's full-simulator mode runs tiny: a predictive campaign through the whole server
and the simulated SS7 exchange reaches agents, AMD judges answered calls on the line's audio, and
the figures add up (no timing asserted)."""
from __future__ import annotations

import pytest

from bench.bench_outbound import full_simulator

pytestmark = pytest.mark.load


def test_full_simulator_campaign_connects_people_and_judges_greetings():
    r = full_simulator("predictive", agents=2, numbers=40, minutes=2.0, seed=3)
    assert r["dialled"] > 0 and r["connects"] > 0
    assert r["per_agent_hour"] == pytest.approx(r["connects"] / (2 * r["hours"]))
    assert r["amd_judged"] > 0 and 0 <= r["amd_right"] <= r["amd_judged"]
    assert 0.0 <= r["abandon"] <= 1.0 and r["abandoned"] <= r["answered"]
