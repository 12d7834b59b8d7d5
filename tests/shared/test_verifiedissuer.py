"""One issuer's publication checked as a whole (shared/verifiedissuer.py): what sync, the cache
load and the federal bundle all rely on. The cache's own view of it: tests/verifier/test_cache.py."""
from __future__ import annotations

import pytest

from shared.verifiedissuer import PublicationRefused, VerifiedIssuer, verify_issuer
from tests.verifier.fakeissuer import FakeIssuer


def entry(issuer: FakeIssuer, **changes) -> dict:
    doc = {"source": "/pub", "metadata": issuer.metadata(), "jwks": issuer.jwks(),
           "status_lists": {issuer.list_uri(): issuer.status_token()}}
    doc.update(changes)
    return doc


def test_a_good_publication_verifies():
    issuer = FakeIssuer()
    doc = entry(issuer)
    got = verify_issuer(issuer.iss, doc)
    assert isinstance(got, VerifiedIssuer)
    assert got.iss == issuer.iss and got.source == "/pub" and got.document is doc
    assert [k.kid for k in got.keys] == [issuer.kid] and got.entitlements is None
    assert got.status_lists[issuer.list_uri()].issuer == issuer.iss


@pytest.mark.parametrize("change, reason", [
    (lambda i: {"extra": 1}, "entry must have exactly"),
    (lambda i: {"source": 7}, "wrong type"),
    (lambda i: {"metadata": {"iss": "x"}}, "name missing"),
    (lambda i: {"metadata": dict(i.metadata(), iss="RU-99")}, "names another issuer"),
    (lambda i: {"jwks": {"keys": []}}, "at least one key"),
    (lambda i: {"status_lists": {}}, "differ from those its metadata lists"),
    (lambda i: {"status_lists": {i.list_uri(): 7}}, "is not a token"),
    (lambda i: {"status_lists": {i.list_uri(): i.status_token(key=FakeIssuer().key, kid=i.kid)}},
     "refused"),
    (lambda i: {"status_lists": {i.list_uri(): i.status_token(issuer="RU-99")}}, "refused"),
])
def test_a_bad_publication_is_refused_naming_the_issuer(change, reason):
    issuer = FakeIssuer()
    with pytest.raises(PublicationRefused, match=reason) as err:
        verify_issuer(issuer.iss, entry(issuer, **change(issuer)))
    assert err.value.description.startswith(f"issuer {issuer.iss!r}: ")
