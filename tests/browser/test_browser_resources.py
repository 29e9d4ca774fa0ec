"""The wallboard's media resources panel, as a supervisor sees it: the example contact centre
with a ``[media]`` section (one voice channel, two fax channels) and no agents, so callers wait
in the queue; the page shows the pools from the snapshot, then follows the bus live: a waiting
caller sent to voicemail takes the voice channel (1 / 1), a second one is refused (refused 1),
and the channel comes back when the first message ends. In English and in Chinese."""
from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from cti.call.errors import CallControlError

from .conftest import Stack, chrome, contact_site, demo_scenario, running, screenshot
from .test_browser_desktop import text, until

pytestmark = pytest.mark.browser


def _config(tmp: str) -> str:
    scenario = demo_scenario().replace("abandon = 0.15", "abandon = 0.0")     # callers wait until served
    return contact_site(tmp, scenario, (
        f'\n[media]\ndirectory = "{os.path.join(tmp, "media")}"\npools = {{ fax = 2, voice = 1 }}\n'
        'stats_every = 2.0\n[media.voicemail]\nmax_seconds = 8\nsilence_seconds = 8\nmin_seconds = 0\n'))


@pytest.fixture(scope="module")
def mstack() -> Iterator[Stack]:
    yield from running("cti-browser-media-", _config)


def _tile(d: Any, name: str) -> dict[str, str]:
    """A tile's value, label and class, read in one script (the panel is redrawn every second)."""
    got = d.execute_script(
        "const t = document.querySelector(`[data-figure=${arguments[0]}]`);"
        "return t ? {v: t.querySelector('.v').textContent, k: t.querySelector('.k').textContent,"
        " cls: t.className} : null", name)
    return dict(got) if got else {"v": "", "k": "", "cls": ""}


def figure(d: Any, name: str) -> str:
    return _tile(d, name)["v"]


def label(d: Any, name: str) -> str:
    return _tile(d, name)["k"]


def waiting_calls(st: Stack, n: int) -> list[str]:
    """``n`` callers waiting in a queue (nobody is logged on and nobody gives up: they wait)."""
    def got() -> list[str]:
        snap = st.client.snapshot()
        return [c for q in snap.get("queues", []) for c in q.get("waiting", [])][:n]
    return list(until(lambda: len(got()) >= n and got(), timeout=90, what=f"{n} waiting callers"))


def test_wallboard_shows_the_media_pools_live(mstack: Stack) -> None:
    st = mstack
    w = chrome(1280, 900)
    try:
        w.get(st.url + "/wallboard?device=3001&lang=en")
        until(lambda: "online" in text(w, "conn"), what="wallboard connected")
        # from the snapshot: both pools, nothing in use, nothing refused
        until(lambda: figure(w, "voice_in_use") == "0 / 1" and figure(w, "fax_in_use") == "0 / 2", what="pools shown")
        assert figure(w, "voice_refused") == "0" and figure(w, "fax_refused") == "0"
        assert label(w, "voice_in_use") == "Voice channels · in use / size"
        assert not w.find_element(By.ID, "no-resources").is_displayed()
        # live: a waiting caller goes to voicemail and takes the only voice channel
        first, second = waiting_calls(st, 2)
        mark = len(st.events)
        st.client.command("LeaveVoicemail", call=first, box="sales")
        st.wait_event(lambda e: e["type"] == "ResourceUsage" and e["pools"]["voice"]["busy"] == 1, since=mark)
        until(lambda: figure(w, "voice_in_use") == "1 / 1", timeout=10, what="voice 1 / 1 on the page")
        assert "alert" in _tile(w, "voice_in_use")["cls"].split()
        # the second caller finds no free channel: refused, on the bus and on the page
        with pytest.raises(CallControlError):
            st.client.command("LeaveVoicemail", call=second, box="sales")
        st.wait_event(lambda e: e["type"] == "ResourceExhausted" and e.get("kind") == "voice", since=mark)
        until(lambda: figure(w, "voice_refused") == "1", timeout=10, what="refused 1 on the page")
        screenshot(w, "gateway-wallboard-resources.png")
        w.find_element(By.ID, "lang").click()
        until(lambda: text(w, "resources-card").startswith("媒体资源"), what="Chinese panel")
        assert label(w, "voice_in_use") == "语音通道 · 占用 / 总数" and label(w, "fax_refused") == "传真通道 · 拒绝"
        screenshot(w, "gateway-wallboard-resources-zh.png")
        # the message ends (max_seconds): the channel is free again
        st.wait_event(lambda e: e["type"] in ("VoicemailLeft", "VoicemailFailed"), since=mark, timeout=60)
        until(lambda: figure(w, "voice_in_use") == "0 / 1", timeout=20, what="voice channel back")
    finally:
        w.quit()
