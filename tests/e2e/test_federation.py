"""Across regions, real processes and real HTTP on loopback: three regional issuers (27, 25, 77)
and a federal root; one venue syncs from the trust list (or the bundle) and verifies offline."""
from __future__ import annotations

import json
import shutil
import time

import pytest

from tests.e2e.conftest import Env, free_port

REGIONS = {"27": ("RU-27", "Хабаровский край"), "25": ("RU-25", "Приморский край"),
           "77": ("RU-77", "Москва")}


def person(region: str, n: int = 1) -> dict:
    return {"registry_id": f"R{region}-LF-{n:06d}",
            "holder": {"family_name": "Иванова", "given_name": "Мария", "patronymic": "Петровна",
                       "birth_date": "1988-04-12"},
            "children": 4, "region": region, "valid_until": "2031-05-31"}


def check(venue: Env, text: str) -> dict:
    proc = venue.run("verifier", "check", "-", input=text + "\n", check=False)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


class World:
    def __init__(self, tmp_path, ttl: int = 86400) -> None:
        self.tmp = tmp_path
        self.envs: list[Env] = []
        self.fed = self.env("federal")
        self.pub = tmp_path / "fedpub"
        self.fed.json("issuer", "federation", "init", "--iss", "RU-FED",
                      "--name", "Минтруд России", "--ttl", str(ttl))
        self.issuers: dict[str, Env] = {}
        self.urls: dict[str, str] = {}
        self.creds: dict[str, dict] = {}
        for region, (iss, name) in REGIONS.items():
            env = self.env(f"region{region}")
            port = free_port()
            env.json("issuer", "init", "--issuer-id", iss, "--name", f"Минсоцзащиты: {name}",
                     "--url", f"http://127.0.0.1:{port}", "--region", region)
            self.creds[region] = env.json("issuer", "issue", "--type", "large_family", "--data",
                                          json.dumps(person(region), ensure_ascii=False))
            self.urls[region] = env.serve("issuer", port)
            self.issuers[region] = env
            self.fed.json("issuer", "federation", "add", self.urls[region], "--name", name)
        self.publish()
        self.venue = self.env("venue")
        roots = self.venue.home / "roots.json"
        roots.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.pub / "socpass-roots.json", roots)
        self.venue.env.update(SOCPASS_TRUST_ROOTS=str(roots), SOCPASS_VENUE_REGION="27")

    def env(self, name: str) -> Env:
        env = Env(self.tmp / name)
        self.envs.append(env)
        return env

    def publish(self) -> dict:
        return self.fed.json("issuer", "federation", "publish", "--out", str(self.pub))

    def sync(self, *args: str, venue: Env | None = None):
        return (venue or self.venue).run("verifier", "sync", *args, check=False)

    def cache_bytes(self, venue: Env | None = None) -> bytes:
        return ((venue or self.venue).home / "verifier" / "cache.json").read_bytes()

    def stop(self) -> None:
        for env in self.envs:
            env.stop()


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    yield w
    w.stop()


def test_three_regions_one_venue(world):
    proc = world.sync("--trust-list", str(world.pub))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert {i["iss"] for i in summary["issuers"]} == {"RU-27", "RU-25", "RU-77"}
    assert summary["failed"] == [] and summary["federation"]["seq"] == 1
    for region, (iss, name) in REGIONS.items():
        result = check(world.venue, world.creds[region]["qr_text"])
        assert (result["verdict"], result["code"]) == ("accept", "valid"), result
        assert result["credential"]["issuer"] == iss
        assert result["credential"]["region_name"] == name
        assert result["credential"]["issuer_region"] == region
    status = json.loads(world.venue.run("verifier", "status").stdout)
    regions = {r["region"]: r for r in status["federation"]["regions"]}
    assert set(regions) == set(REGIONS) and all(r["cached"] for r in regions.values())
    assert {i["region_name"] for i in status["issuers"]} == {n for _, n in REGIONS.values()}

    # A region not on the list: its credentials are untrusted.
    outsider = world.env("region41")
    outsider.json("issuer", "init", "--issuer-id", "RU-41", "--name", "Камчатка",
                  "--url", "http://127.0.0.1:9", "--region", "41")
    cred41 = outsider.json("issuer", "issue", "--type", "large_family", "--data",
                           json.dumps(person("41"), ensure_ascii=False))
    assert check(world.venue, cred41["qr_text"])["code"] == "untrusted_issuer"

    # The bundle path: one request, the same verdicts.
    other = world.env("venue2")
    other.env.update(world.venue.env | {"SOCPASS_HOME": str(other.home)})
    proc = world.sync("--bundle", str(world.pub), venue=other)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["federation"]["via"] == "bundle"
    for region in REGIONS:
        assert check(other, world.creds[region]["qr_text"])["code"] == "valid"
    assert check(other, cred41["qr_text"])["code"] == "untrusted_issuer"
    # ... and naming the bundle file itself works as a plain SOURCE
    proc = world.sync(str(world.pub / ".well-known" / "socpass-bundle.jwt"), venue=other)
    assert proc.returncode == 0, proc.stderr

    # A list signed by an unpinned key: the sync fails, the cache is kept.
    rogue = world.env("rogue")
    rogue.json("issuer", "federation", "init", "--iss", "RU-FED", "--name", "Не Минтруд")
    rogue.json("issuer", "federation", "add", world.urls["27"], "--name", "Хабаровский край")
    rogue.json("issuer", "federation", "publish", "--out", str(world.tmp / "roguepub"))
    before = world.cache_bytes()
    proc = world.sync("--trust-list", str(world.tmp / "roguepub"))
    assert proc.returncode == 1 and "unknown_key" in proc.stderr and "pinned root" in proc.stderr
    assert world.cache_bytes() == before

    # Region 25 rotates its key without the list being updated: 25 fails, the others update.
    world.issuers["25"].json("issuer", "keys", "rotate")
    new25 = world.issuers["25"].json("issuer", "issue", "--type", "large_family", "--data",
                                     json.dumps(person("25", 2), ensure_ascii=False))
    proc = world.sync("--trust-list", str(world.pub))
    assert proc.returncode == 3, proc.stderr
    summary = json.loads(proc.stdout)
    assert [f["iss"] for f in summary["failed"]] == ["RU-25"]
    assert "not named by the trust list" in summary["failed"][0]["reason"]
    assert "RU-25" in proc.stderr
    assert check(world.venue, new25["qr_text"])["code"] == "unknown_key"
    assert check(world.venue, world.creds["25"]["qr_text"])["code"] == "valid"  # old data kept
    status = json.loads(world.venue.run("verifier", "status").stdout)
    r25 = next(r for r in status["federation"]["regions"] if r["region"] == "25")
    assert r25["cached"] and "not named" in r25["sync_error"]

    # The federal operator takes the new thumbprints: 25 syncs again.
    world.fed.json("issuer", "federation", "add", world.urls["25"], "--name", "Приморский край")
    world.publish()
    proc = world.sync("--trust-list", str(world.pub))
    assert proc.returncode == 0, proc.stderr
    assert check(world.venue, new25["qr_text"])["code"] == "valid"

    # One region's server down during sync: the others are updated, that one reported.
    world.issuers["77"].stop()
    before_sync = json.loads(world.venue.run("verifier", "status").stdout)["synced_at"]
    time.sleep(1.1)
    proc = world.sync("--trust-list", str(world.pub))
    assert proc.returncode == 3
    summary = json.loads(proc.stdout)
    assert [f["iss"] for f in summary["failed"]] == ["RU-77"]
    assert summary["synced_at"] > before_sync
    assert {i["iss"] for i in summary["issuers"]} == {"RU-27", "RU-25", "RU-77"}
    assert check(world.venue, world.creds["77"]["qr_text"])["code"] == "valid"

    # A removed region and a suspended one stop verifying at the next sync.
    world.fed.json("issuer", "federation", "remove", "RU-77")
    world.fed.json("issuer", "federation", "suspend", "RU-25")
    world.publish()
    proc = world.sync("--trust-list", str(world.pub))
    assert proc.returncode == 0, proc.stderr
    assert sorted(json.loads(proc.stdout)["dropped"]) == ["RU-25", "RU-77"]
    assert check(world.venue, world.creds["77"]["qr_text"])["code"] == "untrusted_issuer"
    assert check(world.venue, world.creds["25"]["qr_text"])["code"] == "untrusted_issuer"
    assert check(world.venue, world.creds["27"]["qr_text"])["code"] == "valid"


def test_stale_trust_list_is_refused(tmp_path):
    world = World(tmp_path, ttl=4)
    try:
        proc = world.sync("--trust-list", str(world.pub))
        assert proc.returncode == 0, proc.stderr
        assert check(world.venue, world.creds["27"]["qr_text"])["code"] == "valid"
        time.sleep(4.5)
        result = check(world.venue, world.creds["27"]["qr_text"])
        assert (result["verdict"], result["code"]) == ("reject", "status_unavailable")
        assert "список доверенных регионов устарел" in result["message"]
        status = json.loads(world.venue.run("verifier", "status").stdout)
        assert status["federation"]["expired"] and status["level"] == "error"
        proc = world.sync("--trust-list", str(world.pub))
        assert proc.returncode == 1 and "expired" in proc.stderr
    finally:
        world.stop()
