"""Hostile images in flight keep `socpass-verifier serve` within its memory: a strip of
1x39,000,000 pixels (76 KB, under the pixel cap) cost 2.3 GB; now its header is refused, and
photos at the largest allowed size are decoded in turn, not all at once.

The bound is the server's peak RSS (VmHWM): far above its normal ~50 MB (docs/benchmarks.md,
figure 8), far below the bug."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.e2e.conftest import free_port, http_status
from tests.imaging import bilevel_png

PEAK_MB = 300


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def scan(base: str, body: bytes) -> int:
    return http_status(base + "/api/scan", body, {"Content-Type": "image/png"})


def test_hostile_images_in_flight_stay_under_the_memory_bound(e2e):
    base = e2e.serve("verifier", free_port())
    pid = e2e.procs[-1].pid
    strip, tall, big = bilevel_png(1, 39_000_000), bilevel_png(39_000, 1_000), bilevel_png(6_000, 6_000)
    assert len(strip) < 100_000 and len(big) < 100_000
    bodies = [strip, tall, big] * 3
    with ThreadPoolExecutor(len(bodies)) as pool:  # all in flight at once
        statuses = list(pool.map(lambda b: scan(base, b), bodies))
    assert statuses == [413, 413, 200] * 3
    print(f"peak RSS {peak_rss_mb(pid):.0f} MB")
    assert peak_rss_mb(pid) < PEAK_MB, peak_rss_mb(pid)
