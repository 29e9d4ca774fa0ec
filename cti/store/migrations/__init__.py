"""Versioned schema migrations for the SQLite and PostgreSQL stores.

One module per version (``vNNN_<what>.py``, an ``up(cur, dialect)`` function and a ``NAME``),
applied in order at start, each in its own transaction with its row in ``schema_migrations``
(version, name, applied_at). A database made before this table existed is recognised by its
tables (the first journal had no ``last`` column: version 1; with it: version 2) and carried on
from there. A database newer than this code is refused (StoreError): an older server must not
write into a schema it does not know. Add a version: a new file here, appended to MIGRATIONS,
and a case in tests/test_store_migrations.py with data in the schema before it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from . import (v001_initial, v002_journal_pages, v003_journal_epoch, v004_cdr_columns, v005_media_message,
               v006_cdr_user_data, v007_node_column)

#: the migrations, in version order (version = position + 1)
MIGRATIONS: tuple[ModuleType, ...] = (v001_initial, v002_journal_pages, v003_journal_epoch, v004_cdr_columns,
                                       v005_media_message, v006_cdr_user_data, v007_node_column)
LATEST = len(MIGRATIONS)
TABLE = "schema_migrations"


class MigrationError(Exception):
    """The schema cannot be brought to this code's version."""


@dataclass(frozen=True)
class Dialect:
    """What differs between the databases: column types, placeholder, name."""

    name: str           #: "sqlite" | "postgresql"
    real: str = "REAL"
    blob: str = "BLOB"
    ph: str = "?"


def has_table(cur: Any, d: Dialect, table: str) -> bool:
    if d.name == "sqlite":
        cur.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
    else:
        cur.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() "
                    "AND table_name = %s", (table,))
    return cur.fetchone() is not None


def columns(cur: Any, d: Dialect, table: str) -> set[str]:
    """The column names of ``table`` (empty when it does not exist)."""
    if d.name == "sqlite":
        cur.execute("SELECT name FROM pragma_table_info(?)", (table,))
    else:
        cur.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                    "AND table_name = %s", (table,))
    return {str(r[0]).lower() for r in cur.fetchall()}


def version(cur: Any, d: Dialect) -> int:
    """The schema version of the database (0: empty)."""
    if has_table(cur, d, TABLE):
        cur.execute(f"SELECT COALESCE(MAX(version), 0) FROM {TABLE}")
        v = int(cur.fetchone()[0])
        if v:
            return v
    if not has_table(cur, d, "journal"):
        return 0
    return 2 if "last" in columns(cur, d, "journal") else 1   # from before the migrations table


def _begin(conn: Any, d: Dialect) -> Any:
    if d.name == "sqlite" and not conn.in_transaction:
        conn.execute("BEGIN IMMEDIATE")         # DDL inside the transaction too; one migrator at a time
    return conn.cursor()


def migrate(conn: Any, d: Dialect, target: int = LATEST) -> list[int]:
    """Apply the migrations after the database's version up to ``target``; returns the versions
    applied. Each runs in one transaction with its ``schema_migrations`` row: a failure leaves
    the database at the version before it (and raises MigrationError)."""
    if not 0 <= target <= LATEST:
        raise MigrationError(f"no schema version {target} (this code knows 1..{LATEST})")
    applied: list[int] = []
    while True:
        cur = _begin(conn, d)
        have = 0
        try:
            have = version(cur, d)
            if have > LATEST:
                raise MigrationError(f"the database's schema is version {have}, newer than this code's "
                                     f"{LATEST}: run the newer server, or restore a backup")
            if have >= target:
                conn.rollback()
                return applied
            m = MIGRATIONS[have]
            cur.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                        f"applied_at {d.real} NOT NULL)")
            cur.execute(f"SELECT COUNT(*) FROM {TABLE}")
            if have and not int(cur.fetchone()[0]):    # a database from before the table: its versions
                MIGRATIONS[0].up(cur, d)               # (and any table of version 1 it lacks: IF NOT EXISTS)
                for v in range(1, have + 1):
                    cur.execute(f"INSERT INTO {TABLE} (version, name, applied_at) VALUES ({d.ph}, {d.ph}, {d.ph})",
                                (v, MIGRATIONS[v - 1].NAME + " (found)", time.time()))
            else:
                cur.fetchall()
            m.up(cur, d)
            cur.execute(f"INSERT INTO {TABLE} (version, name, applied_at) VALUES ({d.ph}, {d.ph}, {d.ph})",
                        (have + 1, m.NAME, time.time()))
            conn.commit()
        except MigrationError:
            conn.rollback()
            raise
        except Exception as e:
            conn.rollback()
            raise MigrationError(f"schema migration {have + 1} ({MIGRATIONS[have].NAME}) failed: {e}") from e
        applied.append(have + 1)
