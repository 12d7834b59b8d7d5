"""Settings every test package shares: which PostgreSQL the tests use.

SOCPASS_TEST_DATABASE_URL names it (CI sets it). When it is unset and a PostgreSQL answers on
this machine (127.0.0.1:5432, user postgres, no password), that one is used, so a newcomer's
`make test` runs the PostgreSQL variants too instead of skipping them; the tests create and drop
their own databases there. Nothing answering: those tests skip with the reason in the summary
(`make test` runs pytest -rs), and fail under CI=true.

`make test` runs on two pytest-xdist workers with --dist loadgroup: the tests that measure a
server's memory, threads or throughput, or load the machine themselves, are one group, so they
run on one worker one after another and never measure each other.
"""
from __future__ import annotations

import os
import socket

PG_ENV = "SOCPASS_TEST_DATABASE_URL"
LOCAL_PG = ("127.0.0.1", 5432)
LOCAL_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def local_postgres_answers(timeout: float = 0.5) -> bool:
    """A quick probe: the port first (no wait when nothing listens), then a real sign-in."""
    try:
        socket.create_connection(LOCAL_PG, timeout=timeout).close()
    except OSError:
        return False
    try:
        import psycopg

        with psycopg.connect(LOCAL_PG_URL.replace("+psycopg", ""), connect_timeout=2):
            return True
    except Exception:  # refused, needs a password, not PostgreSQL: not usable unattended
        return False


def pytest_configure(config) -> None:
    if not os.environ.get(PG_ENV) and local_postgres_answers():
        os.environ[PG_ENV] = LOCAL_PG_URL  # subprocesses of the tests see it too


# The tests that measure memory, threads, latency or throughput, or load both cores themselves.
ONE_AT_A_TIME = ("tests/load/", "tests/test_bench_smoke.py", "tests/e2e/test_hostile_images.py",
                 "tests/e2e/test_slow_clients.py", "tests/issuer/test_serve.py",
                 "tests/issuer/test_gunicorn.py", "tests/faults/", "tests/issuer/test_prefork.py")


def pytest_collection_modifyitems(config, items) -> None:
    import pytest

    for item in items:
        path = item.nodeid.split("::", 1)[0]
        if path.startswith(ONE_AT_A_TIME):
            item.add_marker(pytest.mark.xdist_group("one-at-a-time"))
