"""No token, name or birth date in any log line of a full end-to-end run (DEBUG logging)."""
from __future__ import annotations

import json
import urllib.request

from tests.e2e.conftest import Env, free_port, post_json
from tests.e2e.test_spine import LF

SECRETS_OF = ("Иванова", "Мария", "Петровна", "1988-04-12", "12.04.1988")


def test_logs_carry_no_personal_data(tmp_path):
    issuer, verifier = Env(tmp_path / "ministry"), Env(tmp_path / "venue")
    for env in (issuer, verifier):
        env.home.mkdir(parents=True, exist_ok=True)
        env.env["SOCPASS_LOG_LEVEL"] = "DEBUG"
    outputs: list[str] = []
    try:
        port = free_port()
        issuer.json("issuer", "init", "--issuer-id", "RU-27", "--name", "Минсоцзащиты",
                    "--url", f"http://127.0.0.1:{port}")
        proc = issuer.run("issuer", "issue", "--type", "large_family", "--data", json.dumps(LF, ensure_ascii=False))
        lf = json.loads(proc.stdout)
        outputs.append(proc.stderr)
        base = issuer.serve("issuer", port)
        outputs.append(verifier.run("verifier", "sync", base).stderr)
        outputs.append(verifier.run("verifier", "check", lf["qr_text"]).stderr)
        outputs.append(issuer.run("issuer", "revoke", lf["id"], "--reason", "тест").stderr)
        vbase = verifier.serve("verifier", free_port())
        for text in (lf["qr_text"], lf["token"], "garbage"):
            post_json(vbase + "/api/verify", {"qr": text})
        urllib.request.urlopen(vbase + "/api/status", timeout=10).read()
        urllib.request.urlopen(lf["status"]["uri"], timeout=10).read()
    finally:
        issuer.stop()
        verifier.stop()
    logs = outputs + [p.read_text(encoding="utf-8", errors="replace")
                      for env in (issuer, verifier) for p in env.home.rglob("*.log")]
    assert any(logs), "no log output at all: the test would prove nothing"
    joined = "\n".join(logs)
    assert "verify" in joined or "GET" in joined or "POST" in joined
    for secret in (*SECRETS_OF, lf["token"][:40], lf["token"].split(".")[1][:30], lf["qr_text"][:30]):
        assert secret not in joined, f"{secret!r} found in a log"
