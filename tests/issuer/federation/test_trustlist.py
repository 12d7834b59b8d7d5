"""The federal operator's use cases (issuer/federation/trustlist.py), without the network."""
from __future__ import annotations

import json

import pytest

from issuer.federation.trustlist import Federation, FederationError
from shared.publication import ROOTS_PATH, TRUST_LIST_PATH
from shared.trustlist import verify_trust_list
from tests.verifier.fakeissuer import NOW, FakeIssuer
from verifier.roots import load_roots


@pytest.fixture
def fed(tmp_path):
    f = Federation(tmp_path / "home", b"pass")
    f.init("RU-FED", "Минтруд России")
    return f


def test_add_from_a_publication_suspend_remove_publish(fed, tmp_path):
    a = FakeIssuer(iss="RU-27", region="27")
    b = FakeIssuer(iss="RU-25", region="25", url="https://szn.primorsky.example")
    a.add_key()  # current and next key: both thumbprints go into the list
    fed.add(str(a.publish(tmp_path / "a")), name="Хабаровский край")
    fed.add(str(b.publish(tmp_path / "b")), name="Приморский край")
    fed.suspend("RU-25")
    out = fed.publish(tmp_path / "pub", NOW, bundle=False)
    assert out["seq"] == 1
    roots = load_roots(tmp_path / "pub" / ROOTS_PATH)
    tl = verify_trust_list((tmp_path / "pub" / TRUST_LIST_PATH).read_text().strip(), roots, now=NOW)
    assert [e.iss for e in tl.active()] == ["RU-27"]
    assert tl.entry("RU-27").url == a.url and len(tl.entry("RU-27").key_thumbprints) == 2
    assert tl.entry("RU-25").status == "suspended" and tl.entry("RU-25").name == "Приморский край"
    fed.remove("RU-25")
    fed.publish(tmp_path / "pub", NOW + 1, bundle=False)
    tl = verify_trust_list((tmp_path / "pub" / TRUST_LIST_PATH).read_text().strip(), roots)
    assert tl.sequence == 2 and [e.iss for e in tl.issuers] == ["RU-27"]


def test_state_file_is_private_and_root_encrypted(fed):
    assert fed.path.stat().st_mode & 0o077 == 0
    assert "ENCRYPTED" in json.loads(fed.path.read_text())["roots"][0]["pem"]
    with pytest.raises(FederationError, match="(?i)passphrase"):
        Federation(fed.path.parent.parent, b"wrong").publish(fed.path.parent / "x", NOW)


def test_init_twice_and_unknown_region(fed):
    with pytest.raises(FederationError, match="exists"):
        fed.init("RU-FED", "again")
    with pytest.raises(FederationError, match="no region"):
        fed.suspend("RU-99")
    with pytest.raises(FederationError, match="needs iss"):
        fed.add(iss="RU-1")


def test_rules_are_validated(fed):
    good = {"visitors": {"museum": {"rules": [{"type": "large_family", "entitlement": {
        "kind": "free_entry", "persons": "family", "text_ru": "Бесплатно"}}]}}}
    assert fed.set_rules(good) == good
    with pytest.raises(FederationError):
        fed.set_rules({"visitors": {"museum": {"rules": [{"type": "nope"}]}}})
    with pytest.raises(FederationError):
        fed.set_rules({"residents": {}})
