"""Loopback HTTP servers for the tests of reading publications (shared/pubreader.py) and of
sync: a directory served as it is, a redirect loop, or any handler of the test's own."""
from __future__ import annotations

import contextlib
import functools
import threading
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer


class _Quiet:
    def log_message(self, *args):  # keep test output clean
        pass


class FileHandler(_Quiet, SimpleHTTPRequestHandler):
    pass


class RedirectHandler(_Quiet, BaseHTTPRequestHandler):
    target = "/next"

    def do_GET(self):
        self.send_response(302)
        self.send_header("Location", self.target if "://" in self.target else self.path + "x")
        self.send_header("Content-Length", "0")
        self.end_headers()


@contextlib.contextmanager
def http_server(handler):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def serve_dir(directory):
    return http_server(functools.partial(FileHandler, directory=str(directory)))
