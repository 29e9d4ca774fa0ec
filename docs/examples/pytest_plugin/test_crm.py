"""Test the CRM connector against a simulated site (the cti pytest plugin's fixtures)."""
from __future__ import annotations

from crm import Connector


def test_a_known_caller_pops_is_answered_and_noted(cti_site, cti_client, cti_trace):
    crm = Connector(cti_client, agent_device="8001")
    cti_site.place_call("8001", calling="13800138000", span=1, hold_for=3.0)   # over SS7
    delivered = cti_trace.wait_for("Delivered", device="8001")
    crm.on_event(delivered)                                        # pops and answers
    cleared = cti_trace.wait_for("CallCleared", call=delivered["call"])
    crm.on_event(cleared)
    assert crm.pops == [(delivered["call"], "王小明 (VIP)")]
    assert crm.notes[delivered["call"]] == "cause 16"              # normal clearing by the caller
    cti_trace.assert_sequence("Offered", "Delivered", "Established", "CallCleared", call=delivered["call"])
    [record] = cti_site.records(span=1)                            # what the exchange saw
    assert record.outcome == "answered" and record.cleared_by == "far"


def test_an_unknown_caller_on_no1_who_gives_up(cti_site, cti_client, cti_trace):
    cti_site.place_call("8001", calling="13812345678", span=0, abandon_after=8.0)   # China No.1 (MFC takes ~2 s)
    delivered = cti_trace.wait_for("Delivered", device="8001")
    assert delivered["signalling"] == "no1" and delivered["calling"] == "13812345678"
    cti_trace.wait_for("CallCleared", call=delivered["call"])      # nobody answered: the caller hung up
    assert "Established" not in cti_trace.types(delivered["call"])


def test_our_outgoing_call_reaches_the_pri_network(cti_site, cti_client, cti_trace):
    out = cti_client.make_call("9000", "6601", trunk="pri")
    cti_trace.wait_for("Established", call=out["call"])
    cti_client.clear_connection(out["call"], device="9000")
    cti_trace.wait_for("CallCleared", call=out["call"])


def test_the_same_site_as_a_cti_server_process(cti_site_process):
    with cti_site_process.client() as c:
        snap = c.snapshot()
        assert snap["readiness"][0]["ready"] and len(snap["spans"]) == 3
        trace = cti_site_process.trace()
        trace.wait_for("ServerReady")
        trace.close()
