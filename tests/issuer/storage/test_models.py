"""The tables' own guards: the constraints that keep concurrent writers honest, and timestamps
that are always aware UTC."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from issuer.service import IssuerService
from issuer.storage import queries
from issuer.storage.engine import Store
from issuer.storage.errors import Conflict
from issuer.storage.models import CredentialRow

from tests.issuer.helpers import make_data

NOW = datetime(2025, 3, 10, 9, 30, tzinfo=timezone.utc)


def _row(service: IssuerService, **overrides) -> CredentialRow:
    with service.store.read() as session:
        base = queries.get_credential(session, overrides.pop("copy_of"))
    values = {c.key: getattr(base, c.key) for c in CredentialRow.__table__.columns}
    values.update(overrides)
    return CredentialRow(**values)


def test_database_refuses_two_live_credentials_for_one_registry_id(service: IssuerService) -> None:
    data = make_data()
    first = service.issue("large_family", data)
    dup = _row(service, copy_of=first["id"], id="X" * 16, status_idx=(first["status"]["idx"] + 1) % 4096)
    with pytest.raises(Conflict):
        with service.store.write() as session:
            session.add(dup)
    # Once the first is revoked, a new live one is allowed (the index is partial).
    service.revoke(first["id"], "test")
    with service.store.write() as session:
        session.add(dup)


def test_database_refuses_a_status_index_twice(service: IssuerService) -> None:
    first = service.issue("large_family", make_data())
    clash = _row(service, copy_of=first["id"], id="Y" * 16, registry_id="OTHER-1")
    with pytest.raises(Conflict):
        with service.store.write() as session:
            session.add(clash)


def test_naive_datetimes_are_refused(db_url: str) -> None:
    with Store(db_url) as s:
        with pytest.raises(Exception, match="naive"), s.write() as session:
            queries.add_event(session, at=NOW.replace(tzinfo=None), actor="t", action="probe")
