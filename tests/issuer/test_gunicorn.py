"""Several worker processes (`serve --workers 2`) against one PostgreSQL: issuing and revoking at the same
time over the API, no status index is handed out twice, no revocation is lost, and the audit
chain does not fork."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from issuer.config import Settings
from issuer.service import IssuerService
from issuer.storage.models import CredentialRow
from shared.keys import StaticKeyResolver
from shared.statuslist import REVOKED, VALID, verify_status_list

from tests.e2e.conftest import free_port
from tests.issuer.conftest import _empty_pg
from tests.issuer.helpers import ISSUER_CLI, ISSUER_ID, ISSUER_NAME, PASSPHRASE, make_data, subprocess_env

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
# `make load` (run by CI after `make test`) issues 10,000; `make test` a 400 smoke of the same.
ISSUED, REVOKE_EVERY = int(os.environ.get("SOCPASS_LOAD_ISSUES", "400")), 2


def call(base: str, token: str, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(base + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def wait_for(port: int, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text(errors="replace")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the workers did not start")


def test_two_workers_issue_and_revoke_concurrently(pg_admin, tmp_path: Path) -> None:
    conn, url = pg_admin
    _empty_pg(conn)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"SOCPASS_HOME": str(tmp_path / "home"), "SOCPASS_DATABASE_URL": url,
           "SOCPASS_KEY_PASSPHRASE": PASSPHRASE, "SOCPASS_STATUS_LIST_SIZE": "65536",
           "SOCPASS_DB_POOL_SIZE": "4"}
    with IssuerService.open(Settings.from_env(env)) as svc:
        svc.init_issuer(ISSUER_ID, ISSUER_NAME, base, region="27")
        token = svc.api_tokens.create("registry")["token"]
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(ISSUER_CLI), "serve", "--port", str(port), "--workers", "2"],
                                env=subprocess_env(env), stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(port, proc, log)

        def issue(n: int) -> dict:
            status, body = call(base, token, "POST", "/api/v1/credentials",
                                {"type": "large_family", "data": make_data(), "wallet_link": n % 3 == 0})
            assert status == 201, body
            return body

        with ThreadPoolExecutor(8) as pool:
            first = list(pool.map(issue, range(ISSUED)))
            doomed = first[::REVOKE_EVERY]
            revocations = [pool.submit(call, base, token, "POST", f"/api/v1/credentials/{c['id']}/revoke",
                                       {"reason": "тест"}) for c in doomed]
            more = list(pool.map(issue, range(ISSUED, ISSUED + 20)))  # issuing while revoking
            for future in revocations:
                status, body = future.result()
                assert status == 200 and body["state"] == "revoked", body

        with urllib.request.urlopen(base + "/status/1", timeout=30) as response:
            assert response.headers["Cache-Control"] == "public, max-age=3600"
            status_token = response.read().decode()
        with urllib.request.urlopen(base + "/.well-known/jwks.json", timeout=30) as response:
            jwks = json.loads(response.read())
        listed = verify_status_list(status_token, StaticKeyResolver.from_jwks(ISSUER_ID, jwks),
                                    uri=f"{base}/status/1").status_list
        doomed_ids = {c["id"] for c in doomed}
        for cred in first + more:
            expected = REVOKED if cred["id"] in doomed_ids else VALID
            assert listed.get(cred["status"]["idx"]) == expected, cred["id"]
    finally:
        proc.terminate()
        proc.wait(30)
    assert "Traceback" not in log.read_text(errors="replace")
    with IssuerService.open(Settings.from_env(env)) as svc:
        with svc.store.read() as session:
            rows = session.execute(select(CredentialRow.status_list_id, CredentialRow.status_idx)).all()
            revoked = session.scalar(select(func.count()).select_from(CredentialRow)
                                     .where(CredentialRow.state == "revoked"))
        assert len(rows) == ISSUED + 20 and len(set(rows)) == len(rows)
        assert revoked == len(doomed_ids)
        assert svc.audit.verify()["ok"], "the audit chain forked between workers"
