"""The console's search at registry scale: by name (case, ё/е and spaces ignored), registry id,
credential id and status, each through an index on SQLite and on PostgreSQL (pg_trgm, or a
prefix index where the extension cannot be created); the migration that builds them."""
from __future__ import annotations

import uuid

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL

from issuer.config import Settings
from issuer.registry import search_key
from issuer.service import IssuerService
from issuer.storage.engine import MIGRATIONS_DIR, Store
from issuer.storage.queries import search_statement

from tests.issuer.conftest import _conninfo, _empty_pg
from tests.issuer.helpers import ISSUER_NAME, ISSUER_URL, holder, make_data

NAMES = [("Кузнецова", "Елена", "Андреевна"), ("Ёлкин", "Пётр", None), ("Иванова", "Мария", "Петровна"),
         ("Кузьмин", "Олег", "Ильич"), ("Римская-Корсакова", "Анна", None)]


@pytest.fixture
def holders(service: IssuerService) -> dict[str, dict]:
    issued = {}
    for n, (family, given, patronymic) in enumerate(NAMES):
        data = make_data(registry_id=f"KHV-S-{n:04d}",
                         holder=holder(family_name=family, given_name=given, patronymic=patronymic))
        issued[family] = service.issue("large_family", data)
    service.revoke(issued["Кузьмин"]["id"], "переезд")
    return issued


def found(service: IssuerService, query: str = "", **kw) -> set[str]:
    return {item["id"] for item in service.search_credentials(query, **kw)["items"]}


def test_by_part_of_surname_registry_id_and_status(service: IssuerService, holders) -> None:
    ids = {name: holders[name]["id"] for name in holders}
    assert found(service, "кузн") == {ids["Кузнецова"]}
    assert found(service, "КУЗ") == {ids["Кузнецова"], ids["Кузьмин"]}
    assert found(service, "  кузнецова   елена ") == {ids["Кузнецова"]}  # spaces collapsed
    assert found(service, "Елкин") == found(service, "ёлкин") == {ids["Ёлкин"]}  # ё as е
    assert found(service, "KHV-S-000") == set(ids.values())  # registry id prefix
    assert found(service, "KHV-S-0002") == {ids["Иванова"]}
    assert found(service, ids["Ёлкин"]) == {ids["Ёлкин"]}  # credential id
    assert found(service, "", state="revoked") == {ids["Кузьмин"]}
    assert found(service, "куз", state="valid") == {ids["Кузнецова"]}
    assert found(service, "куз", state="suspended") == set()
    assert found(service, "%") == found(service, "_") == set()  # no wildcards
    assert service.search_credentials("куз")["total"] == 2


def test_any_part_of_the_name_with_trigrams(service: IssuerService, holders) -> None:
    """PostgreSQL with pg_trgm finds the middle of a name; SQLite, the beginning only."""
    ids = {name: holders[name]["id"] for name in holders}
    middle = found(service, "корсакова")
    if service.store.name_search_mode() == "trigram":
        assert middle == {ids["Римская-Корсакова"]} and found(service, "знецов") == {ids["Кузнецова"]}
    else:
        assert service.store.dialect == "sqlite" and middle == set()


def plan(service: IssuerService, query: str, state: str | None = None, *, force: bool = True) -> str:
    mode = service.store.name_search_mode()
    count, page = search_statement(query=query, name=search_key(query), state=state, ctype=None,
                                   mode=mode)
    lines = []
    with service.store.engine.begin() as conn:
        for stmt in (count, page.limit(50)):
            sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
            if conn.dialect.name == "sqlite":
                rows = conn.execute(text("EXPLAIN QUERY PLAN " + sql)).all()
                lines += [row[-1] for row in rows]
            else:
                # The index must serve the query; whether a tiny test table is read through it is
                # the planner's business, so sequential scans are priced out.
                if force:
                    conn.execute(text("SET LOCAL enable_seqscan = off"))
                lines += [row[0] for row in conn.execute(text("EXPLAIN " + sql))]
    return "\n".join(lines)


def test_the_name_search_uses_its_index(service: IssuerService, holders) -> None:
    name_plan = plan(service, "кузнецова")
    assert "ix_credentials_search_name" in name_plan, name_plan
    assert "SCAN credentials\n" not in name_plan + "\n" and "Seq Scan" not in name_plan
    registry_plan = plan(service, "KHV-S-00")
    assert "ix_credentials_registry_id" in registry_plan, registry_plan
    status_plan = plan(service, "", state="suspended")
    assert "ix_credentials_state_issued_at" in status_plan, status_plan
    if service.store.dialect == "postgresql":
        assert service.store.name_search_mode() == "trigram"
        assert "Bitmap Index Scan on ix_credentials_search_name" in plan(service, "знецов")


@pytest.mark.postgres
def test_postgres_picks_the_trigram_index_by_itself_at_scale(pg_admin, tmp_path, clock) -> None:
    """20,000 credentials with varied names, statistics gathered: no forcing needed."""
    conn, url = pg_admin
    _empty_pg(conn)
    settings = Settings.from_env({"SOCPASS_HOME": str(tmp_path), "SOCPASS_DATABASE_URL": url,
                                  "SOCPASS_KEY_PASSPHRASE": "x" * 20})
    with IssuerService.open(settings, clock=clock) as svc:
        svc.init_issuer("RU-27", ISSUER_NAME, ISSUER_URL)
        first = svc.issue("large_family", make_data(registry_id="SCALE-0"))
        conn.execute(
            "INSERT INTO credentials (id, registry_id, type, data, data_hash, kid, status_list_id,"
            " status_idx, state, issued_at, expires_at, updated_at, token, search_name) "
            "SELECT 'x' || i, 'SCALE-' || i, type, data, data_hash, kid, status_list_id, 2000000 + i,"
            " state,"
            " issued_at, expires_at, updated_at, token, 'фамилия' || md5(i::text) || ' имя'"
            " FROM credentials, generate_series(1, 20000) AS i WHERE id = %s", (first["id"],))
        conn.execute("ANALYZE credentials")
        assert "ix_credentials_search_name" in plan(svc, "фамилия" + "c4ca4238a0b9", force=False)
        assert len(svc.search_credentials("c4ca4238a0b9")["items"]) == 1


@pytest.mark.postgres
def test_without_pg_trgm_the_search_falls_back_to_a_prefix_index(pg_server_url: URL, tmp_path,
                                                                 clock) -> None:
    """A role that may create tables but not extensions: the migration still succeeds, with a
    text_pattern_ops index, and the search finds names by their beginning."""
    suffix = uuid.uuid4().hex[:8]
    role, database = f"socpass_noext_{suffix}", f"socpass_noext_{suffix}"
    with psycopg.connect(**_conninfo(pg_server_url), autocommit=True) as server:
        server.execute(f'CREATE ROLE "{role}" LOGIN')
        server.execute(f'CREATE DATABASE "{database}"')
    try:
        with psycopg.connect(**_conninfo(pg_server_url, database), autocommit=True) as db:
            db.execute(f'GRANT CREATE, USAGE ON SCHEMA public TO "{role}"')
        url = pg_server_url.set(drivername="postgresql+psycopg", database=database, username=role,
                                password=None).render_as_string(hide_password=False)
        settings = Settings.from_env({"SOCPASS_HOME": str(tmp_path), "SOCPASS_DATABASE_URL": url,
                                      "SOCPASS_KEY_PASSPHRASE": "x" * 20})
        with IssuerService.open(settings, clock=clock) as svc:
            assert svc.store.name_search_mode() == "prefix"
            svc.init_issuer("RU-27", ISSUER_NAME, ISSUER_URL)
            cid = svc.issue("large_family", make_data(holder=holder(family_name="Кузнецова")))["id"]
            assert found(svc, "кузнецова") == found(svc, "Кузн") == {cid}
            assert found(svc, "знецов") == set()
            assert "ix_credentials_search_name" in plan(svc, "кузн")
            svc.store.close()
    finally:
        with psycopg.connect(**_conninfo(pg_server_url), autocommit=True) as server:
            server.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            server.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_migration_0003_fills_missing_names_and_goes_down_and_up(service: IssuerService,
                                                                 db_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    cid = service.issue("large_family", make_data(holder=holder(family_name="Ёжикова")))["id"]
    with service.store.engine.begin() as conn:
        conn.execute(text("UPDATE credentials SET search_name = NULL"))
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with service.store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002")
    with Store(db_url) as again, again.read() as session:
        assert session.execute(text("SELECT search_name FROM credentials")).scalar() == \
            "ежикова мария петровна"
    assert found(service, "Ежикова Мар") == {cid}
    assert service.audit.verify()["ok"]
