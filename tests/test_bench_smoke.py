"""`make bench` must keep working: a quick run of every benchmark, no timing asserted."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_quick_runs(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--plots", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    import shutil
    import xml.etree.ElementTree as ET
    charts = ["bench-decode.svg"] + (["bench-http.svg", "bench-http-p99.svg"]
                                     if shutil.which("wrk") else [])
    for chart in charts:
        svg = ET.parse(tmp_path / chart).getroot()
        assert svg.tag.endswith("svg") and len(list(svg)) > 10, chart
    for figure in ("ratio full/raw", "QR v", "socpass vs zxing-cpp", "Shannon bound", "sync 3 issuers",
                   "import 2,000 rows into sqlite", "issuer idle"):
        assert figure in proc.stdout, figure
    assert "first visit, decoding part" in proc.stdout
    from tests.browser.harness import chromium_executable

    if chromium_executable() is not None:  # issue 13: decoding and the engine in the browser
        for figure in ("browser vs native decode success", "browser raw crypto.subtle.verify",
                       "engine verify, compact JWS", "engine verify, QR text",
                       "window.socpass.verify, compact JWS", '"camera_warm_qr_in_view"',
                       '"refresh_unchanged_federal"'):
            assert figure in proc.stdout, figure
    if shutil.which("wrk"):
        # figure 2's profile: the ceiling endpoint and the worker's CPU split, every part seen
        assert "signature check only" in proc.stdout
        split = next(line for line in proc.stdout.splitlines() if "/api/verify" in line and "= app" in line)
        for part in ("signature", "rest of the decision", "scan log", "Flask and the view", "server"):
            assert part in split, part
        assert "[signature 0," not in split, split


def test_bench_unknown_name_is_usage_error():
    proc = subprocess.run([sys.executable, "-m", "bench", "nope"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2
