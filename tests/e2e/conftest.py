"""End-to-end helpers: real processes, real HTTP on loopback, a data directory per test."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Env:
    """One machine's worth of socpass: a SOCPASS_HOME and the two console scripts."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SOCPASS_")}
        self.env.update(SOCPASS_HOME=str(home), SOCPASS_KEY_PASSPHRASE="e2e-passphrase",
                        SOCPASS_STATUS_LIST_SIZE="4096", PYTHONUNBUFFERED="1")
        self.procs: list[subprocess.Popen] = []
        self.logs: list = []

    def run(self, tool: str, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(BIN / f"socpass-{tool}"), *args], env=self.env, input=input,
                              capture_output=True, text=True, timeout=120)
        if check and proc.returncode != 0:
            raise AssertionError(f"socpass-{tool} {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
        return proc

    def json(self, tool: str, *args: str, **kw) -> dict:
        return json.loads(self.run(tool, *args, **kw).stdout)

    def serve(self, tool: str, port: int, *extra: str) -> str:
        log = open(self.home / f"{tool}-{port}.log", "wb")
        self.logs.append(log)
        proc = subprocess.Popen([str(BIN / f"socpass-{tool}"), "serve", "--host", "127.0.0.1", "--port", str(port),
                                 *extra], env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"{tool} server exited: {(self.home / f'{tool}-{port}.log').read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return url
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"{tool} server did not start")

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in self.logs:
            log.close()


@pytest.fixture
def e2e(tmp_path):
    env = Env(tmp_path)
    yield env
    env.stop()


def post_json(url: str, obj) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=json.dumps(obj).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def http_status(url: str, data: bytes | None = None, headers: dict | None = None) -> int:
    """The status of one request (GET, or POST with `data`), an error status included."""
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code
