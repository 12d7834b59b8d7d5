"""`make bench` must keep working: a quick run of every benchmark, no timing asserted."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_quick_runs():
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for figure in ("ratio full/raw", "QR v", "socpass vs zxing-cpp", "Shannon bound", "sync 3 issuers",
                   "import 2,000 rows into sqlite"):
        assert figure in proc.stdout, figure


def test_bench_unknown_name_is_usage_error():
    proc = subprocess.run([sys.executable, "-m", "bench", "nope"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2
