"""CSV import: encodings, delimiters, date forms, idempotence, line-numbered errors, batches."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from issuer.importer import import_csv
from issuer.service import IssuerService
from issuer.storage import queries
from shared.errors import InputError

from tests.issuer.helpers import holder

HEADER = "type;registry_id;family_name;given_name;patronymic;birth_date;children;category;region;valid_until"
RU_HEADER = "тип;номер;фамилия;имя;отчество;дата рождения;дети;категория;регион;действует до"
ROWS = [
    "large_family;LF-1;Иванова;Мария;Петровна;1988-04-12;4;;27;2031-05-31",
    "large_family;LF-2;Ким;Алексей;;1983-11-02;3;;27;2030-12-31",
    "beneficiary;B-1;Соколов;Виктор;Иванович;1971-02-23;;disability_1;27;2029-01-31",
    "beneficiary;B-2;Петрова;Галина;Николаевна;1956-07-30;;pensioner;27;2032-07-30",
]


def csv_bytes(rows: list[str], *, header: str = HEADER, delimiter: str = ";", encoding: str = "utf-8",
              newline: str = "\n") -> bytes:
    lines = [header, *rows]
    text = newline.join(line.replace(";", delimiter) for line in lines) + newline
    return text.encode(encoding)


def run(service: IssuerService, data: bytes, tmp_path: Path, **kw) -> dict:
    path = tmp_path / "registry.csv"
    path.write_bytes(data)
    return service.import_csv(path, **kw)


def counts(summary: dict) -> tuple[int, int, int]:
    return summary["issued"], summary["updated"], summary["unchanged"]


def live(service: IssuerService, registry_id: str):
    with service.store.read() as session:
        return queries.live_credential(session, registry_id)


def test_import_issues_then_reimport_changes_nothing(service: IssuerService, tmp_path: Path) -> None:
    first = run(service, csv_bytes(ROWS), tmp_path)
    assert counts(first) == (4, 0, 0) and first["errors"] == []
    cred = service.credential(live(service, "LF-1").id)
    assert cred["data"]["holder"]["family_name"] == "Иванова" and cred["data"]["children"] == 4
    assert live(service, "B-1").type == "beneficiary"
    again = run(service, csv_bytes(ROWS), tmp_path)
    assert counts(again) == (0, 0, 4) and again["errors"] == []


def test_changed_row_is_updated_and_the_old_credential_revoked(service: IssuerService, tmp_path: Path) -> None:
    run(service, csv_bytes(ROWS), tmp_path)
    old_id = live(service, "LF-1").id
    changed = [ROWS[0].replace(";4;", ";5;"), *ROWS[1:]]
    summary = run(service, csv_bytes(changed), tmp_path)
    assert counts(summary) == (0, 1, 3)
    new = live(service, "LF-1")
    assert new.id != old_id and service.credential(new.id)["data"]["children"] == 5
    old = service.credential(old_id)
    assert (old["state"], old["reason"], old["replaced_by"]) == ("revoked", "replaced", new.id)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1251"])
@pytest.mark.parametrize("delimiter", [";", ","])
def test_encodings_and_delimiters(service: IssuerService, tmp_path: Path, encoding: str, delimiter: str) -> None:
    summary = run(service, csv_bytes(ROWS, delimiter=delimiter, encoding=encoding, newline="\r\n"), tmp_path)
    assert counts(summary) == (4, 0, 0), summary["errors"]
    assert service.credential(live(service, "LF-2").id)["data"]["holder"] == {
        "family_name": "Ким", "given_name": "Алексей", "birth_date": "1983-11-02"}


def test_russian_header_names_and_values_and_spreadsheet_dates(service: IssuerService, tmp_path: Path) -> None:
    rows = ["Многодетная семья;LF-9;Семёнова;Ольга;Ивановна;01.02.1990;3;;27;31.12.2030",
            "льготник;B-9;Орлов;Павел;;5.3.1950;;Пенсионер;5;1.1.2031"]
    summary = run(service, csv_bytes(rows, header=RU_HEADER, encoding="cp1251"), tmp_path)
    assert counts(summary) == (2, 0, 0), summary["errors"]
    lf = service.credential(live(service, "LF-9").id)["data"]
    assert (lf["type"], lf["holder"]["birth_date"], lf["valid_until"]) == ("large_family", "1990-02-01", "2030-12-31")
    b = service.credential(live(service, "B-9").id)["data"]
    assert (b["category"], b["region"], b["holder"]["birth_date"]) == ("pensioner", "05", "1950-03-05")


def test_broken_rows_are_reported_by_line_and_the_others_land(service: IssuerService, tmp_path: Path) -> None:
    rows = [
        ROWS[0],                                                                  # line 2
        "large_family;BAD-1;Иванова;Мария;;1988-13-45;4;;27;2031-05-31",          # 3 bad date
        "beneficiary;BAD-2;Иванова;Мария;;1988-04-12;;astronaut;27;2031-05-31",   # 4 category
        "large_family;BAD-3;Иванова;Мария;;1988-04-12;4;27;2031-05-31",           # 5 columns
        "",                                                                       # 6 blank
        "large_family;BAD-4;;Мария;;1988-04-12;4;;27;2031-05-31",                 # 7 empty name
        "pilot;BAD-5;Иванова;Мария;;1988-04-12;4;;27;2031-05-31",                 # 8 type
        "large_family;BAD-6;Иванова;Мария;;1988-04-12;2;;27;2031-05-31",          # 9 children
        ROWS[1],                                                                  # 10
    ]
    summary = run(service, csv_bytes(rows), tmp_path)
    assert counts(summary) == (2, 0, 0)
    errors = {e["line"]: e["message"] for e in summary["errors"]}
    assert sorted(errors) == [3, 4, 5, 7, 8, 9]
    assert "birth_date" in errors[3] and "дата рождения" in errors[3]
    assert "category" in errors[4]
    assert "10" in errors[5] and "9" in errors[5]
    assert "family_name" in errors[7]
    assert "large_family" in errors[8]
    assert "children" in errors[9]
    assert all(" / " in message for message in errors.values())  # Russian / English
    for registry_id in ("LF-1", "LF-2"):
        assert live(service, registry_id) is not None
    assert all(live(service, f"BAD-{i}") is None for i in range(1, 7))


def test_line_numbers_count_physical_lines(service: IssuerService, tmp_path: Path) -> None:
    rows = ['large_family;"LF-Q";"Иванова";"Мария";"Петровна";1988-04-12;4;"многострочное\nполе";27;2031-05-31',
            "large_family;BAD;Иванова;Мария;;1988-04-12;4;;27;2031-99-31"]
    summary = run(service, csv_bytes(rows), tmp_path)
    assert summary["issued"] == 1
    assert [e["line"] for e in summary["errors"]] == [4]


def test_a_cp1251_line_in_a_utf8_file_is_reported(service: IssuerService, tmp_path: Path) -> None:
    # Blank lines (skipped, but counted) push the stray line beyond the chunk used for detection.
    padding = b"\n" * 70_000
    data = csv_bytes(ROWS[:1]) + padding + ROWS[2].encode("cp1251") + b"\n" + ROWS[3].encode() + b"\n"
    summary = run(service, data, tmp_path)
    assert counts(summary) == (2, 0, 0)
    assert [e["line"] for e in summary["errors"]] == [70_003]
    assert "encoding" in summary["errors"][0]["message"]


def test_utf8_lines_in_a_cp1251_file_are_not_read_as_mojibake(service: IssuerService, tmp_path: Path) -> None:
    data = csv_bytes(ROWS[:2]) + ROWS[2].encode("cp1251") + b"\n" + ROWS[3].encode("utf-8") + b"\n"
    summary = run(service, data, tmp_path)
    assert counts(summary) == (1, 0, 0)
    assert [e["line"] for e in summary["errors"]] == [2, 3, 5]
    assert live(service, "B-1") is not None and live(service, "LF-1") is None


@pytest.mark.parametrize("data,needle", [
    (b"", "empty"),
    (b"\n\n", "empty"),
    (b"type;registry_id;family_name\nlarge_family;X;Y\n", "birth_date"),
    ((HEADER + ";region\n").encode(), "repeated"),
])
def test_unusable_files_are_refused(service: IssuerService, tmp_path: Path, data: bytes, needle: str) -> None:
    with pytest.raises(InputError) as info:
        run(service, data, tmp_path)
    assert needle in info.value.description and info.value.code == "invalid_csv"


def test_batches_commit_and_progress_is_reported(service: IssuerService, tmp_path: Path) -> None:
    rows = [f"large_family;LF-{i};Иванова;Мария;;1988-04-12;4;;27;2031-05-31" for i in range(7)]
    rows.insert(3, "large_family;LF-X;Иванова;Мария;;1988-04-12;4;;27;bad")
    seen: list[int] = []
    summary = import_csv(service.ctx, io.BytesIO(csv_bytes(rows)), progress=seen.append, batch_size=2)
    assert counts(summary) == (7, 0, 0) and [e["line"] for e in summary["errors"]] == [5]
    assert seen == sorted(seen) and seen[-1] == 8 and len(seen) >= 4


class _Pipe(io.RawIOBase):
    """A stream that cannot seek (a pipe, an upload)."""

    def __init__(self, data: bytes) -> None:
        self._buf = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        chunk = self._buf.read(min(len(b), 7))
        b[:len(chunk)] = chunk
        return len(chunk)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1251"])
def test_non_seekable_stream(service: IssuerService, encoding: str) -> None:
    summary = service.import_csv(_Pipe(csv_bytes(ROWS, encoding=encoding)))  # type: ignore[arg-type]
    assert counts(summary) == (4, 0, 0), summary["errors"]


def test_suspended_credential_is_not_silently_replaced(service: IssuerService, tmp_path: Path) -> None:
    run(service, csv_bytes(ROWS), tmp_path)
    service.suspend(live(service, "LF-1").id, "проверка")
    unchanged = run(service, csv_bytes(ROWS), tmp_path)
    assert counts(unchanged) == (0, 0, 4)
    changed = run(service, csv_bytes([ROWS[0].replace(";4;", ";6;")]), tmp_path)
    assert counts(changed) == (0, 0, 0)
    assert changed["errors"][0]["line"] == 2 and "reinstate" in changed["errors"][0]["message"]


def test_a_registry_id_issued_by_hand_is_reconciled(service: IssuerService, tmp_path: Path) -> None:
    service.issue("large_family", {"registry_id": "LF-1", "holder": holder(), "children": 4,
                                   "region": "27", "valid_until": "2031-05-31"})
    summary = run(service, csv_bytes(ROWS), tmp_path)
    assert counts(summary) == (3, 0, 1)
