"""The audit trail: one event per use case with before/after, a hash chain that catches edits,
append-only in the database, CSV export that a spreadsheet cannot execute."""
from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from issuer.storage import audit
from issuer.cli import main as cli_main
from issuer.service import IssuerService
from issuer.storage import queries
from shared.errors import InputError

from tests.issuer.helpers import make_data


def actions(service: IssuerService) -> list[str]:
    return [e["action"] for e in reversed(service.audit.events())]


def tamper(service: IssuerService, sql: str) -> None:
    """What a DBA could do: switch the append-only trigger off, edit, switch it back on."""
    with service.store.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE events DISABLE TRIGGER events_append_only"))
            conn.execute(text(sql))
            conn.execute(text("ALTER TABLE events ENABLE TRIGGER events_append_only"))
        else:
            conn.execute(text("DROP TRIGGER events_append_only_update"))
            conn.execute(text("DROP TRIGGER events_append_only_delete"))
            conn.execute(text(sql))


def test_every_use_case_writes_its_event(service: IssuerService) -> None:
    a = service.issue("large_family", make_data())
    service.acting_as("user:olga").suspend(a["id"], "проверка")
    service.reinstate(a["id"])
    service.revoke(a["id"], "переезд")
    service.rotate_key()
    service.accounts.add_user("pavel", "operator", "long-enough-password")
    service.api_tokens.create("реестр")
    service.links.new_link(service.issue("beneficiary", make_data("beneficiary"))["id"])
    assert actions(service) == ["init", "issue", "suspend", "reinstate", "revoke", "key_rotate",
                                "user_add", "token_create", "issue", "wallet_link"]
    suspend = next(e for e in service.audit.events() if e["action"] == "suspend")
    assert suspend["actor"] == "user:olga" and suspend["reason"] == "проверка"
    assert suspend["detail"]["before"] == "valid" and suspend["detail"]["after"] == "suspended"
    # No names, birth dates or tokens in the trail; the registry id is enough for an auditor.
    dump = json.dumps(service.audit.events(), ensure_ascii=False)
    assert "Иванова" not in dump and "1988-04-12" not in dump and a["token"][:30] not in dump
    assert a["id"] in dump


def test_event_is_in_the_same_transaction_as_the_change(service: IssuerService, monkeypatch) -> None:
    a = service.issue("large_family", make_data())
    before = len(service.audit.events())

    def boom(*args, **kwargs):
        raise RuntimeError("audit down")

    monkeypatch.setattr(queries, "add_event", boom)
    with pytest.raises(RuntimeError):
        service.revoke(a["id"], "x")
    assert service.credential(a["id"])["state"] == "valid"  # no change without its event
    monkeypatch.undo()
    assert len(service.audit.events()) == before


def test_chain_verifies_and_editing_a_row_is_detected(service: IssuerService) -> None:
    a = service.issue("large_family", make_data())
    service.revoke(a["id"], "настоящая причина")
    verified = service.audit.verify()
    last = max(e["id"] for e in service.audit.events())
    assert verified == {"ok": True, "events": 3, "first_broken": None, "problem": None,
                        "head": f"{last}:{service.audit.events()[0]['hash']}"}
    revoke_id = next(e["id"] for e in service.audit.events() if e["action"] == "revoke")
    tamper(service, f"UPDATE events SET reason = 'другая причина' WHERE id = {revoke_id}")
    result = service.audit.verify()
    assert not result["ok"] and result["first_broken"] == revoke_id
    assert "изменено" in result["problem"]


def test_deleting_a_row_is_detected(service: IssuerService) -> None:
    for _ in range(3):
        service.issue("large_family", make_data())
    ids = sorted(e["id"] for e in service.audit.events())
    tamper(service, f"DELETE FROM events WHERE id = {ids[1]}")
    result = service.audit.verify()
    assert not result["ok"] and result["first_broken"] == ids[2]


def test_the_database_refuses_updates_and_deletes(service: IssuerService) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        with service.store.engine.begin() as conn:
            conn.execute(text("UPDATE events SET actor = 'nobody'"))
    with pytest.raises(DBAPIError, match="append-only"):
        with service.store.engine.begin() as conn:
            conn.execute(text("DELETE FROM events"))
    assert service.audit.verify()["ok"]


def test_cli_audit_verify_exits_non_zero_naming_the_row(service: IssuerService, env, monkeypatch,
                                                        capsys) -> None:
    service.issue("large_family", make_data())
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert cli_main(["audit", "verify"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    first = min(e["id"] for e in service.audit.events())
    tamper(service, f"UPDATE events SET actor = 'someone-else' WHERE id = {first}")
    assert cli_main(["audit", "verify"]) == 1
    captured = capsys.readouterr()
    assert f"записи {first}" in captured.err and "audit_broken" in captured.err


def test_csv_export_is_formula_safe(service: IssuerService, env, monkeypatch, capsys, tmp_path) -> None:
    a = service.issue("large_family", make_data())
    service.revoke(a["id"], "=HYPERLINK(\"http://evil\")")
    service.acting_as("@admin").rotate_key()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    out = tmp_path / "audit.csv"
    assert cli_main(["audit", "export", "--csv", "--out", str(out)]) == 0
    assert out.stat().st_mode & 0o777 == 0o600  # registry ids and staff names: the owner's only
    raw = out.read_text(encoding="utf-8")
    assert raw.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(raw.lstrip("\ufeff"))))
    assert [r["action"] for r in rows] == ["init", "issue", "revoke", "key_rotate"]
    assert rows[2]["reason"] == "'=HYPERLINK(\"http://evil\")"
    assert rows[3]["actor"] == "'@admin"
    assert all(r["hash"] and len(r["hash"]) == 64 for r in rows)


@pytest.mark.parametrize("value,expected", [("=1+1", "'=1+1"), ("+7 900", "'+7 900"), ("-1", "'-1"),
                                            ("@SUM", "'@SUM"), ("обычный", "обычный"), (None, "")])
def test_safe_cell(value, expected) -> None:
    assert audit.safe_cell(value) == expected


# --- the head: a log cut short at its end ---------------------------------------------------


def last_ids(service: IssuerService) -> list[int]:
    return sorted(e["id"] for e in service.audit.events())


def test_deleting_the_last_row_is_detected(service: IssuerService, env, monkeypatch, capsys) -> None:
    for _ in range(2):
        service.issue("large_family", make_data())
    ids = last_ids(service)
    tamper(service, f"DELETE FROM events WHERE id = {ids[-1]}")
    result = service.audit.verify()
    assert not result["ok"] and result["first_broken"] == ids[-1]
    assert "удалены" in result["problem"] and "deleted from the end" in result["problem"]
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert cli_main(["audit", "verify"]) == 1
    assert "audit_broken" in capsys.readouterr().err


def test_a_write_after_the_cut_does_not_hide_it(service: IssuerService) -> None:
    """The next row links to the recorded head, not to what is left: the gap stays visible."""
    service.issue("large_family", make_data())
    ids = last_ids(service)
    tamper(service, f"DELETE FROM events WHERE id = {ids[-1]}")
    service.issue("large_family", make_data())
    result = service.audit.verify()
    assert not result["ok"] and result["first_broken"] >= ids[-1]


def test_a_head_kept_outside_catches_a_consistent_cut(service: IssuerService) -> None:
    """Whoever rewrites both tables cuts the end consistently; the head printed earlier and kept
    elsewhere still catches it."""
    service.issue("large_family", make_data())
    kept = service.audit.verify()["head"]
    service.issue("large_family", make_data())
    assert service.audit.verify(kept)["ok"]  # the kept row is still there: more came after it
    seq = int(kept.split(":")[0])
    tamper(service, f"DELETE FROM events WHERE id >= {seq}")
    previous = max(last_ids(service))
    prev_hash = next(e["hash"] for e in service.audit.events() if e["id"] == previous)
    with service.store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_head SET seq = :s, hash = :h"), {"s": previous, "h": prev_hash})
    assert service.audit.verify()["ok"]  # consistent: the database alone cannot tell
    result = service.audit.verify(kept)
    assert not result["ok"] and result["first_broken"] == seq and "missing" in result["problem"]


def test_the_signed_head_verifies_and_is_accepted_back(service: IssuerService) -> None:
    from shared.token import verify

    from tests.issuer.helpers import resolver_for

    service.issue("large_family", make_data())
    head = service.audit.head()
    assert head["head"] == service.audit.verify()["head"] == f"{head['seq']}:{head['hash']}"
    claims = verify(head["signed"], resolver_for(service), typ="socpass-audit-head+jwt").claims
    assert claims["audit_head"] == head["head"] and claims["iss"] == "RU-27"
    service.rotate_key()  # a head signed by a key since retired still counts
    service.issue("large_family", make_data())
    assert service.audit.verify(head["signed"])["ok"]
    header, payload, signature = head["signed"].split(".")
    forged = ".".join((header, payload, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")))
    with pytest.raises(InputError) as err:
        service.audit.verify(forged)
    assert err.value.code == "invalid_head"


@pytest.mark.parametrize("bad", ["12", "x:" + "0" * 64, "3:" + "g" * 64, "3:abc"])
def test_expect_head_must_be_seq_colon_hash(service: IssuerService, bad: str) -> None:
    with pytest.raises(InputError):
        service.audit.verify(bad)


def test_cli_audit_head_and_expect_head(service: IssuerService, env, monkeypatch, capsys) -> None:
    service.issue("large_family", make_data())
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert cli_main(["audit", "head"]) == 0
    head = json.loads(capsys.readouterr().out)
    assert head["signed"].count(".") == 2
    assert cli_main(["audit", "verify", "--expect-head", head["head"]]) == 0
    assert json.loads(capsys.readouterr().out)["head"] == head["head"]
    wrong = f"{head['seq']}:{'0' * 64}"
    assert cli_main(["audit", "verify", "--expect-head", wrong]) == 1
    assert "audit_broken" in capsys.readouterr().err


def test_the_head_row_cannot_be_deleted(service: IssuerService) -> None:
    with pytest.raises(DBAPIError, match="audit head"):
        with service.store.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_head"))
    assert service.audit.verify()["ok"]


def test_bulk_appends_move_the_head(service: IssuerService) -> None:
    import io

    from issuer.importer import import_csv

    rows = "".join(f"large_family;H-{n};Иванова;Мария;;1988-04-12;4;;27;2030-05-31\n" for n in range(30))
    import_csv(service.ctx, io.BytesIO(("type;registry_id;family_name;given_name;patronymic;birth_date;"
                                    "children;category;region;valid_until\n" + rows).encode()),
               batch_size=10)
    with service.store.read() as session:
        head = audit.read_head(session)
        assert head is not None and (head.seq, head.hash) == (max(last_ids(service)),
                                                              audit.last_hash(session))
    assert service.audit.verify()["ok"]
