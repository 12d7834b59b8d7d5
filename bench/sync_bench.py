"""Figure 7: `socpass-verifier sync` of 10 issuers, each with a 1,000,000-entry status list,
from local directories (a USB stick); wall time and the sync process's peak memory."""
from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import run_with_peak_rss
from shared import keys, statuslist
from shared.publication import JWKS_PATH, METADATA_PATH, IssuerMetadata, relative_path, status_list_uri


def publish_issuer(out: Path, region: int, entries: int, now: int, rng: random.Random) -> Path:
    key = keys.generate_private_key()
    kid = keys.kid_for(key)
    iss, url = f"RU-{region:02d}", f"https://szn.test/ru{region:02d}"
    uri = status_list_uri(url, "1")
    sl = statuslist.StatusList(entries, 2)
    for idx in rng.sample(range(entries), entries // 100):
        sl.set(idx, statuslist.REVOKED)
    tok = statuslist.sign_status_list(sl, uri=uri, issuer=iss, issued_at=now - 10, expires_at=now + 86400,
                                      ttl=3600, key=key, kid=kid)
    meta = IssuerMetadata(iss, f"Регион {region}", url, f"{region:02d}", "Europe/Moscow", (uri,))
    files = {METADATA_PATH: json.dumps(meta.to_json(), ensure_ascii=False),
             JWKS_PATH: json.dumps({"keys": [dict(keys.public_jwk(key), kid=kid, alg="ES256")]}),
             relative_path(url, uri): tok}
    for rel, text in files.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text, encoding="utf-8")
    return out


def main(quick: bool = False) -> dict[str, float]:
    issuers, entries = (3, 100_000) if quick else (10, 1_000_000)
    now = int(time.time())
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        dirs = [publish_issuer(root / f"r{i}", 10 + i, entries, now, rng) for i in range(issuers)]
        cli = Path(sys.executable).parent / "socpass-verifier"
        env = {"SOCPASS_VERIFIER_CACHE": str(root / "cache"), "PATH": "/usr/bin:/bin"}
        walls = []
        peaks = []
        for _ in range(1 if quick else 3):
            t0 = time.perf_counter()
            proc, peak = run_with_peak_rss([str(cli), "sync", *map(str, dirs)], env=env, check=True)
            walls.append(time.perf_counter() - t0)
            peaks.append(peak)
            summary = json.loads(proc.stdout)
            assert len(summary["issuers"]) == issuers, summary
        peak = max(peaks)
        # The second and later syncs also compare against the cached lists (replay protection).
        t0 = time.perf_counter()
        subprocess.run([str(cli), "check", "123"], env=env, capture_output=True)
        t_check = time.perf_counter() - t0
    wall = min(walls)
    print(f"sync {issuers} issuers x {entries:,} entries from directories: {wall:.2f} s wall "
          f"(best of {len(walls)}; target <= 5 s); peak RSS of the sync process {peak:.0f} MB (target <= 200)")
    print(f"a `check` process loading that cache: {t_check:.2f} s wall (process start included)")
    return {"wall_s": wall, "peak_mb": peak}
