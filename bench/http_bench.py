"""Figures 2 and 8: POST /api/verify under gunicorn (2 workers) with wrk on loopback, against a
trivial JSON endpoint of the same app and an endpoint that only checks the signature (medians of
3 interleaved rounds of 5 s); one worker's CPU per request split by part; then the workers'
resident memory over a 60 s soak, and the issuer's left idle.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.common import pss_mb, rss_mb, wait_for_gunicorn
from tests.vectors.build import publish, vectors
from verifier import sync

ROOT = Path(__file__).resolve().parents[1]
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")


def wrk(url: str, connections: int, seconds: int, script: Path | None) -> dict[str, float]:
    cmd = ["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{seconds}s", "--latency", "--timeout", "5s"]
    if script:
        cmd += ["-s", str(script)]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {p: _ms(v) for p, v in re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M)}
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": lat.get("50", float("nan")), "p99": lat.get("99", float("nan")),
            "errors": errors + (int(non2xx.group(1)) if non2xx else 0)}


def main(quick: bool = False, plots: Path | None = None) -> dict[str, float]:
    try:
        import gunicorn  # noqa: F401
    except ImportError:
        print("gunicorn not installed: skipped")
        return {}
    if shutil.which("wrk") is None:
        print("wrk not installed (apt-get install wrk): requests/s skipped")
        with tempfile.TemporaryDirectory() as tmp:
            return issuer_idle(Path(tmp), 3 if quick else 30)
    now = int(time.time())
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sync.sync([str(s) for s in publish(root / "pub", now)], root / "cache", now)
        text = next(v for v in vectors(now) if v.name == "valid_large_family_qr").text
        script = root / "post.lua"
        script.write_text('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                          f"wrk.body = {json.dumps(json.dumps({'qr': text}))}\n")
        port = _free_port()
        env = dict(os.environ, SOCPASS_VERIFIER_CACHE=str(root / "cache"), SOCPASS_HOME=str(root))
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
                                   "--log-level", "warning", "bench.wsgi_verifier:app"], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            workers = wait_for_gunicorn(server, port, 2)
            seconds, rounds = (1, 1) if quick else (5, 3)
            wrk(base + "/api/verify", 4, 1, script)  # warm-up
            curve: dict[str, list[float]] = {"/api/verify": [], "trivial endpoint": [],
                                             "signature check only": [], "/api/verify p99 ms": []}
            levels = (16, 64) if plots is None else (1, 4, 16, 64)
            for conns in levels:
                # Rounds interleaved, medians taken: a neighbour's burst hits one run, not a figure.
                verify, ping, floor = _median_runs([
                    (wrk(base + "/api/verify", conns, seconds, script),
                     wrk(base + "/bench/ping", conns, seconds, None),
                     wrk(base + "/bench/signature", conns, seconds, script)) for _ in range(rounds)])
                ratio = verify["rps"] / ping["rps"]
                print(f"{conns:3} connections: /api/verify {verify['rps']:7.0f} req/s p50 {verify['p50']:5.1f} ms "
                      f"p99 {verify['p99']:5.1f} ms errors {verify['errors']:.0f} | trivial endpoint "
                      f"{ping['rps']:7.0f} req/s p99 {ping['p99']:5.1f} ms | ratio {ratio:.2f} (target >= 0.6) "
                      f"| signature check only {floor['rps']:7.0f} req/s, its ratio {floor['rps'] / ping['rps']:.2f}")
                results[f"ratio_{conns}"] = ratio
                results[f"signature_only_ratio_{conns}"] = floor["rps"] / ping["rps"]
                results[f"p99_{conns}"] = verify["p99"]
                results[f"errors_{conns}"] = verify["errors"] + floor["errors"]
                curve["/api/verify"].append(verify["rps"])
                curve["trivial endpoint"].append(ping["rps"])
                curve["signature check only"].append(floor["rps"])
                curve["/api/verify p99 ms"].append(verify["p99"])
            if plots is not None:
                from bench.svgplot import line_chart
                line_chart(plots / "bench-http.svg", "Requests/s, gunicorn 2 workers (figure 2)",
                           "wrk connections", "requests/s", list(levels),
                           {k: v for k, v in curve.items() if not k.endswith("ms")})
                line_chart(plots / "bench-http-p99.svg", "POST /api/verify p99 latency (figure 2)",
                           "wrk connections", "ms", list(levels),
                           {"/api/verify p99": curve["/api/verify p99 ms"]})
            soak = 3 if quick else 60
            before = [rss_mb(p) for p in workers]
            proc = subprocess.Popen(["wrk", "-t", "2", "-c", "64", "-d", f"{soak}s", "-s", str(script),
                                     base + "/api/verify"], stdout=subprocess.PIPE, text=True)
            samples = []
            t_end = time.monotonic() + soak
            while time.monotonic() < t_end:
                time.sleep(soak / 6)
                samples.append(max(rss_mb(p) for p in workers))
            out = proc.communicate()[0]
            errs = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            print(f"soak {soak} s at 64 connections: worker RSS before {max(before):.0f} MB, during "
                  f"{' '.join(f'{s:.0f}' for s in samples)} MB (target <= 150, flat); "
                  f"non-2xx {errs.group(1) if errs else 0}")
            results["rss_max_mb"] = max(samples)
            results["rss_growth_mb"] = samples[-1] - samples[0]
        finally:
            server.terminate()
            server.wait(10)
        results.update(cpu_split(root, script, env, 1 if quick else 5))
        results.update(issuer_idle(root, 3 if quick else 30))
    return results


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_split(root: Path, script: Path, env: dict[str, str], seconds: int) -> dict[str, float]:
    """The profile behind the ratio: one worker's CPU per request, split by part
    (bench/cpusplit.py), for the trivial endpoint and for /api/verify at 16 connections."""
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}",
                               "--log-level", "warning", "bench.wsgi_verifier:app"], cwd=ROOT,
                              env=dict(env, BENCH_CPU_SPLIT="1"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    out: dict[str, float] = {}
    try:
        worker = wait_for_gunicorn(server, port, 1)[0]
        wrk(base + "/api/verify", 4, 1, script)  # warm-up
        for name, path, lua in (("trivial", "/bench/ping", None), ("signature", "/bench/signature", script),
                                ("verify", "/api/verify", script)):
            _split(base)  # reset
            before = _cpu_seconds(worker)
            run = wrk(base + path, 16, seconds, lua)
            cpu = _cpu_seconds(worker) - before
            parts = _split(base)
            calls = parts["app " + path]["calls"]
            per_request = 1e6 * cpu / calls
            in_app = parts["app " + path]["us"]
            out[f"cpu_{name}_us"] = per_request
            if name == "trivial":
                print(f"worker CPU per request (1 worker, 16 connections, {run['rps']:.0f} req/s): "
                      f"trivial endpoint {per_request:.0f} µs = app {in_app:.0f} + server "
                      f"{per_request - in_app:.0f}")
                continue
            if name == "signature":
                print(f"  signature check only {per_request:.0f} µs ({run['rps']:.0f} req/s) = app "
                      f"{in_app:.0f} [signature {parts.get('signature', {}).get('us', 0.0):.0f}] + server "
                      f"{per_request - in_app:.0f}; CPU ratio trivial/signature only "
                      f"{out['cpu_trivial_us'] / per_request:.2f}: the most any verifying endpoint reaches here")
                continue
            signature = parts.get("signature", {}).get("us", 0.0)
            decision = parts.get("decision", {}).get("us", 0.0)
            scanlog = parts.get("scan log", {}).get("us", 0.0)
            writer = parts.get("writer thread", {}).get("us", 0.0) / calls
            print(f"  /api/verify {per_request:.0f} µs ({run['rps']:.0f} req/s) = app {in_app:.0f} "
                  f"[signature {signature:.0f}, rest of the decision {decision - signature:.0f}, "
                  f"scan log {scanlog:.0f}, Flask and the view {in_app - decision - scanlog:.0f}] "
                  f"+ the log's writer thread {writer:.0f} + server {per_request - in_app - writer:.0f}; "
                  f"CPU ratio trivial/verify {out['cpu_trivial_us'] / per_request:.2f}")
            out["cpu_verify_signature_us"] = signature
    finally:
        server.terminate()
        server.wait(10)
    return out


def _split(base: str) -> dict[str, dict[str, float]]:
    with urllib.request.urlopen(base + "/bench/split", timeout=10) as response:
        return json.load(response)["parts"]


def _median_runs(rounds: list[tuple[dict[str, float], ...]]) -> list[dict[str, float]]:
    """Per endpoint, the median of each figure over the rounds; errors are summed."""
    out = []
    for runs in zip(*rounds):
        merged = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        merged["errors"] = sum(run["errors"] for run in runs)
        out.append(merged)
    return out


def issuer_idle(root: Path, seconds: int) -> dict[str, float]:
    """Figure 8, second half: the issuer's service (gunicorn, 2 workers, SQLite) left idle."""
    home = root / "issuer"
    env = dict(os.environ, SOCPASS_HOME=str(home), SOCPASS_KEY_PASSPHRASE="bench-only-passphrase")
    cli = [sys.executable, "-m", "issuer.cli"]
    subprocess.run(cli + ["init", "--issuer-id", "RU-27", "--name", "Бенчмарк", "--url",
                          "https://szn.example", "--region", "27"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    port = _free_port()
    server = subprocess.Popen(cli + ["serve", "--port", str(port), "--workers", "2"], cwd=ROOT,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        workers = wait_for_gunicorn(server, port, 2)
        time.sleep(seconds)
        per_worker = [rss_mb(p) for p in workers]
        master = rss_mb(server.pid)
        pss = pss_mb(server.pid) + sum(pss_mb(p) for p in workers)
    finally:
        server.terminate()
        server.wait(10)
    print(f"issuer idle {seconds} s (gunicorn, 2 workers, SQLite): master {master:.0f} MB, workers "
          f"{' '.join(f'{r:.0f}' for r in per_worker)} MB RSS; all together {pss:.0f} MB (PSS: "
          f"pages the forked workers share counted once)")
    return {"issuer_idle_worker_mb": max(per_worker), "issuer_idle_pss_mb": pss}
