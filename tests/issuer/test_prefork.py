"""issuer.prefork: the parent of `serve --workers N`, apart from the app it serves."""
from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

# A worker that takes a while to start (building its app under load) before it installs its
# own SIGTERM handler; then it serves until that handler asks it to stop.
SLOW_WORKER = textwrap.dedent("""
    import os, sys, threading, time
    from issuer import prefork

    def serve(listener):
        time.sleep(float(sys.argv[1]))
        done = threading.Event()
        prefork.stop_on_sigterm(done.set)
        os.write(1, b"serving\\n")  # one write: two workers share this pipe
        done.wait()

    prefork.run("127.0.0.1", 0, 2, serve)
    print("stopped", flush=True)
""")


def _parent(start_delay: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", SLOW_WORKER, str(start_delay)],
                            stdout=subprocess.PIPE, text=True)


def test_sigterm_while_workers_are_still_starting_stops_them_all():
    with _parent(3.0) as parent:
        try:
            time.sleep(0.5)  # forked, not yet serving: the workers still have the parent's handlers
            parent.send_signal(signal.SIGTERM)
            assert parent.wait(10) == 0
            assert parent.stdout.read().split() == ["stopped"]  # no worker ever got to serve
        finally:
            parent.kill()


def test_sigterm_once_serving_lets_each_worker_finish():
    with _parent(0.0) as parent:
        try:
            assert [parent.stdout.readline().strip() for _ in range(2)] == ["serving", "serving"]
            parent.send_signal(signal.SIGTERM)
            assert parent.wait(10) == 0
            assert parent.stdout.read().split() == ["stopped"]
        finally:
            parent.kill()
