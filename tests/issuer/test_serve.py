"""The issuer as an attacker meets it on loopback: `socpass-issuer serve` in both of its modes
(one process, several worker processes) and the console app served over real HTTP.

- citizens' private links never reach the access log (the line as written, not `redact()`);
- stalled clients hold no thread for ever and never make a thread each;
- sign-out ends the session on the server (a saved cookie sent again is refused);
- sign-in attempts are counted before the password is checked, atomically, per address and per
  account;
- console responses are never cached; a Secure cookie behind a trusted HTTPS proxy only.
"""
from __future__ import annotations

import dataclasses
import os
import re
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from issuer.app import create_app
from issuer.config import Settings
from issuer.service import IssuerService

from tests.e2e.conftest import free_port
from tests.issuer.helpers import ISSUER_CLI, ISSUER_ID, ISSUER_NAME, PASSWORD, make_data, subprocess_env
from tests.issuer.web import Browser, Served, csrf_from

MODES = {"one-process": [], "workers": ["--workers", "2"]}


@contextmanager
def serving(env: dict[str, str], mode: str, log: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """`socpass-issuer serve` in a subprocess; yields (base URL, process); its output in `log`."""
    port = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(ISSUER_CLI), "serve", "--port", str(port), *MODES[mode]],
                                env=subprocess_env(env), stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text(errors="replace")
            try:
                with urllib.request.urlopen(base + "/.well-known/jwks.json", timeout=5):
                    break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        yield base, proc
    finally:
        proc.terminate()
        proc.wait(30)


def _issuer_with_a_link(env: dict[str, str]) -> str:
    """An initialised issuer with one credential; the path of its citizen's link."""
    with IssuerService.open(Settings.from_env(env)) as svc:
        svc.init_issuer(ISSUER_ID, ISSUER_NAME, "http://127.0.0.1", region="27")
        issued = svc.issue("large_family", make_data())
        return svc.links.new_link(issued["id"])["path"]


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_the_access_log_never_carries_a_citizens_link(env: dict[str, str], tmp_path: Path,
                                                      mode: str) -> None:
    path = _issuer_with_a_link(env)
    secret = path.rsplit("/", 1)[1]
    log = tmp_path / "serve.log"
    with serving(env, mode, log) as (base, _):
        # As routed, /w%2F<secret> and /%77/<secret> are /w/<secret> too.
        for shown in (path, path + "/qr.png", f"/w%2F{secret}", f"/%77/{secret}?lang=en"):
            with urllib.request.urlopen(base + shown, timeout=30) as response:
                assert response.status == 200, shown
    written = log.read_text(errors="replace")
    assert secret not in written
    assert written.count("/w/***") >= 4, written  # the requests are logged, the link cut out


def _threads(pid: int) -> int:
    """Threads of the process and its children (the worker processes)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return len(list(Path(f"/proc/{pid}/task").iterdir())) + sum(_threads(int(c)) for c in children)


def _stall(port: int, count: int) -> list[socket.socket]:
    """`count` connections: half send nothing, half half a request line, then silence."""
    stalled = []
    for n in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        if n % 2:
            sock.sendall(b"GET /.well-known/jwks.json HTTP/1.1\r\nHost: x")
        stalled.append(sock)
    return stalled


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_stalled_clients_cost_no_thread_and_delay_nobody(env: dict[str, str], tmp_path: Path,
                                                         mode: str) -> None:
    """600 stalled connections made 603 threads; here they make none, and a client arriving
    after them is answered while they still hold their connections (they would for 10 minutes)."""
    _issuer_with_a_link(env)
    env = env | {"SOCPASS_HTTP_THREADS": "4", "SOCPASS_HTTP_TIMEOUT": "600"}
    with serving(env, mode, tmp_path / "serve.log") as (base, proc):
        idle = _threads(proc.pid)
        stalled = _stall(int(base.rsplit(":", 1)[1]), 600)
        most = max(_threads(proc.pid) for _ in range(20) if not time.sleep(0.05))
        assert most <= idle + 2, (idle, most)  # a thread starting anyway; 600 would be 600
        with urllib.request.urlopen(base + "/.well-known/jwks.json", timeout=30) as response:
            assert response.status == 200
        for sock in stalled:
            sock.close()


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_silent_clients_are_disconnected(env: dict[str, str], tmp_path: Path, mode: str) -> None:
    _issuer_with_a_link(env)
    env = env | {"SOCPASS_HTTP_THREADS": "4", "SOCPASS_HTTP_TIMEOUT": "1"}
    with serving(env, mode, tmp_path / "serve.log") as (base, _):
        port = int(base.rsplit(":", 1)[1])
        for sock in _stall(port, 10):  # the server hangs up on every silent client
            assert sock.recv(1024) == b""
            sock.close()
        # A body that stops half-way is dropped too (its head was whole).
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            sock.sendall(b"POST /admin/login HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nname=")
            answer = sock.recv(1024)
            assert answer == b"" or re.match(rb"HTTP/1\.[01] 4\d\d ", answer), answer


def test_signing_out_ends_the_session_on_the_server(console_app, service: IssuerService) -> None:
    with Served(console_app, service.settings) as served:
        browser = Browser(served.url)
        assert browser.sign_in("olga", PASSWORD) == 302
        saved = browser.cookie("socpass_session")
        assert browser.get("/admin/credentials")[0] == 200
        status, headers, _ = browser.form_post("/admin/credentials", "/admin/logout")
        assert status == 302 and headers["Location"].endswith("/admin/login")

        replay = Browser(served.url)
        status, headers, _ = replay.get("/admin/credentials",
                                        headers={"Cookie": f"socpass_session={saved}"})
        assert status == 302 and "/admin/login" in headers["Location"]

        # Signing in again works, and a new sign-out ends that session as well.
        assert browser.sign_in("olga", PASSWORD) == 302
        assert browser.get("/admin/credentials")[0] == 200
    actions = [e["action"] for e in service.audit.events(actor="user:olga")]
    assert actions.count("logout") == 1 and actions.count("login") == 2


def test_a_disabled_account_stays_out_when_enabled_again(console_app, service: IssuerService) -> None:
    with Served(console_app, service.settings) as served:
        browser = Browser(served.url)
        assert browser.sign_in("olga", PASSWORD) == 302
        saved = browser.cookie("socpass_session")
        service.accounts.update("olga", active=False)
        service.accounts.update("olga", active=True)
        status, _, _ = Browser(served.url).get("/admin/credentials",
                                               headers={"Cookie": f"socpass_session={saved}"})
        assert status == 302


def test_twenty_wrong_passwords_at_once_get_five_checks(console_app, service: IssuerService,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import issuer.accounts

    checked = []
    hasher = issuer.accounts._HASHER

    class Counting:
        def verify(self, stored: str, password: str) -> bool:
            checked.append(password)
            time.sleep(0.05)  # a slow check keeps the twenty in flight together
            return hasher.verify(stored, password)

        def __getattr__(self, name: str):
            return getattr(hasher, name)

    monkeypatch.setattr(issuer.accounts, "_HASHER", Counting())
    settings = dataclasses.replace(service.settings, http_threads=20)
    with Served(console_app, settings) as served:
        browser = Browser(served.url)
        token = csrf_from(
            browser.get("/admin/login")[2])

        def attempt(n: int) -> int:
            return browser.request("POST", "/admin/login", {"csrf_token": token, "name": "olga",
                                                            "password": f"wrong-guess-{n:04d}"})[0]

        with ThreadPoolExecutor(20) as pool:
            statuses = sorted(pool.map(attempt, range(20)))
        assert len(checked) == issuer.accounts.MAX_FAILURES_PER_USER_AND_ADDRESS
        assert statuses == [401] * 5 + [429] * 15
        # The limit holds for the right password too: it is not even checked.
        assert browser.sign_in("olga", PASSWORD) == 429
        assert len(checked) == 5


def test_the_account_limit_holds_whatever_the_address(console_app, service: IssuerService) -> None:
    """Through a trusted proxy each guess comes from another address: the per-address limit
    never bites, the per-account one does, and the owner from another address is told to wait."""
    from issuer.accounts import MAX_ATTEMPTS_PER_ACCOUNT

    settings = dataclasses.replace(service.settings, trusted_proxies=1)
    app = create_app(settings, service)
    with Served(app, settings) as served:
        browser = Browser(served.url)
        for n in range(MAX_ATTEMPTS_PER_ACCOUNT):
            token = csrf_from(
                browser.get("/admin/login")[2])
            status = browser.request("POST", "/admin/login",
                                     {"csrf_token": token, "name": "olga", "password": f"guess-{n}"},
                                     headers={"X-Forwarded-For": f"198.51.100.{n + 1}"})[0]
            assert status == 401
        token = csrf_from(
            browser.get("/admin/login")[2])
        status = browser.request("POST", "/admin/login",
                                 {"csrf_token": token, "name": "olga", "password": PASSWORD},
                                 headers={"X-Forwarded-For": "203.0.113.9"})[0]
        assert status == 429
        # Another account is not touched.
        assert Browser(served.url).sign_in("boss", PASSWORD) == 302


def test_console_responses_are_never_cached(console_app, service: IssuerService) -> None:
    cid = service.issue("large_family", make_data())["id"]
    with Served(console_app, service.settings) as served:
        browser = Browser(served.url)
        assert browser.get("/admin/login")[1]["Cache-Control"] == "no-store"
        browser.sign_in("olga", PASSWORD)
        for page in ("/admin/credentials", f"/admin/credentials/{cid}", "/admin/audit",
                     "/admin/import", "/admin/issue"):
            status, headers, _ = browser.get(page)
            assert (status, headers["Cache-Control"]) == (200, "no-store"), page
        # The one response that shows a citizen's link.
        status, headers, body = browser.form_post(f"/admin/credentials/{cid}",
                                                  f"/admin/credentials/{cid}/link")
        assert status == 200 and "/w/" in body and headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("trusted, secure", [(1, True), (0, False)])
def test_the_cookie_is_secure_behind_a_trusted_https_proxy(service: IssuerService, people,
                                                            trusted: int, secure: bool) -> None:
    settings = dataclasses.replace(service.settings, trusted_proxies=trusted)
    app = create_app(settings, service)
    with Served(app, settings) as served:
        browser = Browser(served.url)
        token = csrf_from(
            browser.get("/admin/login")[2])
        status, headers, _ = browser.request(
            "POST", "/admin/login", {"csrf_token": token, "name": "olga", "password": PASSWORD},
            headers={"X-Forwarded-Proto": "https",
                     "Referer": served.url.replace("http:", "https:") + "/admin/login"})
        cookies = [v for k, v in headers.items() if k.lower() == "set-cookie"]
        session = next(c for c in cookies if c.startswith("socpass_session="))
        assert ("; Secure" in session) is secure, session


@pytest.mark.slow
def test_a_dead_worker_is_replaced_and_sigterm_stops_them_all(env: dict[str, str],
                                                              tmp_path: Path) -> None:
    import signal

    _issuer_with_a_link(env)
    with serving(env, "workers", tmp_path / "serve.log") as (base, proc):
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
        first = children.read_text().split()
        assert len(first) == 2
        os.kill(int(first[0]), signal.SIGKILL)
        deadline = time.monotonic() + 30
        while (now := children.read_text().split()) == first or len(now) < 2:
            assert time.monotonic() < deadline, "the dead worker was not replaced"
            time.sleep(0.1)
        assert first[0] not in now and first[1] in now
        for _ in range(4):  # whichever worker takes it, it answers
            with urllib.request.urlopen(base + "/.well-known/jwks.json", timeout=30) as response:
                assert response.status == 200
        proc.terminate()
        assert proc.wait(30) == 0
        assert not any(Path(f"/proc/{pid}").exists() for pid in now)
