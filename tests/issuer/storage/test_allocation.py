"""The allocation query whose SQL differs between SQLite and PostgreSQL gives the same answers on both."""
from __future__ import annotations

from issuer.service import IssuerService
from issuer.storage import allocation

from tests.issuer.helpers import make_data


def test_status_indexes_taken_names_only_the_held_ones(service: IssuerService) -> None:
    held = {service.issue("large_family", make_data())["status"]["idx"]
            for n in range(3)}
    free = [idx for idx in range(64) if idx not in held][:5]
    with service.store.read() as session:
        assert allocation.status_indexes_taken(session, "1", [*free, *held]) == held
        assert allocation.status_indexes_taken(session, "1", free) == set()
        assert allocation.status_indexes_taken(session, "2", sorted(held)) == set()
