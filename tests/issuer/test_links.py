"""Citizens' links: one for every registry entry with its first credential (issue, import, API),
derived from a sealed key so they can be exported again, stored as hashes only; the bulk export
(CLI, console, API): streamed, filtered, audited, never for an auditor."""
from __future__ import annotations

import csv
import io
import json
import os
import stat
from datetime import timedelta

import pytest
from sqlalchemy import event, select, text

import issuer.links
import issuer.storage.queries
from issuer.importer import import_csv
from issuer.linkkey import derive_secret, secret_hash, unseal
from issuer.links import ExportFilter
from issuer.service import IssuerService
from issuer.storage.models import Issuer, WalletLink
from shared.errors import InputError, KeyError_

from tests.issuer.helpers import ISSUER_URL, PASSPHRASE, make_data
from tests.issuer.test_importer import csv_bytes
from tests.issuer.web import csrf_from, form_post, text as page_text


def family(registry_id: str, children: int = 4) -> str:
    return f"large_family;{registry_id};Иванова;Мария;Петровна;1988-04-12;{children};;27;2031-05-31"


def export(service: IssuerService, **filters) -> list[dict[str, str]]:
    rows, lines = service.links.export(ExportFilter(**filters), channel="cli")
    parsed = list(csv.DictReader(io.StringIO("".join(lines))))
    assert len(parsed) == rows
    return parsed


def path_of(url: str) -> str:
    assert url.startswith(ISSUER_URL + "/w/")
    return url.removeprefix(ISSUER_URL)


def test_every_credential_gets_a_link_that_opens_its_page(service: IssuerService, console_app) -> None:
    issued = service.issue("large_family", make_data())
    info = service.links.link_info(issued["id"])
    assert info is not None and info["generation"] == 1 and info["exportable"]
    [row] = export(service)
    assert row["state"] == "valid" and row["url"] == service.links.url_of(issued["id"])
    client = console_app.test_client()
    assert "Иванова Мария Петровна" in page_text(client.get(path_of(row["url"])))


def test_an_imported_registry_gets_a_link_per_entry_in_bulk(service: IssuerService, console_app,
                                                            monkeypatch) -> None:
    statements: list[str] = []
    bulk_inserts: list[int] = []
    real_insert_many = issuer.storage.queries.insert_many

    def counting_insert_many(session, table, rows):
        if table.name == "wallet_links":
            bulk_inserts.append(len(rows))
        return real_insert_many(session, table, rows)

    monkeypatch.setattr(issuer.storage.queries, "insert_many", counting_insert_many)
    listener = lambda conn, cursor, sql, *args: statements.append(sql)  # noqa: E731
    event.listen(service.store.engine, "before_cursor_execute", listener)
    try:
        summary = import_csv(service.ctx, io.BytesIO(csv_bytes([family(f"LF-{i:03d}") for i in range(40)])),
                             batch_size=10)
    finally:
        event.remove(service.store.engine, "before_cursor_execute", listener)
    assert summary["issued"] == 40
    # One bulk insert per batch of 10 makes the batch's links; no query per row, nor per batch
    # (new registry entries cannot have a link: the unique index is the only one asked).
    assert bulk_inserts == [10, 10, 10, 10]
    assert not any("wallet_links" in sql for sql in statements)
    rows = export(service)
    assert sorted(r["registry_id"] for r in rows) == [f"LF-{i:03d}" for i in range(40)]
    assert len({r["url"] for r in rows}) == 40
    client = console_app.test_client()
    for row in rows[::13]:
        response = client.get(path_of(row["url"]))
        assert response.status_code == 200 and "Действует" in page_text(response)
    # A reissue keeps the citizen's link; a re-import makes no new one; an entry whose every
    # credential was revoked keeps its link when it comes back (the unique index says so).
    before = {r["registry_id"]: r["url"] for r in rows}
    service.revoke(service.search_credentials("LF-002")["items"][0]["id"], "ошибка")
    summary = import_csv(service.ctx, io.BytesIO(csv_bytes([family("LF-000", children=6),
                                                        family("LF-001"), family("LF-002"),
                                                        family("LF-NEW")])))
    assert (summary["issued"], summary["updated"], summary["unchanged"]) == (2, 1, 1)
    after = {r["registry_id"]: r["url"] for r in export(service)}
    assert all(after[rid] == url for rid, url in before.items()) and len(after) == 41
    with service.store.read() as session:
        assert session.scalar(select(WalletLink).where(WalletLink.generation > 1)) is None


def test_only_the_hash_is_stored_and_the_key_is_sealed(service: IssuerService) -> None:
    issued = service.issue("large_family", make_data())
    url = service.links.url_of(issued["id"])
    secret = url.rsplit("/", 1)[1]
    with service.store.engine.connect() as conn:
        dump = " ".join(str(v) for table in ("wallet_links", "events", "issuer")
                        for row in conn.execute(text(f"SELECT * FROM {table}")) for v in row)
    assert secret not in dump and secret_hash(secret) in dump
    with service.store.read() as session:
        sealed = session.get(Issuer, 1).link_key_sealed
        key = unseal(sealed, PASSPHRASE.encode())
        link = session.scalars(select(WalletLink)).one()
    assert sealed.startswith("scrypt-aesgcm$") and key.hex() not in sealed
    assert derive_secret(key, link.registry_id, 1) == secret  # derived: it can be exported again
    with pytest.raises(KeyError_) as err:
        unseal(sealed, b"another passphrase")
    assert err.value.code == "bad_passphrase"


def test_secrets_differ_by_entry_and_generation() -> None:
    key = b"k" * 32
    secrets_ = {derive_secret(key, rid, gen) for rid in ("A", "A1", "1", "") for gen in (1, 2, 11)}
    assert len(secrets_) == 12 and all(len(s) == 22 for s in secrets_)
    assert derive_secret(key, "A", 11) != derive_secret(key, "A1", 1)  # no field run-together


def test_new_link_replaces_and_switch_off_removes_it_from_the_export(service: IssuerService,
                                                                      console_app) -> None:
    issued = service.issue("large_family", make_data())
    old = export(service)[0]["url"]
    new = service.links.new_link(issued["id"])
    [row] = export(service)
    assert row["url"] == new["url"] != old and new["generation"] == 2
    client = console_app.test_client()
    assert client.get(path_of(old)).status_code == 404
    service.links.revoke_links(issued["id"])
    assert export(service) == []
    assert client.get(path_of(new["url"])).status_code == 404
    # Switched off stays off: a reissue does not bring a link back; an operator can.
    service.reissue(issued["id"], {**service.credential(issued["id"])["data"], "children": 5})
    assert export(service) == []
    assert service.links.new_link(issued["id"])["generation"] == 3


def test_state_column_and_filters(service: IssuerService, clock) -> None:
    a = service.issue("large_family", make_data(registry_id="F-A"))
    b = service.issue("large_family", make_data(registry_id="F-B"))
    service.issue("large_family", make_data(registry_id="F-C", valid_until="2025-03-20"))
    service.suspend(b["id"], "проверка")
    clock.advance(days=20)
    states = {r["registry_id"]: r["state"] for r in export(service)}
    assert states == {"F-A": "valid", "F-B": "suspended", "F-C": "expired"}
    # Since: entries whose link is new or whose credential was issued or changed since that day.
    service.revoke(a["id"], "переезд")
    service.issue("large_family", make_data(registry_id="F-D"))
    today = service.today()
    assert {r["registry_id"]: r["state"] for r in export(service, since=today)} == {
        "F-A": "revoked", "F-D": "valid"}
    assert export(service, since=today + timedelta(days=1)) == []
    assert [r["registry_id"] for r in export(service, registry_ids=("F-C", "nope"))] == ["F-C"]


def test_the_export_is_audited_without_secrets(service: IssuerService) -> None:
    for n in range(3):
        service.issue("large_family", make_data(registry_id=f"AU-{n}"))
    rows = export(service)
    export(service, registry_ids=("AU-1",))
    events = service.audit.events(action="links_export")
    assert [e["detail"]["rows"] for e in events] == [1, 3]
    assert events[0]["detail"]["registry_ids"] == ["AU-1"] and events[1]["detail"]["registry_ids"] is None
    assert events[0]["actor"] == "test" and events[0]["detail"]["channel"] == "cli"
    dump = json.dumps(service.audit.events(), ensure_ascii=False)
    assert all(r["url"].rsplit("/", 1)[1] not in dump for r in rows)


def test_the_csv_is_streamed_in_chunks(service: IssuerService, monkeypatch) -> None:
    monkeypatch.setattr(issuer.links, "CHUNK", 4)
    import_csv(service.ctx, io.BytesIO(csv_bytes([family(f"S-{i:02d}") for i in range(10)])))
    rows, lines = service.links.export(ExportFilter(), channel="cli")
    assert not isinstance(lines, (list, tuple, str))  # a generator, read as the client reads
    pieces = list(lines)
    assert rows == 10 and len(pieces) == 1 + 3  # the header, then 4 + 4 + 2 rows
    assert pieces[0] == "registry_id,url,state\n"


def test_registry_ids_that_a_spreadsheet_would_run_are_quoted(service: IssuerService) -> None:
    """Such an id is refused today (issuer.registry's pattern); one kept from before the
    pattern is still quoted when it is exported."""
    with pytest.raises(InputError, match="1-64 letters"):
        service.issue("large_family", make_data(registry_id="=HYPERLINK(1)"))
    issued = service.issue("large_family", make_data())
    with service.store.engine.begin() as conn:
        conn.execute(text("UPDATE credentials SET registry_id = '=HYPERLINK(1)'"))
        conn.execute(text("UPDATE wallet_links SET registry_id = '=HYPERLINK(1)'"))
    assert issued["id"] and export(service)[0]["registry_id"] == "'=HYPERLINK(1)"


def test_links_of_credentials_from_before_are_made_at_export(service: IssuerService,
                                                             console_app) -> None:
    """Credentials issued before links were automatic (migration 0003): the export makes theirs.
    A random link made back then keeps working."""
    issued = service.issue("large_family", make_data())
    legacy = "legacy-random-link-0123456"
    with service.store.engine.begin() as conn:
        conn.execute(text("DELETE FROM wallet_links"))
        conn.execute(text("INSERT INTO wallet_links (registry_id, generation, secret_hash, created_by,"
                          " created_at) SELECT registry_id, NULL, :h, 'old', issued_at FROM credentials"),
                     {"h": secret_hash(legacy)})
    assert service.links.link_info(issued["id"])["exportable"] is False
    [row] = export(service)
    client = console_app.test_client()
    assert client.get(path_of(row["url"])).status_code == 200
    assert client.get("/w/" + legacy).status_code == 200
    assert service.links.backfill() == 0  # nothing left to make


def test_cli_links_export(service: IssuerService, env, monkeypatch, capsys, tmp_path) -> None:
    from issuer.cli import main as cli_main

    for n in range(3):
        service.issue("large_family", make_data(registry_id=f"CLI-{n}"))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    out = tmp_path / "links" / "links.csv"
    assert cli_main(["links", "export", "--out", str(out)]) == 0
    assert json.loads(capsys.readouterr().out) == {"out": str(out), "rows": 3}
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600  # bearer secrets
    assert len(list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))) == 3
    assert cli_main(["links", "export", "--registry-id", "CLI-2", "CLI-0", "--since",
                     service.today().strftime("%d.%m.%Y")]) == 0
    printed = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert sorted(r["registry_id"] for r in printed) == ["CLI-0", "CLI-2"]
    assert cli_main(["links", "export", "--since", "31.02.2025"]) == 1
    assert "invalid_date" in capsys.readouterr().err
    assert service.audit.events(action="links_export")[0]["actor"].startswith("cli:")


def test_console_export_for_operators_and_admins_only(login, service: IssuerService) -> None:
    for n in range(2):
        service.issue("large_family", make_data(registry_id=f"CON-{n}"))
    operator = login("olga")
    assert "Ссылки граждан" in page_text(operator.get("/admin/credentials"))
    response = form_post(operator, "/admin/links", data={"since": "", "registry_ids": "CON-1\nCON-9"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["registry_id"] for r in rows] == ["CON-1"]
    assert service.audit.events(action="links_export")[0]["actor"] == "user:olga"
    bad = form_post(operator, "/admin/links", data={"since": "вчера"})
    assert bad.status_code == 400 and "ГГГГ-ММ-ДД" in page_text(bad)
    assert form_post(login("boss"), "/admin/links").status_code == 200


def test_an_auditor_cannot_export_links(login, service: IssuerService) -> None:
    service.issue("large_family", make_data())
    auditor = login("anna")
    assert "Ссылки граждан" not in page_text(auditor.get("/admin/credentials"))
    assert auditor.get("/admin/links").status_code == 403
    token = csrf_from(page_text(auditor.get("/admin/credentials")))
    response = auditor.post("/admin/links", data={"csrf_token": token})
    assert response.status_code == 403 and "/w/" not in page_text(response)
    assert service.audit.events(action="links_export") == []


def test_api_links_and_wallet_url(console_app, service: IssuerService) -> None:
    token = service.api_tokens.create("portal")["token"]
    client = console_app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    issued = client.post("/api/v1/credentials", json={"type": "large_family", "data": make_data()},
                         headers=headers).get_json()
    response = client.get("/api/v1/links", headers=headers)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    [row] = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert row["url"] == issued["wallet_url"] and response.headers["X-Socpass-Rows"] == "1"
    # Asking for the link again does not replace it.
    again = client.get("/api/v1/links?registry_id=" + row["registry_id"], headers=headers)
    assert again.get_data(as_text=True) == response.get_data(as_text=True)
    assert service.audit.events(action="links_export")[0]["actor"] == "api:portal"
    bad = client.get("/api/v1/links?since=tomorrow", headers=headers)
    assert bad.status_code == 400 and bad.get_json()["error"] == "invalid_date"
    assert client.get("/api/v1/links").status_code == 401
    head = client.get("/api/v1/audit/head", headers=headers).get_json()
    assert head["head"] == service.audit.verify()["head"]


def test_a_wrong_passphrase_cannot_export_but_pages_still_open(service: IssuerService, settings,
                                                               clock, console_app) -> None:
    from dataclasses import replace

    service.issue("large_family", make_data())
    url = export(service)[0]["url"]
    with IssuerService.open(replace(settings, key_passphrase="not the passphrase"),
                            clock=clock) as other:
        with pytest.raises(KeyError_):
            list(other.links.export(ExportFilter(), channel="cli")[1])
        assert other.wallet.credential_id(url.rsplit("/", 1)[1])  # the hash needs no key
