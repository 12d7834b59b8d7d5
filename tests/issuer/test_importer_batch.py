"""The import's batch path: bulk writes with the row-by-row outcomes, its fallback, its indexes."""
from __future__ import annotations

import io
import json
from collections import Counter
from dataclasses import replace

import pytest
from sqlalchemy import select, text

from issuer import issuance
from issuer.config import Settings
from issuer.importer import import_csv
from issuer.service import IssuerService
from issuer.statusalloc import StatusAllocator
from issuer.storage import queries
from issuer.storage.models import CredentialRow, Event
from shared.errors import InputError

from tests.issuer.helpers import ISSUER_NAME, ISSUER_URL, FakeClock, make_data
from tests.issuer.test_importer import counts, csv_bytes, live


def family(registry_id: str, *, children: int = 4, name: str = "Иванова",
           valid_until: str = "2031-05-31") -> str:
    return f"large_family;{registry_id};{name};Мария;Петровна;1988-04-12;{children};;27;{valid_until}"


def do_import(service: IssuerService, rows: list[str], batch_size: int = 1000) -> dict:
    return import_csv(service.ctx, io.BytesIO(csv_bytes(rows)), batch_size=batch_size)


def no_row_by_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the importer falls back to the row-by-row path."""
    def refuse(*args, **kwargs):
        raise AssertionError("the batch fell back to the row-by-row path")
    monkeypatch.setattr(issuance, "reconcile_one", refuse)


def credentials(service: IssuerService) -> list[CredentialRow]:
    with service.store.read() as session:
        return list(session.scalars(select(CredentialRow).order_by(CredentialRow.issued_at)))


def assert_consistent(service: IssuerService) -> None:
    """Audit chain intact, no index twice, at most one live credential per registry_id."""
    assert service.audit.verify()["ok"]
    rows = credentials(service)
    assert len({(r.status_list_id, r.status_idx) for r in rows}) == len(rows)
    live_ids = Counter(r.registry_id for r in rows if r.state != "revoked")
    assert all(n == 1 for n in live_ids.values())


def test_a_large_file_lands_in_bulk_and_its_reimport_is_all_unchanged(
        service: IssuerService, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [family(f"LF-{i:05d}") for i in range(2500)]
    no_row_by_row(monkeypatch)
    first = do_import(service, rows)
    assert counts(first) == (2500, 0, 0) and first["errors"] == []
    again = do_import(service, rows)
    assert counts(again) == (0, 0, 2500) and again["errors"] == []
    assert len(credentials(service)) == 2500
    with service.store.read() as session:
        issued = [e for e in queries.events(session) if e.action == "issue"]
    # One event per issuance, in the order of the file.
    assert [json.loads(e.detail)["registry_id"] for e in issued] == [f"LF-{i:05d}" for i in range(2500)]
    assert_consistent(service)


def test_changed_rows_are_replaced_in_bulk(service: IssuerService, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [family(f"LF-{i}") for i in range(30)]
    do_import(service, rows)
    old = {r.registry_id: r.id for r in credentials(service)}
    with service.store.read() as session:
        version = queries.get_status_list(session, "1").version
    no_row_by_row(monkeypatch)
    changed = [family(f"LF-{i}", children=5) if i % 2 else rows[i] for i in range(30)]
    summary = do_import(service, changed)
    assert counts(summary) == (0, 15, 15)
    for i in range(1, 30, 2):
        new = live(service, f"LF-{i}")
        assert new.id != old[f"LF-{i}"] and json.loads(new.data)["children"] == 5
        was = service.credential(old[f"LF-{i}"])
        assert (was["state"], was["reason"], was["replaced_by"]) == ("revoked", "replaced", new.id)
    with service.store.read() as session:
        assert queries.get_status_list(session, "1").version > version  # verifiers see the revocations
        actions = [(e.action, e.credential_id) for e in queries.events(session)][-30:]
    # Each replacement: the old one's revocation, then the new one's issuance.
    assert actions[0] == ("revoke", old["LF-1"]) and actions[1][0] == "issue"
    assert_consistent(service)


def test_a_registry_id_twice_in_one_batch(service: IssuerService, monkeypatch: pytest.MonkeyPatch) -> None:
    no_row_by_row(monkeypatch)
    rows = [family("LF-1"), family("LF-2"), family("LF-1", children=5), family("LF-2"), family("LF-3")]
    summary = do_import(service, rows)
    # As row by row: LF-1 issued then updated (the later row wins), LF-2 issued then unchanged.
    assert counts(summary) == (3, 1, 1) and summary["errors"] == []
    assert json.loads(live(service, "LF-1").data)["children"] == 5
    assert len(credentials(service)) == 4
    assert_consistent(service)


def refuse_writing(monkeypatch: pytest.MonkeyPatch, family_name: str = "Сломанова",
                   message: str = "строка не записана / the row could not be written") -> None:
    """Rows of holders named `family_name` pass reading and fail while written, in bulk and row
    by row alike (the name's search key is made in both)."""
    real = issuance.search_key

    def search_key(text: str) -> str:
        if text.startswith(family_name):
            raise InputError(message)
        return real(text)

    monkeypatch.setattr(issuance, "search_key", search_key)


def test_a_broken_row_in_a_batch_is_reported_and_the_others_land(
        service: IssuerService, monkeypatch: pytest.MonkeyPatch) -> None:
    """A row refused while writing (not while reading the file): the batch is redone row by row."""
    refuse_writing(monkeypatch)
    rows = [family("LF-1"), family("LF-2"), family("LF-3", name="Сломанова"), family("LF-4")]
    summary = do_import(service, rows)
    assert counts(summary) == (3, 0, 0)
    assert summary["errors"] == [{"line": 4, "message": "строка не записана / the row could not be written"}]
    assert live(service, "LF-3") is None and len(credentials(service)) == 3
    assert_consistent(service)


def test_a_suspended_credential_in_a_batch_is_refused_alone(
        service: IssuerService, monkeypatch: pytest.MonkeyPatch) -> None:
    do_import(service, [family("LF-1"), family("LF-2")])
    service.suspend(live(service, "LF-1").id, "проверка")
    no_row_by_row(monkeypatch)
    summary = do_import(service, [family("LF-1", children=6), family("LF-2", children=6), family("LF-3")])
    assert counts(summary) == (1, 1, 0)
    assert [e["line"] for e in summary["errors"]] == [2] and "reinstate" in summary["errors"][0]["message"]
    assert_consistent(service)


def test_taken_and_repeated_random_indexes_are_drawn_again(
        service: IssuerService, monkeypatch: pytest.MonkeyPatch) -> None:
    service.ctx.randbelow = lambda n: 7
    first = service.issue("large_family", make_data())
    assert first["status"]["idx"] == 7
    draws = iter([7, 7, 9, 9, 11, 7, 13])
    service.ctx.randbelow = lambda n: next(draws) % n
    no_row_by_row(monkeypatch)
    summary = do_import(service, [family("LF-1"), family("LF-2"), family("LF-3")])
    assert counts(summary) == (3, 0, 0)
    # 7 is taken; 9 and 11 at the first draw, 13 at the second, in the order drawn.
    assert [live(service, f"LF-{i}").status_idx for i in (1, 2, 3)] == [9, 11, 13]
    assert_consistent(service)


def test_an_index_taken_by_another_process_meanwhile_is_retried(
        service: IssuerService, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check for taken indexes misses one (another process inserted it since): the bulk
    insert fails on the unique constraint, and the batch is redone row by row, which retries."""
    service.ctx.randbelow = lambda n: 5
    service.issue("large_family", make_data())
    draws = iter([5, 6, 8] + list(range(100, 200)))
    service.ctx.randbelow = lambda n: next(draws) % n
    real_draw = StatusAllocator.draw

    def stale_draw(self, session, list_id, size, count):  # returns a taken index, unchecked
        return [self.randbelow(size) for _ in range(count)]

    monkeypatch.setattr(StatusAllocator, "draw", stale_draw)
    summary = do_import(service, [family("LF-1"), family("LF-2"), family("LF-3")])
    assert counts(summary) == (3, 0, 0) and summary["errors"] == []
    assert 5 not in {live(service, f"LF-{i}").status_idx for i in (1, 2, 3)}
    assert len(credentials(service)) == 4
    with service.store.read() as session:
        assert queries.get_status_list(session, "1").allocated == 4  # the failed bulk counted nothing
    monkeypatch.setattr(StatusAllocator, "draw", real_draw)
    assert_consistent(service)


def test_batch_indexes_are_not_in_row_order(service: IssuerService) -> None:
    do_import(service, [family(f"LF-{i:03d}") for i in range(200)])
    idx = [live(service, f"LF-{i:03d}").status_idx for i in range(200)]
    assert idx != sorted(idx) and len(set(idx)) == 200 and max(idx) > 1000


def test_a_batch_fills_a_list_to_half_then_opens_the_next(settings: Settings, clock: FakeClock,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    small = replace(settings, status_list_size=16)
    with IssuerService.open(small, clock=clock) as svc:
        svc.init_issuer("RU-27", ISSUER_NAME, ISSUER_URL)
        svc.issue("large_family", make_data())
        no_row_by_row(monkeypatch)
        summary = do_import(svc, [family(f"LF-{i}") for i in range(19)])
        assert counts(summary) == (19, 0, 0)
        with svc.store.read() as session:
            per_list = Counter(session.scalars(select(CredentialRow.status_list_id)))
            lists = {r.id: r.allocated for r in queries.status_lists(session)}
        assert per_list == {"1": 8, "2": 8, "3": 4} and lists == {"1": 8, "2": 8, "3": 4}
        assert_consistent(svc)


def test_events_of_a_batch_are_chained_after_earlier_ones(service: IssuerService) -> None:
    service.issue("large_family", make_data())
    do_import(service, [family("LF-1"), family("LF-2")])
    service.issue("large_family", make_data())
    with service.store.read() as session:
        chain = list(session.scalars(select(Event).order_by(Event.id)))
    assert [e.action for e in chain] == ["init", "issue", "issue", "issue", "issue"]
    assert all(b.prev_hash == a.hash for a, b in zip(chain, chain[1:]))
    assert_consistent(service)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # PostgreSQL keeps timestamps typed
def test_bulk_rows_keep_timestamps_as_the_orm_writes_them(service: IssuerService) -> None:
    """SQLite keeps timestamps as text and compares them as text: a bulk-inserted row must spell
    them as a row written through the ORM does, or a range (links export `--since`) misses it."""
    by_hand = service.issue("large_family", make_data())["id"]
    do_import(service, [family("LF-1")])
    imported = live(service, "LF-1").id
    with service.store.read() as session:
        spelled = dict(session.execute(text("SELECT id, issued_at || '|' || expires_at || '|' || "
                                            "updated_at FROM credentials")).all())
        events = {row[0]: row[1] for row in session.execute(
            text("SELECT credential_id, at FROM events WHERE action = 'issue'"))}
    assert len(spelled[imported]) == len(spelled[by_hand])
    assert spelled[imported].split("|")[0] == spelled[by_hand].split("|")[0]  # the same clock
    assert len(events[imported]) == len(events[by_hand])
