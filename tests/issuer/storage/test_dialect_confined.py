"""Only issuer.storage knows which database it runs on (issue 15).

Read from the source, not from the imports: a dialect shows in code that names it
(`dialect.name == "postgresql"`), in the dialects' own types and keywords (`ARRAY`,
`sqlite_where=`), in SQL written for one of them (`PRAGMA`, `json_each`, `pg_...`) and in their
drivers (`sqlite3`, `psycopg`). Docstrings and comments may talk about databases; code outside
issuer/storage/ may not speak to one in particular. The drivers and Alembic are also kept out by
an import contract (.importlinter); import-linter cannot forbid `sqlalchemy.dialects`, an external
package's subpackage, hence this test.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
ISSUER = ROOT / "issuer"
STORAGE = ISSUER / "storage"

DIALECT_MODULES = ("sqlalchemy.dialects", "sqlite3", "psycopg", "psycopg2")
DIALECT_NAMES = {"dialect", "get_backend_name", "driver_connection", "ARRAY", "JSONB",
                 "json_each", "json_extract", "unnest"}
DIALECT_KEYWORD = re.compile(r"^(sqlite|postgresql)_")
# SQL keywords in capitals, as every statement here is written: "read from stdin" is prose.
DIALECT_SQL = re.compile(r"^(?i:sqlite|postgresql)$|\bPRAGMA\b|\bpg_\w+|\bjson_each\b|\bunnest\b"
                         r"|\bFROM STDIN\b|\bILIKE\b|\bBEGIN IMMEDIATE\b|\bsqlite_master\b")



def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                found.add(id(body[0].value))
    return found


def dialect_code(source: str) -> list[str]:
    """Where `source` speaks to one database in particular: "line: what" for each place."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        what = None
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
            what = next((n for n in names if n.startswith(DIALECT_MODULES)), None)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith(DIALECT_MODULES):
                what = node.module
            elif any(alias.name in DIALECT_NAMES for alias in node.names):
                what = f"{node.module} import " + ", ".join(a.name for a in node.names)
        elif isinstance(node, ast.Attribute) and node.attr in DIALECT_NAMES:
            what = "." + node.attr
        elif isinstance(node, ast.Name) and node.id in DIALECT_NAMES:
            what = node.id
        elif isinstance(node, ast.keyword) and node.arg and DIALECT_KEYWORD.match(node.arg):
            what = node.arg + "="
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docstrings and DIALECT_SQL.search(node.value):
            what = repr(node.value[:60])
        if what is not None:
            found.append((getattr(node, "lineno", 0), what))
    return [f"{line}: {what}" for line, what in sorted(found)]


def issuer_sources() -> list[Path]:
    return sorted(p for p in ISSUER.rglob("*.py") if STORAGE not in p.parents)


def test_no_module_outside_storage_speaks_a_dialect() -> None:
    offenders = {}
    for path in issuer_sources():
        name = path.relative_to(ROOT).as_posix()
        found = dialect_code(path.read_text(encoding="utf-8"))
        if found:
            offenders[name] = found
    assert offenders == {}


def test_the_storage_package_is_where_the_dialects_are() -> None:
    # The scan sees the code it exists to keep in place (it is not blind to the real source).
    assert dialect_code((STORAGE / "engine.py").read_text(encoding="utf-8"))
    assert dialect_code((STORAGE / "queries.py").read_text(encoding="utf-8"))


@pytest.mark.parametrize("source", [
    "if session.get_bind().dialect.name == 'postgresql':\n    pass\n",
    "from sqlalchemy.dialects.postgresql import ARRAY\n",
    "import sqlalchemy.dialects.sqlite\n",
    "from sqlalchemy import ARRAY, String\n",
    "import sqlite3\n",
    "def f():\n    import psycopg\n",
    "Index('ix', 'state', sqlite_where=text(\"state = 'active'\"))\n",
    "op.create_index('ix', 't', ['c'], postgresql_using='gin')\n",
    "conn.exec_driver_sql('PRAGMA foreign_keys')\n",
    "q = text('SELECT 1 FROM credentials, unnest(:ids)')\n",
    "stmt = select(func.json_each(x))\n",
    "session.execute(text('SELECT pg_advisory_xact_lock(1)'))\n",
    "backend = 'sqlite'\n",
    "raw = conn.connection.driver_connection\n",
])
def test_the_check_finds_dialect_code(source: str) -> None:
    assert dialect_code(source), source


def test_the_check_lets_prose_and_plain_sqlalchemy_be() -> None:
    source = ('"""On PostgreSQL the search uses pg_trgm; on SQLite a PRAGMA sets the cache."""\n'
              "from sqlalchemy import select, func\n"
              "# sqlite: json_each would do here\n"
              "def f(session, url='sqlite:///var/issuer.db'):\n"
              '    """Counts rows (PostgreSQL or SQLite alike)."""\n'
              "    return session.scalar(select(func.count()))\n")
    assert dialect_code(source) == []
