"""SIGKILL the verifier during sync, many times: the cache is the old one or the new one,
never a mix, and verification keeps working on it."""
from __future__ import annotations

import base64
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.sync_bench import publish_issuer
from verifier import cache


def _snapshot(cache_dir: Path) -> dict[str, int]:
    tc = cache.load(cache_dir)
    doc = tc.to_document()
    return {uri: json.loads(base64.urlsafe_b64decode(tok.split(".")[1] + "==")).get("iat")
            for iss in doc["issuers"].values() for uri, tok in iss["status_lists"].items()}


def test_kill_during_sync_leaves_old_or_new(tmp_path):
    now = int(time.time())
    rng = random.Random(11)
    old = [publish_issuer(tmp_path / f"old{i}", 30 + i, 200_000, now - 100, rng) for i in range(4)]
    new = [publish_issuer(tmp_path / f"new{i}", 30 + i, 200_000, now, rng) for i in range(4)]
    cache_dir = tmp_path / "cache"
    cli = str(Path(sys.executable).parent / "socpass-verifier")
    env = {"SOCPASS_VERIFIER_CACHE": str(cache_dir), "PATH": "/usr/bin:/bin"}
    subprocess.run([cli, "sync", *map(str, old)], env=env, check=True, capture_output=True)
    old_state = _snapshot(cache_dir)
    # The new directories carry other keys: a mix of old and new would fail re-verification.
    kills = 0
    for delay in [0.02 * i for i in range(1, 16)]:
        proc = subprocess.Popen([cli, "sync", *map(str, new)], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        state = _snapshot(cache_dir)  # raises if the cache were torn or mixed
        assert state == old_state or set(state.values()) == {now - 10}
        if state != old_state:
            break
    assert kills > 0
    assert not [p for p in cache_dir.iterdir() if p.name.startswith("cache.json") and p.name != "cache.json"
                and p.stat().st_mtime < time.time() - 3600]
