"""The one issuance decision, as the single issue and the import take it; the context it runs in."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from issuer.errors import AlreadyIssued, InvalidState
from issuer.issuance import ISSUED, UNCHANGED, UPDATED, decide_import, decide_issue
from issuer.service import IssuerService

NOW = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
LATER, EARLIER = NOW + timedelta(days=1), NOW - timedelta(days=1)


def live(*, expires_at: datetime = LATER, state: str = "valid", data_hash: str = "h") -> SimpleNamespace:
    """A live credential as store.live_by_registry_id returns it."""
    return SimpleNamespace(id="OLD", registry_id="LF-1", expires_at=expires_at, state=state,
                           data_hash=data_hash, status_list_id="1")


@pytest.mark.parametrize(("found", "replace", "outcome"), [
    (None, False, ISSUED),
    (None, True, ISSUED),
    (live(), True, UPDATED),
    (live(state="suspended"), True, UPDATED),  # an operator's replace may replace a suspended one
    (live(expires_at=EARLIER), False, UPDATED),  # an expired one is replaced without asking
    (live(expires_at=NOW), False, UPDATED),
])
def test_a_single_issue(found, replace, outcome) -> None:
    assert decide_issue(found, "LF-1", now=NOW, replace=replace) == outcome


def test_a_single_issue_keeps_a_live_credential_unless_asked() -> None:
    with pytest.raises(AlreadyIssued, match="LF-1.*OLD.*--replace"):
        decide_issue(live(), "LF-1", now=NOW, replace=False)


@pytest.mark.parametrize(("found", "outcome"), [
    (None, ISSUED),
    (live(), UNCHANGED),
    (live(state="suspended"), UNCHANGED),  # nothing to write, so nothing to refuse
    (live(data_hash="other"), UPDATED),
    (live(expires_at=EARLIER), UPDATED),  # same data, but expired: issued again
])
def test_an_import_row(found, outcome) -> None:
    assert decide_import(found, "h", now=NOW) == outcome


@pytest.mark.parametrize("found", [live(state="suspended", data_hash="other"),
                                   live(state="suspended", expires_at=EARLIER)])
def test_an_import_does_not_replace_a_suspended_credential(found) -> None:
    with pytest.raises(InvalidState, match="reinstate"):
        decide_import(found, "h", now=NOW)


def test_acting_as_is_another_actor_over_the_same_store_and_keys(service: IssuerService) -> None:
    other = service.acting_as("user:olga")
    assert (other.ctx.actor, service.ctx.actor) == ("user:olga", "test")
    assert other.store is service.store and other.ctx.keyring is service.ctx.keyring
    assert other.ctx.tz == service.ctx.tz and other.status_tokens is service.status_tokens


def test_the_clock_must_be_aware(service: IssuerService) -> None:
    service.ctx.clock = lambda: datetime(2026, 3, 1, 12)
    with pytest.raises(ValueError, match="aware"):
        service.ctx.now()
