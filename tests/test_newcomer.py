"""A newcomer's `make test` on a fresh clone: no system tool beyond the documented ones, the
local PostgreSQL used when it answers, every skip's reason in the summary."""
from __future__ import annotations

import os
import re
import socket
from pathlib import Path

from tests import conftest

ROOT = Path(__file__).resolve().parents[1]


def test_no_test_needs_poppler():
    users = [p for p in (ROOT / "tests").rglob("*.py")
             if p != Path(__file__) and re.search(r"""["']pdftoppm["']""", p.read_text("utf-8"))]
    assert users == []
    assert "poppler" not in (ROOT / ".ci" / "run").read_text("utf-8")


def test_make_test_shows_why_tests_skipped():
    target = re.search(r"^test:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text("utf-8"), re.M)
    assert target and "-rs" in target.group(1)


def test_the_local_postgres_is_found_or_quickly_given_up(monkeypatch):
    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    monkeypatch.setattr(conftest, "LOCAL_PG", ("127.0.0.1", closed))
    assert conftest.local_postgres_answers() is False


def test_the_tests_use_a_postgres_when_one_answers():
    if conftest.local_postgres_answers():
        assert os.environ.get(conftest.PG_ENV)
