"""Pieces for driving the offline scanner app (static/scan/): a ministry published with the real
`socpass-issuer publish`, a plain static web server over it, a persistent browser profile.

Kept apart from conftest.py/harness.py (the scanner page's) so that a benchmark can use them.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from issuer.scanapp import media_type
from tests.browser.harness import BASE_ARGS, PEOPLE, chromium_executable

ISSUER_ID = "RU-27-MSZN"
ISSUER_NAME = "Министерство социальной защиты Хабаровского края"
APP_DIR = Path(__file__).resolve().parents[2] / "static" / "scan"
PASSPHRASE = "app-test-passphrase"
# The installed console script, next to this interpreter (.venv/bin/socpass-issuer).
ISSUER_CLI = str(Path(sys.executable).with_name("socpass-issuer"))


class StaticServer:
    """What a ministry's nginx does for a publish directory: files, ETag / If-None-Match (304),
    the right media types; every request logged as (path, status, body bytes)."""

    def __init__(self, root: Path, port: int = 0) -> None:
        self.root = Path(root)
        self.log: list[tuple[str, int, int]] = []
        self.wire: list[int] = []  # bytes per request on the wire: request and response, headers included
        self._lock = threading.Lock()
        server = self

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                path = self.path.split("?", 1)[0]
                target = Path(self.translate_path(path))
                if target.is_dir():
                    target = target / "index.html"
                if not target.is_file():
                    return self._answer(path, 404, b"not found\n", "text/plain")
                body = target.read_bytes()
                etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
                if self.headers.get("If-None-Match") == etag:
                    return self._answer(path, 304, b"", None, etag)
                return self._answer(path, 200, body, media_type(target.name), etag)

            def _answer(self, path: str, status: int, body: bytes, ctype: str | None,
                        etag: str | None = None) -> None:
                self.send_response(status)
                if ctype:
                    self.send_header("Content-Type", ctype)
                if etag:
                    self.send_header("ETag", etag)
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Content-Length", str(len(body)))
                sent = sum(len(line) for line in self._headers_buffer) + 2
                asked = len(self.requestline) + 2 + len(self.headers.as_bytes())
                self.end_headers()
                if body:
                    self.wfile.write(body)
                with server._lock:
                    server.log.append((path, status, len(body)))
                    server.wire.append(asked + sent + len(body))

        def handler(*args, **kwargs):
            return Handler(*args, directory=str(self.root), **kwargs)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def requests(self) -> list[tuple[str, int, int]]:
        with self._lock:
            return list(self.log)

    def wire_bytes(self, since: int = 0) -> int:
        with self._lock:
            return sum(self.wire[since:])

    def stop(self) -> None:
        self.httpd.shutdown()
        self.thread.join(10)
        self.httpd.server_close()


@dataclass
class PublishedMinistry:
    """A real issuer driven through its CLI (SQLite under `home`), published into `out`, whose
    URL is the static server's: the app syncs from its own origin."""

    home: Path
    out: Path
    url: str
    refresh_seconds: int = 300
    qr: dict[str, str] = field(default_factory=dict)
    token: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        return dict(os.environ, SOCPASS_HOME=str(self.home), SOCPASS_KEY_PASSPHRASE=PASSPHRASE,
                    SOCPASS_STATUS_LIST_SIZE="4096", SOCPASS_APP_REFRESH=str(self.refresh_seconds),
                    SOCPASS_STATUS_TTL="60", SOCPASS_LOG_LEVEL="ERROR")

    def cli(self, *args: str) -> dict:
        done = subprocess.run([ISSUER_CLI, *args], env=self.env(),
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else {}

    def create(self) -> "PublishedMinistry":
        self.cli("init", "--issuer-id", ISSUER_ID, "--name", ISSUER_NAME, "--url", self.url)
        valid_until = (date.today() + timedelta(days=3 * 365)).isoformat()
        for person, (ctype, data) in PEOPLE.items():
            issued = self.cli("issue", "--type", ctype, "--data",
                              json.dumps(dict(data, valid_until=valid_until), ensure_ascii=False))
            self.qr[person], self.token[person] = issued["qr_text"], issued["token"]
            self.ids[person] = issued["id"]
            if person == "revoked":
                self.cli("revoke", issued["id"], "--reason", "утрата права на льготу")
        self.publish()
        return self

    def publish(self) -> dict:
        return self.cli("publish", "--out", str(self.out))


def persistent_context(playwright, profile: Path, *extra: str, offline: bool = False):
    """A Chromium with a profile kept on disk: a second one on the same `profile` is the
    tablet after the app was closed (or the tablet rebooted)."""
    context = playwright.chromium.launch_persistent_context(
        str(profile), executable_path=chromium_executable(), headless=True,
        args=[*BASE_ARGS, *extra], viewport={"width": 1280, "height": 800}, offline=offline)
    return context


def wait_until(page, expression: str, seconds: float = 30, every_ms: int = 200) -> None:
    """page.wait_for_function polls with eval(), which the app's CSP forbids (rightly)."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {seconds} s: {expression}"
        page.wait_for_timeout(every_ms)
