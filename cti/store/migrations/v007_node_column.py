"""Version 7: journal and meta rows carry their node, so that the nodes of a cluster share one
PostgreSQL database (docs/cluster.md "Shared state in PostgreSQL").

Each node keeps its own journal (its seqs, its epoch) and its own meta (its seq reservation,
its next call number) in the shared tables, told apart by ``node``; CDRs and the media message
box are the cluster's (call ids already carry the node name). A single node, and every SQLite
file (one file is one node's store), uses node ``''``; rows written before this version are
given that node. The primary keys become ``(node, seq)`` and ``(node, key)``: neither database
changes a primary key in place, so both tables are rebuilt (copied, dropped, renamed) inside
the migration's transaction.
"""
from __future__ import annotations

from typing import Any

NAME = "journal and meta per node"


def up(cur: Any, d: Any) -> None:
    cur.execute(f"CREATE TABLE journal_v7 (seq BIGINT NOT NULL, last BIGINT NOT NULL, time {d.real} NOT NULL, "
                f"topic TEXT NOT NULL, type TEXT NOT NULL, body {d.blob} NOT NULL, "
                "node TEXT NOT NULL DEFAULT '', PRIMARY KEY (node, seq))")
    cur.execute("INSERT INTO journal_v7 (seq, last, time, topic, type, body, node) "
                "SELECT seq, COALESCE(last, seq), time, topic, type, body, '' FROM journal")
    cur.execute("DROP TABLE journal")
    cur.execute("ALTER TABLE journal_v7 RENAME TO journal")
    cur.execute("CREATE INDEX journal_time ON journal (node, time)")
    cur.execute("CREATE TABLE meta_v7 (node TEXT NOT NULL DEFAULT '', key TEXT NOT NULL, value TEXT NOT NULL, "
                "PRIMARY KEY (node, key))")
    cur.execute("INSERT INTO meta_v7 (node, key, value) SELECT '', key, value FROM meta")
    cur.execute("DROP TABLE meta")
    cur.execute("ALTER TABLE meta_v7 RENAME TO meta")
