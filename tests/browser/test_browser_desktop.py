"""As a person uses it: an agent logs on in the browser, the simulated exchange places a call
through the ACD, the page pops the caller (CRM record from the CSV), the agent answers (the bus
shows Established at the agent's device), writes notes, consults and transfers, and goes into
after-call work; a supervisor's wallboard shows the queue and the agent change live and barges."""
from __future__ import annotations

import csv
import json
import os
import time
from typing import Any
from collections.abc import Callable

import pytest
from selenium.webdriver.common.by import By

from .conftest import ROOT, Stack, chrome, screenshot

pytestmark = pytest.mark.browser

with open(os.path.join(ROOT, "docs", "examples", "crm.csv"), encoding="utf-8") as _f:
    CRM = {r["number"]: r for r in csv.DictReader(_f)}


def until(fn: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            v = fn()
            if v:
                return v
        except Exception:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or fn}")
        time.sleep(0.1)


def text(d: Any, id_: str) -> str:
    return str(d.find_element(By.ID, id_).text)


def page_log(d: Any) -> str:
    return text(d, "log")


def enabled(d: Any, id_: str) -> bool:
    return bool(d.find_element(By.ID, id_).is_enabled())


def test_agent_answers_transfers_and_wraps_up_while_the_wallboard_follows(stack: Stack, browser: Any) -> None:
    agent = browser
    wall = chrome(1280, 900)
    try:
        wall.get(stack.url + "/wallboard?device=3001&lang=en")
        until(lambda: "online" in text(wall, "conn"), what="wallboard connected")
        until(lambda: wall.find_elements(By.CSS_SELECTOR, "tr[data-agent=alice]"), what="alice on the wallboard")

        agent.get(stack.url + "/agent?agent=alice&device=2001&lang=en")
        until(lambda: enabled(agent, "logon"))
        agent.find_element(By.ID, "logon").click()
        until(lambda: text(agent, "state") in ("Not ready", "Ready"), what="logged on")
        mark = len(stack.events)
        if text(agent, "state") != "Ready":
            until(lambda: enabled(agent, "ready"))
            agent.find_element(By.ID, "ready").click()
        # waiting callers may ring alice at once: Ready is then short
        until(lambda: text(agent, "state") in ("Ready", "Busy"), what="agent Ready")
        stack.wait_event(lambda e: e["type"] == "AgentReady" and e.get("agent") == "alice", since=mark)
        # the wallboard follows live
        until(lambda: {"Ready", "Busy"} & set(wall.find_element(By.CSS_SELECTOR, "tr[data-agent=alice] .state")
                                             .get_attribute("class").split()), what="wallboard shows alice Ready")

        # a caller reaches alice through the ACD: the page pops it; she answers. A caller may hang up
        # (or ring-no-answer move the call on) before the click lands on a slow host: then the next one
        for attempt in range(4):
            if text(agent, "state") in ("Not ready",):          # RONA put her NotReady
                agent.find_element(By.ID, "ready").click()
            until(lambda: enabled(agent, "answer"), timeout=90, what="a call offered to alice")
            desk = agent.execute_script("return [...window.ctiDesktop.calls.values()].find(c => c.state === 'alerting')")
            call, calling = desk["call"], desk["calling"]
            assert text(agent, "pop-calling") == (calling or "-")        # a caller may withhold the number
            offered = stack.wait_event(lambda e, c=call: e.get("call") == c and e["type"] in ("AgentOffered", "Delivered")
                                       and "2001" in (e.get("devices") or []) + (e.get("data", {}).get("devices") or []))
            assert offered
            crm = CRM.get(calling)
            if crm:
                until(lambda r=crm: r["name"] in text(agent, "pop-crm"), what="CRM record popped")
            else:
                until(lambda: "no CRM record" in text(agent, "pop-crm"), what="no CRM record shown")
            # the wallboard shows alice Busy (ringing)
            until(lambda: "Busy" in wall.find_element(By.CSS_SELECTOR, "tr[data-agent=alice] .state")
                  .get_attribute("class"), what="wallboard shows alice Busy")
            screenshot(agent, "gateway-agent-large.png")
            mark = len(stack.events)
            agent.find_element(By.ID, "answer").click()
            try:
                est = stack.wait_event(lambda e, c=call: e["type"] == "Established" and e.get("call") == c,
                                       since=mark, timeout=20)
                break
            except AssertionError:
                if attempt == 3:
                    raise AssertionError("no call could be answered:\n" + page_log(agent)) from None
        assert est["device"] == "2001", f"Established reported at {est['device']}, not at the agent's device"
        until(lambda: "connected" in text(agent, "pop-state"), what="page shows connected")
        until(lambda: wall.find_elements(By.CSS_SELECTOR, f"tr[data-call='{call}']"), what="live call on the wallboard")

        # wrap-up notes go to the call's user data
        agent.find_element(By.ID, "notes").send_keys("客户要求回电 / call back tomorrow")
        agent.find_element(By.ID, "save-notes").click()
        until(lambda: "UpdateUserData: ok" in page_log(agent), what="notes saved")
        ud = stack.wait_event(lambda e: e.get("call") == call and (e.get("user_data") or {}).get("notes"), timeout=20)
        assert ud["user_data"]["notes"].startswith("客户要求回电")

        # the supervisor barges in (rights are the bus's: plain mode here is an integrator)
        until(lambda: wall.find_element(By.CSS_SELECTOR, ".sup-barge[data-agent=alice]").is_enabled(), what="barge enabled")
        wall.find_element(By.CSS_SELECTOR, ".sup-barge[data-agent=alice]").click()
        until(lambda: "Monitor alice (barge): ok" in page_log(wall), what="barge accepted")
        screenshot(wall, "gateway-wallboard-large.png")
        wall.find_element(By.CSS_SELECTOR, ".sup-stop").click()
        until(lambda: "StopMonitor 3001: ok" in page_log(wall), what="supervision stopped")

        # consultation to carol's device, then transfer
        agent.find_element(By.ID, "consult-number").send_keys("2003")
        mark = len(stack.events)
        agent.find_element(By.ID, "consult").click()
        until(lambda: "ConsultationCall: ok" in page_log(agent) or "ConsultationCall: " in page_log(agent),
              what="consultation answered")
        assert "ConsultationCall: ok" in page_log(agent), page_log(agent)
        until(lambda: enabled(agent, "transfer"), what="transfer possible")
        screenshot(agent, "gateway-agent-consulting.png")
        agent.find_element(By.ID, "transfer").click()
        until(lambda: "TransferCall: ok" in page_log(agent) or "TransferCall: " in page_log(agent), what="transfer")
        assert "TransferCall: ok" in page_log(agent), page_log(agent)
        stack.wait_event(lambda e: e["type"] == "Transferred", since=mark)

        # after-call work with its timer, then today's calls lists the call
        until(lambda: text(agent, "state") in ("After-call work", "Ready"), timeout=30, what="after-call work")
        until(lambda: call in text(agent, "today"), what="today's calls")
        until(lambda: not enabled(agent, "clear"), what="no call left at the agent after the transfer")
        screenshot(agent, "gateway-agent-wrapup.png")
    finally:
        wall.quit()
    assert json.dumps(stack.events[-1])


def test_pages_switch_language_and_fit_a_small_window(stack: Stack) -> None:
    d = chrome(390, 844)
    try:
        d.get(stack.url + "/agent?lang=zh")
        until(lambda: text(d, "logon") == "签入", what="Chinese labels")
        assert d.find_element(By.ID, "ready").text == "就绪"
        d.find_element(By.ID, "lang").click()
        until(lambda: text(d, "logon") == "Log on", what="English after the switch")
        d.find_element(By.ID, "lang").click()
        until(lambda: text(d, "logon") == "签入")
        width = d.execute_script("return document.documentElement.scrollWidth")
        assert width <= 400, f"the agent page needs {width}px on a phone-sized window"
        screenshot(d, "gateway-agent-small.png")
        d.get(stack.url + "/wallboard?lang=zh")
        until(lambda: "已连接" in text(d, "conn"), what="wallboard connected")
        until(lambda: d.find_elements(By.CSS_SELECTOR, ".queue"), what="queues shown")
        assert "排队数" in d.find_element(By.ID, "queue-tiles").text
        screenshot(d, "gateway-wallboard-small.png")
        severe = [e for e in d.get_log("browser") if e["level"] == "SEVERE" and "/crm/" not in e["message"]]
        assert not severe, severe
    finally:
        d.quit()
