"""The federal app (issue 13): `socpass-issuer federation publish` writes it under scan/ with the
pinned roots; opened from a static server it syncs every listed region from the root-signed
bundle and accepts a credential of any of them, then does so offline."""
from __future__ import annotations

import subprocess
import time

import pytest

from tests.browser.app_shell_harness import ISSUER_CLI, StaticServer
from tests.browser.test_app_offline import cold_start, install, verdict
from tests.verifier.fakeissuer import DAY, FakeIssuer

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def two_regions(tmp_path, now):
    """Two regions published into directories, with lists signed now (the app decides at the
    tablet's clock), and a federation over them made with the federal operator's commands."""
    made = []
    for iss, region, name in (("RU-27", "27", "Хабаровский край"), ("RU-25", "25", "Приморский край")):
        issuer = FakeIssuer(iss=iss, region=region, url=f"https://szn{region}.example", list_iat=now - 60)
        folder = issuer.publish(tmp_path / iss)
        made.append((issuer, folder, name))
    env = {"SOCPASS_HOME": str(tmp_path / "fed"), "SOCPASS_KEY_PASSPHRASE": "pass",
           "SOCPASS_LOG_LEVEL": "ERROR", "PATH": "/usr/bin:/bin"}

    def cli(*args):
        done = subprocess.run([ISSUER_CLI, "federation", *args], env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr

    cli("init", "--iss", "RU-FED", "--name", "Минтруд России")
    for _, folder, name in made:
        # the bundle is made from what the region publishes: here a directory, not https://
        cli("add", str(folder), "--name", name, "--url", str(folder))
    cli("publish", "--out", str(tmp_path / "site"))
    return [issuer for issuer, _, _ in made]


def fresh(issuer, now):
    return issuer.qr(issuer.credential(issued_at=now - DAY, expires_at=now + 365 * DAY))


def test_federal_app_syncs_every_region_and_accepts_a_listed_one(playwright_instance, tmp_path):
    now = int(time.time())
    khv, prim = two_regions(tmp_path, now)
    site = tmp_path / "site"
    server = StaticServer(site)
    profile = tmp_path / "profile"
    try:
        context, page, _ = install(playwright_instance, profile, server.url + "/scan/?venue=museum")
        try:
            page.evaluate("window.socpass.ready")
            status = page.evaluate("window.socpass.status()")
            regions = {r["region"]: r for r in status["federation"]["regions"]}
            assert set(regions) == {"27", "25"} and all(r["cached"] for r in regions.values())
            assert sorted(i["iss"] for i in status["issuers"]) == ["RU-25", "RU-27"]
            for issuer in (khv, prim):
                result = page.evaluate("t => window.socpass.verify(t)", fresh(issuer, now))
                assert (result["verdict"], result["code"]) == ("accept", "valid"), result
                assert result["credential"]["issuer_region"] == issuer.region
            stranger = fresh(FakeIssuer(iss="RU-99", region="99", url="https://szn99.example"), now)
            assert page.evaluate("t => window.socpass.verify(t)", stranger)["code"] == "untrusted_issuer"
            # The bundle is what was fetched: one file for every region, nothing from the regions' sites.
            data = [path for path, _, _ in server.requests() if not path.startswith("/scan/")]
            assert data == ["/.well-known/socpass-bundle.jwt"]
        finally:
            context.close()
    finally:
        server.stop()

    context, page = cold_start(playwright_instance, profile, server.url + "/scan/")
    try:
        page.evaluate("window.socpass.ready")
        page.keyboard.type(fresh(prim, now))
        page.keyboard.press("Enter")
        assert verdict(page) == "ПРИНЯТО"
    finally:
        context.close()
