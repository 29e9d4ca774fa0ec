"""Rigs for the cluster's tests: a PostgreSQL schema of their own on CTI_TEST_POSTGRES_URL (the
server .ci/run starts with .ci/postgres.sh), dropped afterwards. No tests here."""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest


def scoped_url(url: str, schema: str) -> str:
    """``url`` whose connections use ``schema`` (search_path)."""
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


@pytest.fixture(name="pg_url")
def pg_url_fixture() -> Iterator[str]:
    """A URL of an empty schema of its own on the test PostgreSQL server."""
    url = os.environ.get("CTI_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("CTI_TEST_POSTGRES_URL not set (no PostgreSQL server: .ci/run starts one as root)")
    psycopg = pytest.importorskip("psycopg", reason="psycopg not installed (pip install 'psycopg[binary]')")
    schema = "c" + uuid.uuid4().hex[:12]
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {schema}")
    yield scoped_url(url, schema)
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(f"DROP SCHEMA {schema} CASCADE")
