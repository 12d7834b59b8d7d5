"""The verifier under 64 concurrent connections (gunicorn, 2 workers, wrk on loopback): zero 5xx
and no error for the whole run, and the workers' memory flat.

`make load` (run by CI after `make test`) holds it for 60 s; `make test` runs a 15 s smoke
(SOCPASS_LOAD_SECONDS sets the duration)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.common import rss_mb, wait_for_gunicorn
from tests.e2e.conftest import free_port
from tests.vectors.build import publish, vectors
from verifier import sync

ROOT = Path(__file__).resolve().parents[2]
SECONDS = int(os.environ.get("SOCPASS_LOAD_SECONDS", "15"))


def test_verifier_64_connections_no_5xx_memory_flat(tmp_path):
    if shutil.which("wrk") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("wrk is required in CI")
        pytest.skip("wrk not installed (apt-get install wrk)")
    now = int(time.time())
    sync.sync([str(s) for s in publish(tmp_path / "pub", now)], tmp_path / "cache", now)
    texts = [v.text for v in vectors(now) if v.name in ("valid_large_family_qr", "revoked", "tampered_payload")]
    script = tmp_path / "mix.lua"
    bodies = ", ".join(json.dumps(json.dumps({"qr": t})) for t in texts)
    script.write_text('local bodies = {' + bodies + '}\nlocal i = 0\n'
                      'request = function()\n  i = i % #bodies + 1\n'
                      '  return wrk.format("POST", "/api/verify", {["Content-Type"] = "application/json"}, bodies[i])\n'
                      'end\n'
                      'done = function(summary, latency, requests)\n'
                      '  io.write(string.format("STATUS non2xx=%d\\n", summary.errors.status))\nend\n')
    port = free_port()
    env = dict(os.environ, SOCPASS_VERIFIER_CACHE=str(tmp_path / "cache"), SOCPASS_HOME=str(tmp_path))
    log = open(tmp_path / "gunicorn.log", "wb")
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
                               "--log-level", "warning", "verifier.app:create_app()"], cwd=ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        workers = wait_for_gunicorn(server, port, 2)
        load = subprocess.Popen(["wrk", "-t", "2", "-c", "64", "-d", f"{SECONDS}s", "--timeout", "10s",
                                 "-s", str(script), f"http://127.0.0.1:{port}"], stdout=subprocess.PIPE, text=True)
        samples = []
        time.sleep(min(5, SECONDS / 4))  # past the first requests' allocations
        end = time.monotonic() + SECONDS - min(5, SECONDS / 4)
        while time.monotonic() < end:
            samples.append(max(rss_mb(p) for p in workers))
            time.sleep(max(1, SECONDS / 12))
        out = load.communicate(timeout=SECONDS + 60)[0]
    finally:
        server.terminate()
        server.wait(20)
        log.close()
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    assert requests > 64 * SECONDS, out  # it really was under load
    assert "Socket errors" not in out, out
    assert "STATUS non2xx=0" in out, out
    assert max(samples) <= 150, samples
    assert samples[-1] - samples[0] <= 10, samples  # flat: no growth per request
