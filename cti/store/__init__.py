"""Event journal + CDR storage: SQLite by default, PostgreSQL by URL."""
from __future__ import annotations

from .base import CDR_FIELDS, SqlStore, Store, StoreError
from .sqlite import SqliteStore


def open_store(url: str, node: str = "") -> Store:
    """A store from a URL: ``postgresql://...`` / ``postgres://...``, ``sqlite:///path``, a path, ``:memory:``.

    ``node``: a cluster node's name, whose journal and meta rows a PostgreSQL store keeps apart
    from the other nodes' in the shared database; a SQLite file is one node's and ignores it."""
    if not isinstance(url, str) or not url:
        raise StoreError(f"store URL must be a non-empty string, not {url!r}")
    if url.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStore
        return PostgresStore(url, node)
    if url.startswith("sqlite://"):          # sqlite:///abs/path.db, sqlite://rel.db, sqlite://:memory:
        url = url[len("sqlite://"):] or ":memory:"
    return SqliteStore(url)


__all__ = ["CDR_FIELDS", "SqlStore", "SqliteStore", "Store", "StoreError", "open_store"]
