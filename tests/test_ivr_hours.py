"""IVR opening hours: outside them a caller goes to after_hours (voicemail) instead of the menus."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from cti.ivr.menu import IvrConfig, IvrConfigError
from cti.ivr.session import IvrSession, Say, ToVoicemail
from tests.test_contact_load import restore_bus_requests  # noqa: F401 (fixture: the server test registers requests)

MENUS = {"main": {"say": "welcome", "max_digits": 1, "options": {"1": {"queue": "sales"}}}}
HOURS = {"open": "08:30", "close": "18:00", "days": [1, 2, 3, 4, 5], "after_hours": {"voicemail": "sales"}}
MONDAY = datetime(2026, 12, 7, 10, 0)          # a Monday


def config(hours: Any = HOURS) -> IvrConfig:
    return IvrConfig.from_dict({"start": "main", "menus": MENUS, "hours": hours})


@pytest.mark.parametrize("wall,opened", [(MONDAY, True), (MONDAY.replace(hour=8, minute=29), False),
                                         (MONDAY.replace(hour=8, minute=30), True),
                                         (MONDAY.replace(hour=18, minute=0), False),
                                         (datetime(2026, 12, 12, 10, 0), False)])       # a Saturday
def test_opening_hours(wall: datetime, opened: bool) -> None:
    out = IvrSession(config(), "c1").start(0.0, wall)
    if opened:
        assert isinstance(out[0], Say)
    else:
        assert out == [ToVoicemail("sales", {})]


def test_no_wall_clock_or_no_hours_means_open() -> None:
    assert isinstance(IvrSession(config(), "c").start(0.0)[0], Say)
    cfg = IvrConfig.from_dict({"start": "main", "menus": MENUS})
    assert cfg.hours is None and isinstance(IvrSession(cfg, "c").start(0.0, MONDAY.replace(hour=23))[0], Say)


@pytest.mark.parametrize("bad,match", [({**HOURS, "open": "8h"}, "like"), ({**HOURS, "close": "25:00"}, "time of day"),
                                       ({**HOURS, "open": "19:00"}, "before close"), ({**HOURS, "days": [0]}, "weekdays"),
                                       ({k: v for k, v in HOURS.items() if k != "after_hours"}, "after_hours"),
                                       ({**HOURS, "after_hours": {"menu": "nowhere"}}, "unknown menu"),
                                       ({**HOURS, "lunch": "12:00"}, "unknown keys")])
def test_bad_hours_are_named(bad: dict[str, Any], match: str) -> None:
    with pytest.raises(IvrConfigError, match=match):
        config(bad)


@pytest.mark.system
def test_after_hours_caller_leaves_a_message_through_the_server(tmp_path: Path) -> None:
    from cti.fax import available

    if not available()[0]:
        pytest.skip(available()[1])
    from test_media_server import AGENTS, listen, media, place, wait_event

    from tests.test_contact_load import make_server

    f = tmp_path / "ivr.toml"
    f.write_text("""
[ivr]
start = "main"
[ivr.hours]
open = "08:30"
close = "18:00"
after_hours = { voicemail = "sales" }
[ivr.menus.main]
say = "welcome"
max_digits = 1
options."1" = { queue = "sales" }
""")
    srv, centre = make_server(tmp_path, {"agents": AGENTS, "ivr": str(f), "route_points": {"4100": "ivr"},
                                         "queues": {"sales": {}}}, spans=1)
    m = media(srv, centre, tmp_path)
    centre.ivr.wallclock = lambda: MONDAY.replace(hour=21)
    bus, seen = listen(srv)
    try:
        place(srv, 0.5, hold_for=None)
        failed = wait_event(srv, seen, "VoicemailFailed", 40.0)      # nobody speaks: nothing kept
        assert failed["box"] == "sales" and failed["reason"] == "too-short"
        voice = m.pools.usage()["voice"]
        assert (voice["busy"], voice["peak"]) == (0, 1)             # one channel: the menu's, then the message's
        assert not any(e["type"] == "TtsFailed" for e in seen)
    finally:
        srv.close()
