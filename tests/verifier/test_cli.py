from __future__ import annotations

import importlib.util
import io
import json

import pytest
from flask import Flask

from issuer import qrrender
from shared.statuslist import REVOKED
from tests.verifier.fakeissuer import NOW, FakeIssuer
from verifier import cli

needs_qrimage = pytest.mark.skipif(importlib.util.find_spec("verifier.imaging") is None,
                                   reason="verifier.imaging (image decoding) is not written yet")


@pytest.fixture
def run(monkeypatch, tmp_path, capsys):
    """run(*argv, stdin=None) -> (exit code, parsed stdout JSON or text, stderr)."""
    monkeypatch.setenv("SOCPASS_HOME", str(tmp_path / "home"))
    for name in ("SOCPASS_VERIFIER_CACHE", "SOCPASS_VENUE_PROFILE", "SOCPASS_VENUE_POLICY",
                 "SOCPASS_LEEWAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(cli, "_clock", lambda: NOW)

    def _run(*argv: str, stdin: str | None = None):
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        status = cli.main(list(argv))
        out, err = capsys.readouterr()
        try:
            return status, json.loads(out), err
        except json.JSONDecodeError:
            return status, out, err

    return _run


@pytest.fixture
def synced_cli(run, issuer, publish):
    status, summary, _ = run("sync", str(publish(issuer)))
    assert status == 0
    return summary


def test_sync_prints_a_summary(run, issuer, publish):
    source = str(publish(issuer))
    status, summary, err = run("sync", source)
    assert status == 0 and err == ""
    assert summary["synced_at"] == NOW
    assert summary["issuers"][0]["iss"] == issuer.iss
    assert summary["issuers"][0]["keys"] == [issuer.kid]
    assert summary["issuers"][0]["status_lists"][0]["iat"] == issuer.list_iat


def test_sync_failure_exits_1_with_a_message(run, tmp_path):
    status, out, err = run("sync", str(tmp_path / "missing"))
    assert status == 1 and out == ""
    assert "sync failed" in err and str(tmp_path / "missing") in err and "unchanged" in err


def test_check_accepted_exit_0(run, synced_cli, issuer):
    status, result, _ = run("check", issuer.qr())
    assert status == 0 and result["verdict"] == "accept" and result["code"] == "valid"
    assert result["credential"]["holder"]["family_name"] == "Иванова"


def test_check_rejected_exit_1(run, issuer, publish):
    cred = issuer.credential()
    issuer.set_status(cred, REVOKED)
    run("sync", str(publish(issuer)))
    status, result, _ = run("check", issuer.qr(cred))
    assert status == 1 and result["code"] == "revoked"
    status, result, _ = run("check", "not a credential")
    assert status == 1 and result["code"] == "malformed"


def test_check_stdin_with_trailing_newline(run, synced_cli, issuer):
    status, result, _ = run("check", "-", stdin=issuer.qr() + "\n")
    assert status == 0 and result["code"] == "valid"
    status, result, _ = run("check", "-", stdin="\n")
    assert status == 1 and result["code"] == "malformed"


def test_check_without_a_cache_rejects(run, issuer):
    status, result, _ = run("check", issuer.qr())
    assert status == 1 and result["code"] == "untrusted_issuer"


def test_check_with_a_refused_cache_says_so(run, synced_cli, tmp_path, issuer):
    (tmp_path / "home" / "verifier" / "cache.json").write_text("{}", "utf-8")
    status, result, err = run("check", issuer.qr())
    assert status == 1 and result["code"] == "untrusted_issuer" and "refused" in err


@pytest.mark.parametrize("argv", [["check"], ["check", "123", "--image", "x.png"], [],
                                  ["frobnicate"], ["sync"], ["serve", "--port", "eighty"]])
def test_usage_errors_exit_2(run, argv):
    with pytest.raises(SystemExit) as exc:
        run(*argv)
    assert exc.value.code == 2


def test_bad_configuration_exits_2(run, monkeypatch):
    monkeypatch.setenv("SOCPASS_LEEWAY", "a minute")
    status, _, err = run("status")
    assert status == 2 and "SOCPASS_LEEWAY" in err


@needs_qrimage
def test_check_image(run, synced_cli, issuer, tmp_path):
    path = tmp_path / "photo.png"
    path.write_bytes(qrrender.render_png(issuer.qr()))
    status, result, _ = run("check", "--image", str(path))
    assert status == 0 and result["code"] == "valid"


@needs_qrimage
def test_check_image_errors_exit_2(run, synced_cli, tmp_path):
    status, _, err = run("check", "--image", str(tmp_path / "none.png"))
    assert status == 2 and "none.png" in err
    (tmp_path / "junk.png").write_bytes(b"junk")
    status, _, err = run("check", "--image", str(tmp_path / "junk.png"))
    assert status == 2 and "junk.png" in err


def test_status(run, synced_cli, issuer):
    status, report, _ = run("status")
    assert status == 0 and report["synced_at"] == NOW and report["ok"] is True
    assert report["issuers"][0]["kids"] == [issuer.kid]


def test_config_prints_the_effective_settings(run, tmp_path):
    status, conf, _ = run("config")
    assert status == 0
    assert conf["SOCPASS_VERIFIER_CACHE"] == str(tmp_path / "home" / "verifier")
    assert conf["SOCPASS_LEEWAY"] == 60 and conf["SOCPASS_VENUE_PROFILE"] == "museum"


def test_serve_runs_the_app(run, monkeypatch):
    from verifier import server

    calls = {}
    monkeypatch.setattr(server, "serve", lambda app, host, port, **kw: calls.update(
        kw, app=app, host=host, port=port))
    status, _, _ = run("serve", "--port", "8123")
    assert status == 0 and calls["host"] == "127.0.0.1" and calls["port"] == 8123
    assert isinstance(calls["app"], Flask)
    assert calls["threads"] == 16 and calls["read_timeout"] == 10.0


def test_serve_with_an_unknown_profile_exits_2(run, monkeypatch):
    monkeypatch.setenv("SOCPASS_VENUE_PROFILE", "casino")
    status, _, err = run("serve")
    assert status == 2 and "casino" in err


def test_second_issuer_from_another_region(run, publish, issuer):
    prim = FakeIssuer(iss="RU-25-MSZN", url="https://szn.primorsky.example", region="25")
    status, summary, _ = run("sync", str(publish(issuer)), str(publish(prim)))
    assert status == 0 and len(summary["issuers"]) == 2
    assert run("check", prim.qr())[0] == 0
