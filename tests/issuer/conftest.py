"""Fixtures for the issuer: every database test runs on a SQLite file and on PostgreSQL.

PostgreSQL comes from SOCPASS_TEST_DATABASE_URL (a server URL such as
postgresql+psycopg://postgres@127.0.0.1:5432/test), else the local one when it answers (see
tests/conftest.py): one fresh database is created for the session and dropped after it; each
test starts from empty tables. Without either the PostgreSQL variants are skipped locally and
fail under CI=true.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import URL, make_url

from issuer.config import Settings
from issuer.service import IssuerService

from tests.issuer.helpers import ISSUER_ID, ISSUER_NAME, ISSUER_URL, PASSPHRASE, PASSWORD, FakeClock

PG_ENV = "SOCPASS_TEST_DATABASE_URL"
TABLES = ("events", "credentials", "status_lists", "signing_keys", "issuer", "users", "login_failures",
          "api_tokens", "wallet_links", "jobs", "audit_head")


def _conninfo(url: URL, database: str | None = None) -> dict[str, Any]:
    return {"host": url.host or "127.0.0.1", "port": url.port or 5432, "user": url.username,
            "password": url.password, "dbname": database or url.database or "postgres"}


@pytest.fixture(scope="session")
def pg_server_url() -> URL:
    raw = os.environ.get(PG_ENV)
    if not raw:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{PG_ENV} must be set in CI: the PostgreSQL variants cannot be skipped")
        pytest.skip(f"no PostgreSQL: {PG_ENV} is not set and none answers at 127.0.0.1:5432")
    return make_url(raw)


@pytest.fixture(scope="session")
def pg_admin(pg_server_url: URL) -> Iterator[tuple[psycopg.Connection, str]]:
    """A fresh database for this test session; yields (a connection to it, its URL)."""
    name = f"socpass_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(**_conninfo(pg_server_url), autocommit=True) as server:
        server.execute(f'CREATE DATABASE "{name}"')
    url = pg_server_url.set(drivername="postgresql+psycopg", database=name)
    try:
        with psycopg.connect(**_conninfo(url), autocommit=True) as conn:
            yield conn, url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(**_conninfo(pg_server_url), autocommit=True) as server:
            server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _empty_pg(conn: psycopg.Connection) -> None:
    exists = conn.execute("SELECT to_regclass('public.credentials') IS NOT NULL").fetchone()
    if exists and exists[0]:
        conn.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'issuer.db'}"
    conn, url = request.getfixturevalue("pg_admin")
    _empty_pg(conn)
    return url


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> dict[str, str]:
    """The environment of a configured issuer (also handed to subprocesses)."""
    return {"SOCPASS_HOME": str(tmp_path / "home"), "SOCPASS_DATABASE_URL": db_url,
            "SOCPASS_KEY_PASSPHRASE": PASSPHRASE, "SOCPASS_STATUS_LIST_SIZE": "4096",
            "SOCPASS_TIMEZONE": "Asia/Vladivostok"}


@pytest.fixture
def settings(env: dict[str, str]) -> Settings:
    return Settings.from_env(env)


@pytest.fixture
def clock() -> FakeClock:
    # 09:30 UTC is 19:30 in Khabarovsk: the issuer's "today" is 10 March there.
    return FakeClock(datetime(2025, 3, 10, 9, 30, tzinfo=timezone.utc))


@pytest.fixture
def bare_service(settings: Settings, clock: FakeClock) -> Iterator[IssuerService]:
    svc = IssuerService.open(settings, clock=clock, actor="test")
    try:
        yield svc
    finally:
        svc.close()


@pytest.fixture
def service(bare_service: IssuerService) -> IssuerService:
    bare_service.init_issuer(ISSUER_ID, ISSUER_NAME, ISSUER_URL, region="27")
    return bare_service


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with the smallest parameters: the tests sign in often; production keeps the defaults."""
    from argon2 import PasswordHasher

    import issuer.accounts

    monkeypatch.setattr(issuer.accounts, "_HASHER",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(autouse=True)
def fast_link_key_sealing(monkeypatch: pytest.MonkeyPatch) -> None:
    """scrypt at a small cost for the link key (issuer.linkkey); the cost is kept in the sealed
    text, so production keeps its own."""
    import issuer.linkkey

    monkeypatch.setattr(issuer.linkkey, "SCRYPT_N", 1 << 4)


@pytest.fixture
def people(service: IssuerService) -> dict[str, str]:
    """One account per role; name -> password."""
    accounts = {"boss": "admin", "olga": "operator", "anna": "auditor"}
    for name, role in accounts.items():
        service.accounts.add_user(name, role, PASSWORD)
    return {name: PASSWORD for name in accounts}


@pytest.fixture
def console_app(service: IssuerService, people: dict[str, str]):
    from issuer.app import create_app

    app = create_app(service=service)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def login(console_app):
    """login(name) -> a test client signed in as that person."""
    from tests.issuer.web import sign_in

    def _login(name: str):
        client = console_app.test_client()
        response = sign_in(client, name, PASSWORD)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client
    return _login
