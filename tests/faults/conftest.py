"""Fault tests: real processes killed with SIGKILL, on a real SQLite file and real PostgreSQL."""
from __future__ import annotations

import os
import uuid

import pytest


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield None  # the issuer's default: a SQLite file under SOCPASS_HOME
        return
    url = os.environ.get("SOCPASS_TEST_DATABASE_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("SOCPASS_TEST_DATABASE_URL is required in CI")
        pytest.skip("no PostgreSQL: SOCPASS_TEST_DATABASE_URL is not set and none answers at "
                    "127.0.0.1:5432")
    import psycopg

    name = f"socpass_fault_{uuid.uuid4().hex[:10]}"
    admin = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield url.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
