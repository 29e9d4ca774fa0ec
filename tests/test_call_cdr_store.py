"""The CDR keeps the call's user data and route point in the store (SQLite; migration 6 adds the
columns to an older database, whose records read back with an empty map)."""
from __future__ import annotations

import sqlite3

from cti.call import CallModel
from cti.call.loopback import LoopbackTrunk
from cti.store import open_store
from cti.store.migrations import Dialect, migrate


def test_user_data_and_route_point_reach_the_stored_cdr(tmp_path):
    trunk = LoopbackTrunk([0], [1, 2])
    model = CallModel([trunk], routing_devices={"4000"})
    trunk.ring("4000", "13800138000", 0.0)
    model.service(0.0)
    cid = next(iter(model.calls))
    model.queue_call(cid, "sales", 0.5)
    model.update_user_data(cid, {"account": "A-1001", "ivr.main": "2", "note": "客户要求回电"}, 0.6)
    model.deliver(cid, 1.0, devices=["2001"])
    model.answer_call(cid, 2.0, device="2001")
    trunk.far_clear(model.calls[cid].circuit(), 5.0)
    model.service(5.0)
    st = open_store(str(tmp_path / "cdr.db"))
    try:
        for cdr in model.take_cdrs():
            st.write_cdr(cdr)
        (got,) = st.cdrs()
        assert got["device"] == "2001" and got["route_device"] == "4000"
        assert got["user_data"] == {"account": "A-1001", "ivr.main": "2", "note": "客户要求回电"}
    finally:
        st.close()


def test_an_older_database_gets_the_columns_and_keeps_its_records(tmp_path):
    path = str(tmp_path / "old.db")
    conn = sqlite3.connect(path, isolation_level="IMMEDIATE")
    migrate(conn, Dialect("sqlite"), target=5)
    conn.execute("INSERT INTO cdr (call, ended, merged) VALUES ('1', 3.0, '[]')")
    conn.commit()
    conn.close()
    st = open_store(path)
    try:
        assert 6 in st.migrations_applied
        (old,) = st.cdrs()
        assert old["call"] == "1" and old["user_data"] == {} and old["route_device"] is None
    finally:
        st.close()
