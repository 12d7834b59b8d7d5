"""Figure 2's profile: where a worker's CPU goes per request, by part (BENCH_CPU_SPLIT=1).

Thread CPU time (time.thread_time) around the WSGI app and around the verifier's parts, summed
per part in the worker and read back from GET /bench/split. What the worker spends outside the
app (gunicorn: accept, parse, write, close; the scan log's writer thread) is the worker's CPU
from /proc less the app's share, measured by the benchmark. Exact, unlike sampling, and cheap
(two clock reads per part), so the split matches what the throughput figures see.
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask

# part name -> (calls, seconds)
_TOTALS: dict[str, list[float]] = {}


def _add(name: str, seconds: float) -> None:
    total = _TOTALS.get(name)
    if total is None:
        total = _TOTALS[name] = [0, 0.0]
    total[0] += 1
    total[1] += seconds


def _timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            _add(name, time.thread_time() - start)
    return timed


def install(app: Flask) -> None:
    """Time the app per path and the verifier per part; GET /bench/split reads and resets."""
    from shared import token
    from verifier.service import Verifier

    # verify() looks _signature_ok up in its module at each call, so the wrapper is seen.
    token._signature_ok = _timed("signature", token._signature_ok)
    Verifier._decide = _timed("decision", Verifier._decide)
    Verifier._log = _timed("scan log", Verifier._log)
    inner = app.wsgi_app

    def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        start = time.thread_time()
        try:
            return inner(environ, start_response)
        finally:
            _add("app " + environ.get("PATH_INFO", ""), time.thread_time() - start)
    app.wsgi_app = wsgi_app

    writer_seen = [0.0]

    @app.get("/bench/split")
    def split() -> dict[str, Any]:
        out = {name: {"calls": int(calls), "us": 1e6 * seconds / calls if calls else 0.0}
               for name, (calls, seconds) in _TOTALS.items()}
        _TOTALS.clear()
        writer = _writer_cpu()
        out["writer thread"] = {"calls": 1, "us": 1e6 * (writer - writer_seen[0])}
        writer_seen[0] = writer
        return {"pid": os.getpid(), "parts": out}


def _writer_cpu() -> float:
    """CPU seconds of the scan log's writer thread so far (0 when there is none yet)."""
    for thread in threading.enumerate():
        if thread.name == "scanlog-writer" and thread.ident is not None:
            return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
    return 0.0
