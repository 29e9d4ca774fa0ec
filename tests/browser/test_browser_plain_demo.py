"""The wallboard on a server without a contact centre (the plain demo: trunks and stations, no
``[contact]``): it shows the live calls and says once, as a note and not as an error, that there
are no queues or agents here, however many times it asks for statistics (GetStatistics is a
contact-centre request)."""
from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By

from .conftest import Stack, chrome, running
from .test_browser_desktop import page_log, until

pytestmark = pytest.mark.browser


def _config(tmp: str) -> str:
    path = os.path.join(tmp, "demo.toml")
    with open(path, "w", encoding="utf-8") as f:
        f.write("[demo]\nenabled = true\n")
    return path


@pytest.fixture(scope="module")
def pstack() -> Iterator[Stack]:
    yield from running("cti-browser-plain-", _config)


def test_wallboard_without_a_contact_centre_shows_calls_and_one_note(pstack: Stack) -> None:
    d = chrome(1280, 900)
    try:
        d.get(f"{pstack.url}/wallboard?lang=en")
        until(lambda: d.find_elements(By.CSS_SELECTOR, "#calls tbody tr"), timeout=60, what="a live call")
        until(lambda: "no contact centre" in page_log(d), timeout=30, what="the note")
        time.sleep(6)                               # a tick of the 5 s statistics timer: no second note, no error
        assert page_log(d).count("no contact centre on this server") == 1, page_log(d)
        assert not d.find_elements(By.CSS_SELECTOR, "#log .err"), page_log(d)
    finally:
        d.quit()
