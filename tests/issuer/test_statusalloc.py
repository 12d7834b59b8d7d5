"""Status index allocation: random, unique (also across processes), new list at half full."""
from __future__ import annotations

import subprocess
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from issuer.config import Settings
from issuer.service import IssuerService
from issuer.statusalloc import AllocationError
from issuer.storage import queries
from issuer.storage.models import CredentialRow

from tests.issuer.helpers import ISSUER_CLI, ISSUER_NAME, ISSUER_URL, FakeClock, make_data, subprocess_env


def placements(svc: IssuerService) -> list[tuple[str, int]]:
    with svc.store.read() as session:
        return [(r.status_list_id, r.status_idx) for r in session.scalars(select(CredentialRow))]


def scripted(values: list[int]):
    """A `randbelow` that returns the given values in order (to force collisions)."""
    it = iter(values)
    return lambda n: next(it) % n


def test_indexes_are_random_and_unique(service: IssuerService) -> None:
    for _ in range(60):
        service.issue("large_family", make_data())
    taken = placements(service)
    idx = [i for _, i in taken]
    assert len(set(taken)) == 60
    assert sorted(idx) != list(range(60))  # not sequential
    assert max(idx) > 600  # spread over the list (4096 entries), not packed at its start


def test_a_collision_is_retried_without_losing_the_transaction(service: IssuerService) -> None:
    service.ctx.randbelow = scripted([7, 7, 7, 9])
    a = service.issue("large_family", make_data())
    b = service.issue("large_family", make_data())  # 7 is taken twice over, then 9
    assert (a["status"]["idx"], b["status"]["idx"]) == (7, 9)
    assert service.credential(b["id"])["state"] == "valid"


def test_allocation_gives_up_when_it_cannot_find_room(service: IssuerService) -> None:
    service.ctx.randbelow = lambda n: 3
    service.issue("large_family", make_data())
    with pytest.raises(AllocationError):
        service.issue("large_family", make_data())


def test_a_new_list_opens_when_one_is_half_full(settings: Settings, clock: FakeClock) -> None:
    small = replace(settings, status_list_size=16)
    with IssuerService.open(small, clock=clock) as svc:
        svc.init_issuer("RU-27", ISSUER_NAME, ISSUER_URL)
        results = [svc.issue("large_family", make_data()) for _ in range(20)]
        per_list = Counter(list_id for list_id, _ in placements(svc))
        assert per_list == {"1": 8, "2": 8, "3": 4}
        assert svc.status_list_ids() == ["1", "2", "3"]
        assert [r["status"]["uri"] for r in results[-4:]] == [f"{ISSUER_URL}/status/3"] * 4
        assert svc.metadata().status_lists == tuple(f"{ISSUER_URL}/status/{i}" for i in "123")


def _csv(path: Path, prefix: str, rows: int) -> Path:
    lines = ["type;registry_id;family_name;given_name;patronymic;birth_date;children;category;region;valid_until"]
    lines += [f"large_family;{prefix}-{i:05d};Иванова;Мария;Петровна;1988-04-12;4;;27;2031-05-31"
              for i in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_two_processes_allocating_at_once(env: dict[str, str], tmp_path: Path) -> None:
    """Two imports into one database at the same moment: every credential lands, no index twice.

    Lists of 256 entries (128 usable each) make both processes also open new lists concurrently.
    """
    penv = subprocess_env(env | {"SOCPASS_STATUS_LIST_SIZE": "256"})
    init = subprocess.run([str(ISSUER_CLI), "init", "--issuer-id", "RU-27", "--name", ISSUER_NAME,
                           "--url", ISSUER_URL], env=penv, capture_output=True, text=True, timeout=60)
    assert init.returncode == 0, init.stderr
    files = [_csv(tmp_path / f"{p}.csv", p, 300) for p in ("A", "B")]
    procs = [subprocess.Popen([str(ISSUER_CLI), "import", str(f)], env=penv, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for f in files]
    outputs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err
        assert '"issued": 300' in out and '"errors": []' in out
    with IssuerService.open(Settings.from_env(env)) as svc:
        taken = placements(svc)
        with svc.store.read() as session:
            lists = queries.status_lists(session)
    assert len(taken) == 600 and len(set(taken)) == 600
    assert all(lst.allocated <= lst.size // 2 for lst in lists)
    per_list = Counter(list_id for list_id, _ in taken)
    assert all(n <= 128 for n in per_list.values()) and sum(per_list.values()) == 600
