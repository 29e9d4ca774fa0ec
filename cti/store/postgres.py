"""PostgreSQL store (psycopg 3), for sites that outgrow one SQLite file, and the one database
of a cluster: each node reads and writes its own journal and meta rows (``node``), every node
the same CDRs (docs/cluster.md)."""
from __future__ import annotations

from typing import Any

from .base import SqlStore, StoreError


class PostgresStore(SqlStore):
    """Journal + CDRs in a PostgreSQL database given by a ``postgresql://`` URL."""

    ph = "%s"
    blob = "BYTEA"
    real = "DOUBLE PRECISION"

    def __init__(self, url: str, node: str = "") -> None:
        try:
            import psycopg
        except ImportError as e:   # optional dependency: pip install 'e1cti[postgres]'
            raise StoreError("the PostgreSQL store needs psycopg: pip install 'psycopg[binary]'") from e
        try:
            conn = psycopg.connect(url)
        except psycopg.Error as e:
            raise StoreError(f"cannot connect to PostgreSQL: {e}") from e
        self.url = url
        super().__init__(conn, node)

    def _maint_connector(self) -> Any:
        """The maintenance thread's own connection (PostgreSQL commits are durable by default)."""
        import psycopg
        url = self.url
        return lambda: psycopg.connect(url)
