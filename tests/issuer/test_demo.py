"""`make run`'s first start, without starting servers."""
from __future__ import annotations

import json
from pathlib import Path

from issuer import demo
from issuer.config import Settings
from issuer.service import IssuerService
from shared.publication import JWKS_PATH, METADATA_PATH


def test_first_start_then_restart(tmp_path: Path, capsys) -> None:
    settings = Settings.from_env({"SOCPASS_HOME": str(tmp_path), "SOCPASS_DEMO": "true",
                                  "SOCPASS_STATUS_LIST_SIZE": "4096"})
    demo_dir, publish_dir = tmp_path / "demo", tmp_path / "publish"
    issued = demo.prepare(settings, demo_dir, publish_dir)
    assert [i["state"] for i in issued] == ["valid", "valid", "valid", "revoked"]
    assert {i["type"] for i in issued} == {"large_family", "beneficiary"}
    for item in issued:
        for ext in ("png", "pdf", "txt"):
            assert (demo_dir / f"{item['name']}.{ext}").stat().st_size > 0
    assert (publish_dir / METADATA_PATH).exists() and (publish_dir / JWKS_PATH).exists()
    assert (publish_dir / "status" / "1").exists()
    meta = json.loads((publish_dir / METADATA_PATH).read_text("utf-8"))
    assert meta["iss"] == "RU-27" and meta["url"] == "http://127.0.0.1:8000"

    again = demo.prepare(settings, demo_dir, publish_dir)  # second start: nothing new is issued
    assert again == issued
    with IssuerService.open(settings) as svc:
        assert svc.issuer_info()["name"] == demo.ISSUER_NAME
        assert len(svc.keys()["keys"]) == 1

    demo.print_guide(issued, demo_dir, publish_dir, has_verifier=False)
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8000/" in out and str(demo_dir) in out
    qr_text = (demo_dir / f"{issued[0]['name']}.txt").read_text().strip()
    assert qr_text in out


def test_verifier_detection_is_a_bool() -> None:
    assert isinstance(demo.verifier_available(), bool)


def test_the_demo_verifier_refreshes_from_the_running_issuer(capsys, monkeypatch) -> None:
    monkeypatch.delenv("SOCPASS_SYNC_INTERVAL", raising=False)
    env = demo.verifier_env({"SOCPASS_HOME": "var"})
    assert env["SOCPASS_SYNC_SOURCES"] == demo.ISSUER_URL
    assert env["SOCPASS_SYNC_INTERVAL"] == "30"
    assert demo.verifier_env({"SOCPASS_SYNC_INTERVAL": "5"})["SOCPASS_SYNC_INTERVAL"] == "5"
    demo.print_guide([], Path("demo"), Path("publish"), has_verifier=True)
    assert "каждые 30 с" in capsys.readouterr().out
