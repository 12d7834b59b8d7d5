"""Helpers for the benchmarks: timing medians, peak memory of a child process."""
from __future__ import annotations

import math
import socket
import statistics
import subprocess
import time
from typing import Callable


def median_time(fn: Callable[[], object], rounds: int, number: int = 1) -> float:
    """Median seconds per call over `rounds` rounds of `number` calls."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


def shannon_bits(n: int, p: float) -> float:
    """n * H(p): the least number of bits any encoding of n independent entries needs."""
    if p <= 0 or p >= 1:
        return 0.0
    return n * -(p * math.log2(p) + (1 - p) * math.log2(1 - p))


def wait_for_gunicorn(server: "subprocess.Popen", port: int, workers: int, timeout: float = 30) -> list[int]:
    """Wait until gunicorn listens on `port` and has forked `workers` workers; their pids."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            pids = worker_pids(server.pid)
            if len(pids) >= workers:
                return pids
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not start {workers} workers on port {port}")


def worker_pids(master: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def status_mb(pid: int, field: str) -> float:
    """A memory line of /proc/PID/status in MB: VmRSS, VmHWM (peak RSS), RssAnon (private)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def rss_mb(pid: int) -> float:
    return status_mb(pid, "VmRSS")


def pss_mb(pid: int) -> float:
    """Proportional set size: pages shared between forked workers counted once in all."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


_MEASURED = ("import resource, subprocess, sys\n"
             "code = subprocess.run(sys.argv[1:]).returncode\n"
             "sys.stderr.write(f\"\\nPEAK_RSS_KB={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}\\n\")\n"
             "sys.exit(code)\n")


def run_with_peak_rss(cmd: list[str], **kwargs: object) -> tuple["subprocess.CompletedProcess[bytes]", float]:
    """Run `cmd` and return it with its own peak RSS in MB. Through a fresh parent, because
    RUSAGE_CHILDREN of this process is the largest of every child it ever had (an earlier
    benchmark's included)."""
    import sys
    proc = subprocess.run([sys.executable, "-c", _MEASURED, *cmd], capture_output=True, **kwargs)
    tail = proc.stderr.rsplit(b"PEAK_RSS_KB=", 1)
    if len(tail) != 2:
        raise RuntimeError(f"no peak RSS reported: {proc.stderr[-500:]!r}")
    proc.stderr = tail[0]
    return proc, int(tail[1].split()[0]) / 1024
