"""Slow clients cannot exhaust `socpass-verifier serve`: stalled connections hold no thread,
a normal request is answered meanwhile, and the stalled ones are closed after the read timeout."""
from __future__ import annotations

import json
import socket
import time
import urllib.request

from tests.e2e.conftest import free_port

STALLED = 300
THREADS = 4
TIMEOUT = 2


def threads_of(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise AssertionError("no thread count")


def test_stalled_connections_are_bounded_and_timed_out(e2e):
    e2e.env.update(SOCPASS_SERVE_THREADS=str(THREADS), SOCPASS_READ_TIMEOUT=str(TIMEOUT))
    port = free_port()
    base = e2e.serve("verifier", port)
    pid = e2e.procs[-1].pid
    with urllib.request.urlopen(base + "/api/status", timeout=10) as resp:
        assert resp.status == 200
    idle = threads_of(pid)

    stalled = []
    for i in range(STALLED):
        conn = socket.create_connection(("127.0.0.1", port), timeout=30)
        if i % 3 == 0:  # some send half a request line and stop there
            conn.sendall(b"GET /api/status HT")
        stalled.append(conn)
    # Every stalled connection is accepted and waiting; the thread count has not followed them.
    time.sleep(0.5)
    assert threads_of(pid) <= idle + THREADS + 1, (idle, threads_of(pid))

    with urllib.request.urlopen(base + "/api/status", timeout=TIMEOUT * 10) as resp:
        assert resp.status == 200 and "issuers" in json.loads(resp.read())
    assert threads_of(pid) <= idle + THREADS + 1

    # After the read timeout every stalled connection was closed by the server (EOF, or a reset).
    for conn in stalled:
        conn.settimeout(TIMEOUT * 10)
        try:
            assert conn.recv(1024) == b""
        except ConnectionResetError:
            pass
        conn.close()
