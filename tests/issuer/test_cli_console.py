"""`socpass-issuer` commands of the console issue: users, tokens, links, workers, the import bar."""
from __future__ import annotations

import io
import os
import pty
import subprocess
import sys

from issuer.accounts import LoginRefused
from issuer.config import Settings
from issuer.service import IssuerService

from tests.issuer.helpers import ISSUER_CLI, make_data, subprocess_env
from tests.issuer.test_cli import INIT, Runner, initialised, run  # noqa: F401 - fixtures

import pytest


def open_service(env: dict[str, str]) -> IssuerService:
    return IssuerService.open(Settings.from_env(env))


def test_init_creates_the_first_admin(run: Runner, env) -> None:  # noqa: F811
    code, out, err = run(*INIT, "--admin", "chief")
    assert code == 0, err
    admin = out["admin"]
    assert admin["name"] == "chief" and admin["role"] == "admin" and len(admin["password"]) >= 20
    with open_service(env) as svc:
        assert svc.accounts.authenticate("chief", admin["password"], "cli").role == "admin"


def test_users_add_list_passwd_disable(initialised: Runner, env, monkeypatch) -> None:  # noqa: F811
    code, out, err = initialised("users", "add", "olga", "--role", "operator")
    assert code == 0 and out["role"] == "operator" and out["password"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("my-own-long-password\n"))
    code, out, _ = initialised("users", "add", "anna", "--role", "auditor", "--password-stdin")
    assert code == 0 and "password" not in out
    code, out, _ = initialised("users", "list")
    assert {u["name"]: u["role"] for u in out["users"]} == {"admin": "admin", "anna": "auditor",
                                                            "olga": "operator"}
    code, _, err = initialised("users", "add", "olga", "--role", "auditor")
    assert code == 1 and "user_exists" in err
    code, out, _ = initialised("users", "disable", "anna")
    assert code == 0 and out["active"] is False
    with open_service(env) as svc, pytest.raises(LoginRefused):
        svc.accounts.authenticate("anna", "my-own-long-password", "cli")
    code, _, err = initialised("users", "add", "x", "--role", "root")
    assert code == 2


def test_tokens_create_list_revoke(initialised: Runner) -> None:  # noqa: F811
    code, created, _ = initialised("tokens", "create", "Региональный реестр")
    assert code == 0 and created["token"].startswith("spt_")
    code, listed, _ = initialised("tokens", "list")
    assert listed["tokens"][0]["name"] == "Региональный реестр" and "token" not in listed["tokens"][0]
    code, revoked, _ = initialised("tokens", "revoke", created["id"])
    assert code == 0 and revoked["revoked"] is True


def test_link_and_worker(initialised: Runner, env, tmp_path) -> None:  # noqa: F811
    import json

    code, issued, _ = initialised("issue", "--type", "large_family", "--data", json.dumps(make_data()))
    code, link, _ = initialised("link", issued["id"])
    assert code == 0 and "/w/" in link["url"]
    code, out, _ = initialised("link", issued["id"], "--revoke")
    assert out["links_revoked"] == 1
    with open_service(env) as svc:
        svc.jobs.submit_import(io.BytesIO(b"type;registry_id\n"), "x.csv")
    code, out, _ = initialised("worker", "--once")
    assert code == 0 and out == {"jobs_run": 1}


def test_import_shows_a_progress_bar_on_a_terminal_only(initialised: Runner, env, tmp_path) -> None:  # noqa: F811
    header = "type;registry_id;family_name;given_name;birth_date;children;region;valid_until\n"
    rows = "".join(f"large_family;P-{n};Иванова;Мария;1988-04-12;4;27;2030-05-31\n" for n in range(5))
    csv_file = tmp_path / "r.csv"
    csv_file.write_text(header + rows, encoding="utf-8")
    piped = subprocess.run([str(ISSUER_CLI), "import", str(csv_file)], env=subprocess_env(env),
                           capture_output=True, text=True, timeout=60)
    assert piped.returncode == 0 and "%" not in piped.stderr  # no bar into a pipe or a log
    # On a terminal, stderr gets the bar (stdout stays the JSON summary).
    controller, terminal = pty.openpty()
    try:
        proc = subprocess.run([str(ISSUER_CLI), "import", str(csv_file)], env=subprocess_env(env),
                              stdout=subprocess.PIPE, stderr=terminal, timeout=60)
        os.close(terminal)
        terminal = -1
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        if terminal != -1:
            os.close(terminal)
        os.close(controller)
    assert proc.returncode == 0 and b'"unchanged": 5' in proc.stdout
    assert b"100.0%" in shown and b"#" in shown
