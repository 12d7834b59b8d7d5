"""Figure 4: bulk import of a registry CSV (issue + sign + store) on SQLite and PostgreSQL,
against raw signing of the same number of tokens without storage; wall time and the importing
process's peak memory (the file is streamed, never loaded whole). The import signs in a second
process (issuer.signpool): its peak RSS is the larger of the two processes', and the sum of
their proportional set sizes (pages shared since the fork counted once) is sampled as well.

Rows: 435,000 (one region) by default; BENCH_IMPORT_ROWS overrides, --quick uses 2,000.
PostgreSQL is measured when SOCPASS_TEST_DATABASE_URL (or BENCH_POSTGRES_URL) is set.
"""
from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from bench.common import pss_mb, run_with_peak_rss, worker_pids
from shared import keys, qrtext, token
from tests.vectors.reference import REFERENCE_LARGE_FAMILY

FAMILY = ["Иванова", "Смирнова", "Кузнецова", "Попова", "Васильева", "Петрова", "Соколова", "Михайлова"]
GIVEN = ["Мария", "Анна", "Елена", "Ольга", "Наталья", "Татьяна", "Ирина", "Светлана"]
PATRONYMIC = ["Петровна", "Ивановна", "Сергеевна", "Александровна", "Дмитриевна", "Андреевна"]
CATEGORIES = ["disability_1", "disability_2", "disability_3", "pensioner", "combat_veteran", "low_income"]


def write_csv(path: Path, rows: int, seed: int = 4) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("type;registry_id;family_name;given_name;patronymic;birth_date;children;category;region;valid_until\n")
        for i in range(rows):
            birth = f"{rng.randint(1940, 2000)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            names = f"{rng.choice(FAMILY)};{rng.choice(GIVEN)};{rng.choice(PATRONYMIC)}"
            if i % 3 == 0:
                f.write(f"large_family;KHV-LF-{i:07d};{names};{birth};{rng.randint(3, 7)};;27;2031-05-31\n")
            else:
                f.write(f"beneficiary;KHV-B-{i:07d};{names};{birth};;{rng.choice(CATEGORIES)};27;2030-12-31\n")


def raw_signing(rows: int) -> float:
    key = keys.generate_private_key()
    kid = keys.kid_for(key)
    claims = REFERENCE_LARGE_FAMILY.to_claims()
    t0 = time.perf_counter()
    for i in range(rows):
        qrtext.encode(token.sign(dict(claims, jti=f"{i:016d}"), key, kid, token.CREDENTIAL_TYP))
    return time.perf_counter() - t0


def _postgres_db(url: str) -> tuple[str, callable]:
    import psycopg

    name = f"socpass_bench_{uuid.uuid4().hex[:8]}"
    admin = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return url.rsplit("/", 1)[0] + "/" + name, drop


def _below(pid: int) -> list[int]:
    """Every process below `pid`."""
    return [p for child in worker_pids(pid) for p in (child, *_below(child))]


class _TreePss(threading.Thread):
    """Peak of the summed PSS of the import and its signer (below the peak-RSS wrapper)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.peak = 0.0

    def run(self) -> None:
        me = os.getpid()
        while not self.stop.wait(0.25):
            pids = [pid for wrapper in worker_pids(me) for pid in _below(wrapper)]
            total = sum(v for v in map(pss_mb, pids) if v == v)  # NaN: already gone
            self.peak = max(self.peak, total)


def run_import(home: Path, csv_path: Path, db_url: str | None) -> tuple[float, float, float, str]:
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, SOCPASS_HOME=str(home), SOCPASS_KEY_PASSPHRASE="bench-passphrase")
    env.pop("SOCPASS_DATABASE_URL", None)
    if db_url:
        env["SOCPASS_DATABASE_URL"] = db_url
    subprocess.run([str(bin_dir / "socpass-issuer"), "init", "--issuer-id", "RU-27", "--name", "Bench",
                    "--url", "https://szn.test"], env=env, check=True, capture_output=True)
    sampler = _TreePss()
    sampler.start()
    t0 = time.perf_counter()
    try:
        proc, peak = run_with_peak_rss([str(bin_dir / "socpass-issuer"), "import", str(csv_path)],
                                       env=env, check=True)
    finally:
        wall = time.perf_counter() - t0
        sampler.stop.set()
        sampler.join()
    rest = proc.stdout.decode("utf-8", "replace")[-400:]
    return wall, peak, sampler.peak, rest.strip().replace("\n", " ")[:160]


def main(quick: bool = False) -> dict[str, float]:
    rows = 2_000 if quick else int(os.environ.get("BENCH_IMPORT_ROWS", "435000"))
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        csv_path = root / "registry.csv"
        write_csv(csv_path, rows)
        raw = raw_signing(rows)
        print(f"raw signing of {rows:,} tokens (no storage): {raw:7.1f} s")
        targets = [("sqlite", None)]
        pg = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("SOCPASS_TEST_DATABASE_URL")
        if pg:
            targets.append(("postgresql", pg))
        for name, url in targets:
            drop = None
            if url:
                url, drop = _postgres_db(url)
            try:
                wall, peak, pss, summary = run_import(root / name, csv_path, url)
            finally:
                if drop:
                    drop()
            scaled = wall * 435_000 / rows
            print(f"import {rows:,} rows into {name:10}: {wall:7.1f} s wall ({rows / wall:6.0f} rows/s; "
                  f"435,000 rows ~ {scaled:5.0f} s, target <= 120), {wall / raw:4.1f}x raw signing; "
                  f"peak RSS {peak:.0f} MB (target <= 500), with the signer {pss:.0f} MB PSS")
            results[f"{name}_s"] = wall
            results[f"{name}_peak_mb"] = peak
            results[f"{name}_pss_mb"] = pss
    return results
