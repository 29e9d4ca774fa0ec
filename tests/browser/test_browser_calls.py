"""The desktop's call buttons and outbound pages, clicked in headless Chromium against a running
cti-server (simulator) and cti-gateway: the agent previews a campaign record, skips one, dials
the next from its own phone; on that call it holds and retrieves, sends DTMF, saves wrap-up
notes, consults a second party, alternates between the two, conferences them and clears; then
Ready / NotReady with a reason. Each click is checked on the bus (the CSTA event at the agent's
device) and on the page. The wallboard shows the campaign (mode, dialled, connects, abandon rate
against the cap, agents) and switches its pacing mode. Screenshots in zh and en for docs/."""
from __future__ import annotations

import json
import os
import re
import urllib.request
from typing import Any
from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from .conftest import Stack, chrome, contact_site, demo_scenario, running, screenshot
from .test_browser_desktop import enabled, page_log, text, until

pytestmark = pytest.mark.browser

DEVICE = "2001"
RECORDS = [("13700000001", "李雷", "欠费 120 元"), ("13700000002", "韩梅梅", "欠费 86 元"),
           ("13700000003", "王芳", "欠费 45 元")]
CONSULT = "13700000009"


def _config(tmp: str) -> str:
    """docs/examples/contact-centre.toml with a preview campaign, and the demo scenario with few
    callers (the buttons are about the agent's own calls) and called parties that stay on the line."""
    scenario = demo_scenario().replace("rate = 0.2 ", "rate = 0.001 ")
    for number, *_ in RECORDS + [(CONSULT,)]:
        scenario += f"\n[scenario.subscribers.{number}]\nanswer_after = 1.0\nhold_for = 3600.0\n"
    with open(os.path.join(tmp, "remind.csv"), "w", encoding="utf-8") as f:
        f.write("number,name,note\n" + "".join(f"{n},{who},{note}\n" for n, who, note in RECORDS))
    return contact_site(tmp, scenario, (
        f'\n[contact.campaigns.remind]\ncsv = "{os.path.join(tmp, "remind.csv")}"\nqueue = "sales"\n'
        'mode = "preview"\nautostart = true\nmax_attempts = 1\nanswer_wait = 0.0\n'
        'abandon_message = "sorry"\ntarget = 0.03\n'))


@pytest.fixture(scope="module")
def ostack() -> Iterator[Stack]:
    yield from running("cti-browser-out-", _config)


def at_me(stack: Stack, kind: str, call: str, since: int, timeout: float = 20.0, **kw: Any) -> dict[str, Any]:
    """The CSTA event ``kind`` for ``call`` reported at the agent's device."""
    return stack.wait_event(lambda e: e["type"] == kind and e.get("call") == call and e.get("device") == DEVICE
                            and all(e.get(k) == v for k, v in kw.items()), since=since, timeout=timeout)


def desk_calls(d: Any) -> dict[str, str]:
    """The page's own model: call id -> state at the agent's device."""
    got = d.execute_script("return [...window.ctiDesktop.calls.values()].map(c => [c.call, c.state])")
    return {c: s for c, s in got}


def click(d: Any, id_: str) -> None:
    until(lambda: enabled(d, id_), what=f"#{id_} enabled")
    d.find_element(By.ID, id_).click()


def logged(d: Any, what: str) -> None:
    until(lambda: f"{what}: " in page_log(d), what=what)
    assert f"{what}: ok" in page_log(d), page_log(d)


def test_preview_then_every_call_button(ostack: Stack, browser: Any) -> None:
    st = ostack
    d = browser
    d.get(st.url + f"/agent?agent=alice&device={DEVICE}&lang=en")
    click(d, "logon")
    until(lambda: text(d, "state") == "Not ready", what="logged on, not ready")

    # ---- preview: the record, skip it, the next one, dial it -----------------------------------
    until(lambda: "remind" in [o.text for o in Select(d.find_element(By.ID, "pv-campaign")).options],
          what="the campaign in the preview panel")
    assert text(d, "pv-mode") == "preview"
    click(d, "pv-next")
    until(lambda: text(d, "pv-number") == RECORDS[0][0], what="first record shown")
    assert RECORDS[0][1] in text(d, "pv-data") and RECORDS[0][2] in text(d, "pv-data")
    assert not enabled(d, "pv-next")                        # one record at a time
    screenshot(d, "gateway-agent-preview.png")
    click(d, "pv-skip")
    logged(d, "PreviewSkip")
    click(d, "pv-next")
    until(lambda: text(d, "pv-number") == RECORDS[1][0], what="second record shown")
    mark = len(st.events)
    click(d, "pv-dial")
    logged(d, "PreviewDial")
    call = re.search(r'"call":"([^"]+)"', page_log(d)).group(1)             # type: ignore[union-attr]
    orig = at_me(st, "Originated", call, mark)
    assert orig["called"] == RECORDS[1][0]
    st.wait_event(lambda e: e["type"] == "Established" and e.get("call") == call, since=mark, timeout=30)
    prog = st.wait_event(lambda e: e["type"] == "CampaignProgress" and e.get("number") == RECORDS[1][0], since=mark)
    assert prog["outcome"] == "answered" and prog["call"] == call
    until(lambda: desk_calls(d).get(call) == "connected", what="page: the outbound call connected")
    assert RECORDS[1][1] in text(d, "pop-crm")               # the record stays on screen during the call
    assert text(d, "pv-number") == "-" and enabled(d, "pv-next")

    # ---- hold / retrieve ------------------------------------------------------------------------
    mark = len(st.events)
    click(d, "hold")
    assert at_me(st, "Held", call, mark)["state"] == "hold"
    until(lambda: desk_calls(d).get(call) == "hold" and enabled(d, "retrieve") and not enabled(d, "hold"),
          what="page: held")
    assert "on hold" in text(d, "pop-state")
    mark = len(st.events)
    click(d, "retrieve")
    assert at_me(st, "Retrieved", call, mark)["state"] == "connected"
    until(lambda: desk_calls(d).get(call) == "connected" and enabled(d, "hold"), what="page: retrieved")

    # ---- DTMF keypad ------------------------------------------------------------------------------
    d.find_element(By.ID, "dtmf").send_keys("12#")
    mark = len(st.events)
    click(d, "send-dtmf")
    dd = at_me(st, "DigitsDialed", call, mark)
    assert dd["digits"] == "12#" and dd.get("sent") is True
    logged(d, "SendDigits")

    # ---- wrap-up notes on the call (its user data, so its CDR) ------------------------------------
    d.find_element(By.ID, "notes").send_keys("已提醒缴费 / reminded to pay")
    click(d, "save-notes")
    logged(d, "UpdateUserData")
    ud = st.wait_event(lambda e: e.get("call") == call and (e.get("user_data") or {}).get("notes"), since=mark)
    assert ud["user_data"]["notes"].startswith("已提醒缴费") and ud["user_data"].get("campaign") == "remind"
    screenshot(d, "gateway-agent-call-en.png")
    d.find_element(By.ID, "lang").click()
    until(lambda: text(d, "hold") == "保持", what="Chinese labels mid-call")
    screenshot(d, "gateway-agent-call-zh.png")
    d.find_element(By.ID, "lang").click()
    until(lambda: text(d, "hold") == "Hold", what="English again")

    # ---- consultation, alternate (twice), conference ----------------------------------------------
    d.find_element(By.ID, "consult-number").send_keys(CONSULT)
    mark = len(st.events)
    click(d, "consult")
    logged(d, "ConsultationCall")
    assert at_me(st, "Held", call, mark)["state"] == "hold"
    orig2 = st.wait_event(lambda e: e["type"] == "Originated" and e.get("device") == DEVICE and e.get("call") != call,
                          since=mark)
    consult = orig2["call"]
    st.wait_event(lambda e: e["type"] == "Established" and e.get("call") == consult, since=mark, timeout=30)
    until(lambda: desk_calls(d).get(call) == "hold" and desk_calls(d).get(consult) == "connected",
          what="page: one held, one active")
    until(lambda: enabled(d, "alternate") and enabled(d, "conference") and enabled(d, "transfer"), what="buttons")
    for active, other in ((call, consult), (consult, call)):
        mark = len(st.events)
        click(d, "alternate")
        until(lambda: "Alternate" in page_log(d).split("\n")[-1] or "AlternateCall" in page_log(d), what="alternate")
        assert at_me(st, "Held", other, mark)["state"] == "hold"
        assert at_me(st, "Retrieved", active, mark)["state"] == "connected"
        until(lambda a=active, o=other: desk_calls(d).get(a) == "connected" and desk_calls(d).get(o) == "hold",
              what=f"page: {active} active after alternate")
    screenshot(d, "gateway-agent-consult.png")
    mark = len(st.events)
    click(d, "conference")
    logged(d, "ConferenceCall")
    conf = st.wait_event(lambda e: e["type"] == "Conferenced" and DEVICE in (e.get("devices") or [e.get("device")]),
                         since=mark)
    merged = conf["call"]
    until(lambda: list(desk_calls(d).values()).count("connected") == 1 and "hold" not in desk_calls(d).values(),
          what="page: one conference call")
    parties = st.client.snapshot()["calls"]
    held_in = next(c for c in parties if c["call"] == merged)
    devices = {x["device"] for x in held_in["connections"]}
    assert DEVICE in devices and len(devices) == 3, devices      # the agent and both far ends

    # ---- clear, then Ready and NotReady with a reason ----------------------------------------------
    mark = len(st.events)
    click(d, "clear")
    logged(d, "ClearConnection")
    st.wait_event(lambda e: e["type"] in ("ConnectionCleared", "CallCleared") and e.get("call") == merged
                  and (e.get("device") == DEVICE or e["type"] == "CallCleared"), since=mark)
    until(lambda: not desk_calls(d), what="page: no call left")
    until(lambda: merged in text(d, "today") or call in text(d, "today"), what="today's calls lists it")
    mark = len(st.events)
    click(d, "ready")
    st.wait_event(lambda e: e["type"] == "AgentReady" and e.get("agent") == "alice", since=mark)
    until(lambda: text(d, "state") in ("Ready", "Busy"), what="page: Ready")
    Select(d.find_element(By.ID, "reason")).select_by_value("Lunch")
    mark = len(st.events)
    click(d, "notready")
    nr = st.wait_event(lambda e: e["type"] == "AgentNotReady" and e.get("agent") == "alice", since=mark)
    assert nr["reason"] == "Lunch"
    until(lambda: text(d, "state") == "Not ready" and "Lunch" in text(d, "state-reason"), what="page: Not ready (Lunch)")
    # Chromium offered permessage-deflate: every event above reached the page in compressed frames
    with urllib.request.urlopen(st.url + "/readyz", timeout=10) as r:
        assert json.load(r)["counters"]["ws_deflate"] >= 1


def test_wallboard_campaign_view_switches_pacing(ostack: Stack) -> None:
    st = ostack
    w = chrome(1280, 900)
    try:
        w.get(st.url + "/wallboard?device=3001&lang=en")
        until(lambda: "online" in text(w, "conn"), what="wallboard connected")
        row = until(lambda: w.find_element(By.CSS_SELECTOR, "tr[data-campaign=remind]"), what="campaign row")
        cells = lambda: [c.text for c in w.find_elements(By.CSS_SELECTOR, "tr[data-campaign=remind] td")]  # noqa: E731
        until(lambda: cells()[1].startswith("preview"), what="mode preview shown")
        until(lambda: "/ 3.0 %" in cells()[4], what="abandon rate against the 3 % cap")
        assert row.find_element(By.CSS_SELECTOR, ".cp-current").get_attribute("data-mode") == "preview"
        # the preview test before dialled one record and connected it
        if st.events and any(e["type"] == "CampaignProgress" for e in st.events):
            until(lambda: cells()[2] == "1" and cells()[3] == "1", what="dialled 1, connects 1")
        # switch to progressive, then back to preview; each switch is a CampaignStatus on the bus
        for mode in ("progressive", "preview"):
            Select(w.find_element(By.CSS_SELECTOR, "select.cp-mode")).select_by_value(mode)
            mark = len(st.events)
            w.find_element(By.CSS_SELECTOR, "button.cp-apply").click()
            ev = st.wait_event(lambda e: e["type"] == "CampaignStatus" and e.get("mode") == mode, since=mark)
            assert ev["campaign"] == "remind" and ev["status"]["target"] == 0.03
            until(lambda m=mode: cells()[1].startswith(m), what=f"mode {mode} shown")
            assert f"SetCampaignMode remind {mode}: ok" in page_log(w)
        screenshot(w, "gateway-wallboard-campaigns.png")
        w.find_element(By.ID, "lang").click()
        until(lambda: text(w, "campaigns-card").startswith("外呼活动"), what="Chinese campaign view")
        until(lambda: cells()[1].startswith("预览式"), what="mode in Chinese")
        screenshot(w, "gateway-wallboard-campaigns-zh.png")
    finally:
        w.quit()
