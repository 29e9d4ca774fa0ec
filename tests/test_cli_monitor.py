"""cti-monitor's view: agents and queues panels, a header with node and security mode, and
every line within 80 columns (a terminal as operators have it)."""
from __future__ import annotations

from rich.console import Console

from cti.cli.monitor import CallView

SNAP = {
    "seq": 41, "node": "bj-node-1",
    "spans": [{"span": 0, "signalling": "no1", "available": 28, "total": 30, "alarms": []},
              {"span": 1, "signalling": "ss7", "available": 0, "total": 30, "alarms": ["LOS", "LOF"]}],
    "agents": [{"agent": "alice", "device": "2001", "state": "Ready", "since": 100.0, "reason": "", "call": None},
               {"agent": "bob-with-a-very-long-agent-identifier", "device": "2002", "state": "NotReady",
                "since": 40.0, "reason": "lunch", "call": None}],
    "queues": [{"queue": "sales", "waiting": ["c7"]}],
    "calls": [{"call": "c7", "calling": "13812345678", "called": "4000", "span": 0, "ts": 3,
               "signalling": "no1", "direction": "in",
               "connections": [{"device": "trunk/0/3", "state": "connected"},
                               {"device": "4000", "state": "queued"}]}],
}


def render(view: CallView) -> list[str]:
    console = Console(width=80, record=True, color_system=None)
    console.print(view.render())
    return console.export_text().splitlines()


def test_header_agents_queues_fit_80_columns() -> None:
    view = CallView(security="curve")
    view.load(SNAP)
    view.apply({"seq": 42, "time": 160.0, "type": "QueueStats", "queue": "sales",
                "figures": {"service_level": 87.5, "abandon_rate": 4.2, "aht": 182.0}})
    lines = render(view)
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    text = "\n".join(lines)
    assert "node bj-node-1" in text and "bus curve" in text and "seq 42" in text
    assert lines[0].startswith("cti-monitor node bj-node-1")
    alice = next(line for line in lines if line.strip().startswith("alice"))
    assert "Ready" in alice and "1:00" in alice                 # 60 s in state
    assert "NotReady (lunch)" in text and "2:00" in text
    sales = next(line for line in lines if line.strip().startswith("sales"))
    assert sales.split()[1:] == ["1", "88", "4", "182"]
    assert "13812345678" in text and "LOS, LOF" in text
    span0 = next(line for line in lines if line.strip().startswith("0 ") and "no1" in line)
    assert span0.split()[:5] == ["0", "no1", "28", "1", "30"]     # in service, busy (c7's trunk/0/3), total


def test_agent_and_queue_events_update_the_panels() -> None:
    view = CallView()
    view.load(SNAP)
    view.apply({"seq": 42, "time": 200.0, "type": "AgentBusy",
                "agent": {"agent": "alice", "device": "2001", "state": "Busy", "since": 199.0, "call": "c7"}})
    view.apply({"seq": 43, "time": 200.0, "type": "Connected", "queue": "sales", "call": "c7",
                "data": {"agent": "alice"}})
    view.apply({"seq": 44, "time": 201.0, "type": "CallQueued", "queue": "support", "call": "c9", "data": {}})
    view.apply({"seq": 45, "time": 202.0, "type": "AgentLoggedOff",
                "agent": {"agent": "bob-with-a-very-long-agent-identifier", "state": "LoggedOff"}})
    assert view.agents["alice"]["state"] == "Busy" and len(view.agents) == 1
    assert view.queues["sales"]["waiting"] == [] and view.queues["support"]["waiting"] == ["c9"]
    text = "\n".join(render(view))
    assert "bus plain (localhost only)" in text and "support" in text
    assert "c7" in text                                          # the call itself is still live
