"""Several worker processes serving one listening socket: `socpass-issuer serve --workers N`.

The parent binds the socket, forks N workers and starts a new one when a worker dies; SIGTERM or
SIGINT stops them all, each finishing the requests it has begun. Each worker runs the same
bounded server as one process does (issuer.server), so stalled clients cost no thread in any
worker; and each builds its own app after the fork: nothing opened in the parent is shared.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("socpass.issuer.server")
RESPAWN_PAUSE = 1.0  # seconds before a dead worker is replaced (a crash loop must not spin)
BACKLOG = 1024


def run(host: str, port: int, workers: int, serve: Callable[[socket.socket], Any]) -> None:
    """`serve(listener)` runs in each worker until it returns (after SIGTERM)."""
    listener = socket.create_server((host, port), backlog=BACKLOG)
    # Non-blocking: when several workers wake for one connection, the losers' accept() returns
    # at once instead of waiting for the next client.
    listener.setblocking(False)
    children: set[int] = set()
    stopping = threading.Event()

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                # The parent's handlers came with the fork: a SIGTERM before the server installs
                # its own (a worker still starting) must end this worker, not run the parent's
                # `stop`, which would leave it serving and the parent waiting for it forever.
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us with SIGTERM
                serve(listener)
                code = 0
            finally:
                os._exit(code)
        children.add(pid)

    def stop(signum: int, frame: Any) -> None:
        stopping.set()
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for _ in range(workers):
        spawn()
    log.info("serving on http://%s:%s with %s worker processes", host, port, workers)
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        children.discard(pid)
        if not stopping.is_set():
            log.error("worker %s ended (status %s): starting another", pid, status)
            time.sleep(RESPAWN_PAUSE)
            spawn()
    listener.close()


def stop_on_sigterm(shutdown: Callable[[], None]) -> None:
    """In a worker: SIGTERM asks the server to stop accepting and finish what it has begun."""
    signal.signal(signal.SIGTERM, lambda signum, frame: threading.Thread(target=shutdown).start())
