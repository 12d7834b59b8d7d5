"""Federated sync from directories (no network) and the per-region visitors' rules."""
from __future__ import annotations

import pytest

from issuer.federation.trustlist import Federation
from shared.publication import ROOTS_PATH
from tests.verifier.fakeissuer import NOW, FakeIssuer
from verifier.devicestatus import device_status
from verifier import cache
from verifier.config import Settings
from verifier.federated import federation_report, sync_federated
from verifier.roots import load_roots
from verifier.service import Verifier
from verifier.sync import SyncError

RULES = {"visitors": {
    "museum": {"rules": [{"type": "large_family", "entitlement": {
        "kind": "free_entry", "persons": "family", "text_ru": "Бесплатно для семей из любого региона"}}]},
    "transport": {"rules": []}}}  # transport discounts: residents only


@pytest.fixture
def world(tmp_path):
    khv = FakeIssuer(iss="RU-27", region="27", url="https://szn.khv.example")
    prim = FakeIssuer(iss="RU-25", region="25", url="https://szn.primorsky.example")
    fed = Federation(tmp_path / "fed", b"pass")
    fed.init("RU-FED", "Минтруд России")
    dirs = {}
    for iss, name in ((khv, "Хабаровский край"), (prim, "Приморский край")):
        dirs[iss.iss] = iss.publish(tmp_path / iss.iss)
        fed.add(str(dirs[iss.iss]), name=name, url=str(dirs[iss.iss]))
    fed.set_rules(RULES)
    fed.publish(tmp_path / "pub", NOW)
    roots = load_roots(tmp_path / "pub" / ROOTS_PATH)
    return khv, prim, tmp_path / "pub", roots


def _verifier(tmp_path, roots, **env):
    settings = Settings.from_env({"SOCPASS_HOME": str(tmp_path / "venue"), **env})
    return settings, lambda: Verifier(cache.load(settings.cache_dir, roots), settings)


@pytest.mark.parametrize("via_bundle", [False, True])
def test_visitors_get_the_federal_rules(world, tmp_path, via_bundle):
    khv, prim, pub, roots = world
    settings, make = _verifier(tmp_path, roots, SOCPASS_VENUE_REGION="27")
    summary = sync_federated(str(pub), settings.cache_dir, NOW, roots, bundle=via_bundle)
    assert summary["failed"] == []
    v = make()
    resident = v.verify_text(khv.qr(), NOW).to_json()
    visitor = v.verify_text(prim.qr(), NOW).to_json()
    assert resident["code"] == visitor["code"] == "valid"
    assert resident["entitlement"]["source"] == "builtin"
    assert visitor["entitlement"]["source"] == "federal"
    assert visitor["entitlement"]["text_ru"] == "Бесплатно для семей из любого региона"
    assert visitor["credential"]["region_name"] == "Приморский край"
    report = device_status(v, NOW)
    assert {r["region"] for r in report["federation"]["regions"]} == {"27", "25"}


def test_transport_only_for_residents(world, tmp_path):
    khv, prim, pub, roots = world
    settings, make = _verifier(tmp_path, roots, SOCPASS_VENUE_REGION="27",
                               SOCPASS_VENUE_PROFILE="transport")
    sync_federated(str(pub), settings.cache_dir, NOW, roots)
    v = make()
    assert v.verify_text(khv.qr(), NOW).code == "valid"
    assert v.verify_text(prim.qr(), NOW).code == "not_entitled"


def test_cache_needs_the_pinned_roots_and_names_every_key(world, tmp_path):
    khv, prim, pub, roots = world
    settings, _ = _verifier(tmp_path, roots)
    sync_federated(str(pub), settings.cache_dir, NOW, roots)
    with pytest.raises(cache.CacheError, match="SOCPASS_TRUST_ROOTS"):
        cache.load(settings.cache_dir)
    loaded = cache.load(settings.cache_dir, roots)
    assert federation_report(loaded, NOW)["seq"] == 1


def test_no_roots_no_federated_sync(world, tmp_path):
    _, _, pub, _ = world
    with pytest.raises(SyncError, match="SOCPASS_TRUST_ROOTS"):
        sync_federated(str(pub), tmp_path / "c", NOW, None)
