"""SIGKILL the issuer mid-import and mid-revocation stream; after restart nothing acknowledged
is lost, no status index is used twice, and re-running the import completes it."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bench.import_bench import write_csv
from shared import keys, statuslist
from tests.e2e.conftest import Env


def _env(tmp_path: Path, database_url: str | None) -> Env:
    env = Env(tmp_path / "ministry")
    env.home.mkdir(parents=True, exist_ok=True)
    env.env["SOCPASS_STATUS_LIST_SIZE"] = "65536"
    if database_url:
        env.env["SOCPASS_DATABASE_URL"] = database_url
    env.json("issuer", "init", "--issuer-id", "RU-27", "--name", "Минсоцзащиты", "--url", "https://szn.test")
    return env


def _engine(env: Env):
    url = env.env.get("SOCPASS_DATABASE_URL") or f"sqlite:///{env.home}/issuer.db"
    return create_engine(url)


def _count_live(env: Env) -> int:
    engine = _engine(env)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM credentials")).scalar_one()
    except Exception:
        return 0
    finally:
        engine.dispose()


def _integrity(env: Env) -> tuple[int, int, int]:
    """(credentials, distinct (list, idx), registry_ids with more than one live credential)."""
    engine = _engine(env)
    with engine.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM credentials")).scalar_one()
        distinct = conn.execute(text(
            "SELECT count(*) FROM (SELECT DISTINCT status_list_id, status_idx FROM credentials) AS d")).scalar_one()
        doubled = conn.execute(text(
            "SELECT count(*) FROM (SELECT registry_id FROM credentials WHERE state != 'revoked' "
            "GROUP BY registry_id HAVING count(*) > 1) AS d")).scalar_one()
    engine.dispose()
    return total, distinct, doubled


def test_kill_during_import_then_rerun(tmp_path, database_url):
    env = _env(tmp_path, database_url)
    rows = 12_000  # batches of 5,000 commit in about half a second: one lands, the rest is cut
    csv_path = tmp_path / "registry.csv"
    write_csv(csv_path, rows)
    proc = subprocess.Popen([str(Path(sys.executable).parent / "socpass-issuer"), "import", str(csv_path)],
                            env=env.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _count_live(env) < 1 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, "the import finished before it could be killed: make the file larger"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    landed = _count_live(env)
    assert 0 < landed < rows

    summary = env.json("issuer", "import", str(csv_path))
    assert summary["issued"] + summary["unchanged"] == rows and not summary["errors"]
    assert summary["unchanged"] == landed  # what was committed before the kill is kept, not redone
    total, distinct, doubled = _integrity(env)
    assert (total, distinct, doubled) == (rows, rows, 0)
    again = env.json("issuer", "import", str(csv_path))
    assert (again["issued"], again["updated"], again["unchanged"]) == (0, 0, rows)


REVOKER = """
import json, sys
from issuer.config import Settings
from issuer.service import IssuerService
service = IssuerService.open(Settings.from_env())
for line in sys.stdin:
    cid = line.strip()
    service.revoke(cid, "fault test")
    print("ACK " + cid, flush=True)   # acknowledged only after revoke() returned
"""


def test_kill_during_revocations_loses_no_acknowledged_one(tmp_path, database_url):
    env = _env(tmp_path, database_url)
    csv_path = tmp_path / "registry.csv"
    write_csv(csv_path, 300)
    env.json("issuer", "import", str(csv_path))
    engine = _engine(env)
    with engine.connect() as conn:
        ids = [r[0] for r in conn.execute(text("SELECT id FROM credentials ORDER BY registry_id"))]
    engine.dispose()

    proc = subprocess.Popen([sys.executable, "-c", REVOKER], env=env.env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    proc.stdin.write("\n".join(ids) + "\n")
    proc.stdin.flush()
    acked = []
    while len(acked) < 60:
        line = proc.stdout.readline()
        assert line, "revoker died early"
        acked.append(line.split()[1])
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdin.close()
    proc.stdout.close()
    assert len(acked) < len(ids)

    out = tmp_path / "published"
    env.run("issuer", "publish", "--out", str(out))
    jwks = json.loads((out / ".well-known/jwks.json").read_text())
    resolver = keys.StaticKeyResolver.from_jwks("RU-27", jwks)
    lists = {}
    for path in (out / "status").iterdir():
        tok = statuslist.verify_status_list(path.read_text(), resolver)
        lists[tok.uri] = tok.status_list
    engine = _engine(env)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT c.id, c.state, c.status_idx, l.uri FROM credentials c "
                                 "JOIN status_lists l ON l.id = c.status_list_id")).all()
    engine.dispose()
    by_id = {r[0]: r for r in rows}
    for cid in acked:
        _, state, idx, uri = by_id[cid]
        assert state == "revoked"
        assert lists[uri].get(idx) == statuslist.REVOKED, cid
