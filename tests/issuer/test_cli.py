"""`socpass-issuer` end to end: through `main()` in process, and as the installed console script."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from issuer import cli
from shared.publication import ENTITLEMENTS_PATH, JWKS_PATH, METADATA_PATH
from shared.qrtext import decode as qr_decode
from shared.keys import StaticKeyResolver
from shared.statuslist import REVOKED, SUSPENDED, verify_status_list
from shared.token import CREDENTIAL_TYP, verify

from tests.issuer.helpers import ISSUER_CLI, ISSUER_NAME, ISSUER_URL, make_data, subprocess_env

INIT = ["init", "--issuer-id", "RU-27", "--name", ISSUER_NAME, "--url", ISSUER_URL, "--region", "27"]


class Runner:
    """Runs `main()` with the test's environment; returns (exit code, parsed stdout, stderr)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, *args: str) -> tuple[int, object, str]:
        code = cli.main(list(args))
        out, err = self.capsys.readouterr()
        return code, (json.loads(out) if out.strip() else None), err


@pytest.fixture
def run(env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Runner:
    for name in list(os.environ):
        if name.startswith("SOCPASS_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Runner(capsys)


@pytest.fixture
def initialised(run: Runner) -> Runner:
    code, out, err = run(*INIT)
    assert code == 0, err
    return run


def test_init_prints_the_issuer_and_its_key(run: Runner) -> None:
    code, out, err = run(*INIT)
    assert code == 0, err
    assert out["iss"] == "RU-27" and out["url"] == ISSUER_URL and out["region"] == "27"
    assert out["alg"] == "ES256" and len(out["kid"]) == 8
    code, _, err = run(*INIT)
    assert code == 1 and "already_initialized" in err and "Traceback" not in err


def test_init_refuses_without_passphrase(run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOCPASS_KEY_PASSPHRASE")
    code, out, err = run(*INIT)
    assert code == 1 and out is None
    assert "SOCPASS_KEY_PASSPHRASE" in err and "не задан" in err and err.count("\n") == 1


def test_init_in_demo_mode_warns(run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOCPASS_KEY_PASSPHRASE")
    monkeypatch.setenv("SOCPASS_DEMO", "true")
    code, out, err = run(*INIT)
    assert code == 0 and "DEMO" in err


def test_init_with_a_key_file(run: Runner, tmp_path: Path) -> None:
    from shared.keys import generate_private_key, kid_for, private_key_to_pem

    key = generate_private_key("EdDSA")
    pem = tmp_path / "ed25519-issuer-1.pem"
    pem.write_bytes(private_key_to_pem(key, None))
    code, out, err = run(*INIT, "--key", str(pem))
    assert code == 0, err
    assert (out["kid"], out["alg"]) == (kid_for(key), "EdDSA")
    code, _, err = run(*INIT[:1], "--issuer-id", "X", "--name", "n", "--url", ISSUER_URL, "--key", str(tmp_path / "none"))
    assert code == 1 and "none" in err


def test_issue_with_qr_and_pdf_files(initialised: Runner, tmp_path: Path) -> None:
    data = tmp_path / "data.json"
    data.write_text(json.dumps(make_data()), encoding="utf-8")
    code, out, err = initialised("issue", "--type", "large_family", "--data", f"@{data}",
                                 "--qr", str(tmp_path / "qr.png"), "--pdf", str(tmp_path / "card.pdf"))
    assert code == 0, err
    assert set(out) == {"id", "token", "qr_text", "status", "expires_at"}
    assert qr_decode(out["qr_text"]) == out["token"]
    with Image.open(tmp_path / "qr.png") as img:
        assert [r.text for r in zxingcpp.read_barcodes(img)] == [out["qr_text"]]
    assert (tmp_path / "card.pdf").read_bytes().startswith(b"%PDF")
    # A citizen's card and code: the owner's only, whatever the umask.
    assert {(tmp_path / f).stat().st_mode & 0o777 for f in ("qr.png", "card.pdf")} == {0o600}
    assert initialised("publish", "--out", str(tmp_path / "pub"))[0] == 0
    resolver = StaticKeyResolver.from_jwks("RU-27", json.loads((tmp_path / "pub" / JWKS_PATH).read_text()))
    assert verify(out["token"], resolver, typ=CREDENTIAL_TYP).claims["jti"] == out["id"]


def test_issue_inline_json_duplicate_and_replace(initialised: Runner) -> None:
    data = json.dumps(make_data("beneficiary", category="pensioner"), ensure_ascii=False)
    code, first, err = initialised("issue", "--type", "beneficiary", "--data", data)
    assert code == 0, err
    code, out, err = initialised("issue", "--type", "beneficiary", "--data", data)
    assert code == 1 and out is None and "already_issued" in err and "--replace" in err
    code, second, err = initialised("issue", "--type", "beneficiary", "--data", data, "--replace")
    assert code == 0 and second["id"] != first["id"]
    code, shown, _ = initialised("show", first["id"])
    assert (shown["state"], shown["replaced_by"]) == ("revoked", second["id"])


@pytest.mark.parametrize("data,needle", [
    ("{not json", "invalid_json"),
    ("[1, 2]", "invalid_json"),
    ('{"registry_id": "X"}', "invalid_holder"),
    ("@/does/not/exist.json", "exist.json"),
])
def test_issue_bad_data_is_one_clear_line(initialised: Runner, data: str, needle: str) -> None:
    code, out, err = initialised("issue", "--type", "large_family", "--data", data)
    assert code == 1 and out is None
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_state_changes_and_publish(initialised: Runner, tmp_path: Path) -> None:
    _, a, _ = initialised("issue", "--type", "large_family", "--data", json.dumps(make_data()))
    _, b, _ = initialised("issue", "--type", "large_family", "--data", json.dumps(make_data()))
    code, out, err = initialised("suspend", a["id"], "--reason", "проверка")
    assert code == 0 and out["state"] == "suspended" and out["reason"] == "проверка"
    code, out, _ = initialised("reinstate", a["id"])
    assert out["state"] == "valid"
    code, out, _ = initialised("suspend", a["id"], "--reason", "снова")
    code, out, _ = initialised("revoke", b["id"], "--reason", "ошибка")
    assert out["state"] == "revoked"
    code, _, err = initialised("reinstate", b["id"])
    assert code == 1 and "cannot_reinstate" in err
    code, _, err = initialised("revoke", "nope", "--reason", "x")
    assert code == 1 and "not_found" in err
    code, out, err = initialised("publish", "--out", str(tmp_path / "pub"))
    assert code == 0, err
    assert set(out["files"]) == {METADATA_PATH, JWKS_PATH, ENTITLEMENTS_PATH, "status/1"}
    jwks = json.loads((tmp_path / "pub" / JWKS_PATH).read_text())
    token = (tmp_path / "pub" / "status" / "1").read_text()
    listed = verify_status_list(token, StaticKeyResolver.from_jwks("RU-27", jwks), uri=a["status"]["uri"])
    assert listed.status_list.get(a["status"]["idx"]) == SUSPENDED
    assert listed.status_list.get(b["status"]["idx"]) == REVOKED


def test_keys_commands(initialised: Runner) -> None:
    code, listed, _ = initialised("keys", "list")
    (first,) = listed["keys"]
    code, rotated, _ = initialised("keys", "rotate", "--alg", "EdDSA")
    assert code == 0 and rotated["retired"] == first["kid"] and rotated["alg"] == "EdDSA"
    code, out, _ = initialised("keys", "retire", first["kid"])
    assert code == 0 and out["state"] == "retired"
    code, out, _ = initialised("keys", "withdraw", first["kid"])
    assert code == 0 and out["state"] == "withdrawn"
    code, _, err = initialised("keys", "retire", rotated["active"])
    assert code == 1 and "keys rotate" in err


def test_import_command(initialised: Runner, tmp_path: Path) -> None:
    csv_file = tmp_path / "r.csv"
    csv_file.write_bytes(("тип;номер;фамилия;имя;отчество;дата рождения;дети;категория;регион;действует до\n"
                          "large_family;LF-1;Иванова;Мария;;12.04.1988;4;;27;31.05.2031\n"
                          "large_family;LF-2;Иванова;Мария;;12.04.1988;1;;27;31.05.2031\n").encode("cp1251"))
    code, out, err = initialised("import", str(csv_file))
    assert code == 0, err
    assert (out["issued"], out["updated"], out["unchanged"]) == (1, 0, 0)
    assert [e["line"] for e in out["errors"]] == [3]
    assert "rows done" not in err  # no progress line when stderr is not a terminal
    code, _, err = initialised("import", str(tmp_path / "missing.csv"))
    assert code == 1 and "missing.csv" in err and "Traceback" not in err


def test_card_command(initialised: Runner, tmp_path: Path) -> None:
    _, a, _ = initialised("issue", "--type", "large_family", "--data", json.dumps(make_data()))
    code, out, err = initialised("card", a["id"], "--pdf", str(tmp_path / "c.pdf"))
    assert code == 0 and (tmp_path / "c.pdf").read_bytes().startswith(b"%PDF")


def test_usage_errors_exit_2(run: Runner) -> None:
    assert run()[0] == 2
    assert run("bogus")[0] == 2
    assert run("issue", "--type", "pilot", "--data", "{}")[0] == 2
    assert run("keys")[0] == 2


def test_uninitialised_issuer(run: Runner) -> None:
    code, _, err = run("keys", "list")
    assert code == 1 and "not_initialized" in err and "init" in err


def test_unreachable_database_is_one_line(run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCPASS_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    code, _, err = run("keys", "list")
    assert code == 1 and "[storage]" in err and err.count("\n") == 1


def test_console_script_end_to_end(env: dict[str, str], tmp_path: Path) -> None:
    penv = subprocess_env(env)

    def script(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(ISSUER_CLI), *args], env=penv, capture_output=True, text=True, timeout=60)

    init = script(*INIT)
    assert init.returncode == 0, init.stderr
    issued = script("issue", "--type", "large_family", "--data", json.dumps(make_data(), ensure_ascii=False))
    assert issued.returncode == 0, issued.stderr
    out = json.loads(issued.stdout)
    assert issued.stderr == ""
    revoked = script("revoke", out["id"], "--reason", "тест")
    assert revoked.returncode == 0 and json.loads(revoked.stdout)["state"] == "revoked"
    usage = script("frobnicate")
    assert usage.returncode == 2 and "usage" in usage.stderr
    failed = script("reinstate", out["id"])
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert "Иванова" not in failed.stderr  # no personal data in messages
