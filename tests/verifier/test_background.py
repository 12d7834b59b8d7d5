"""The background syncer of `serve`: one per cache directory, its outcome in sync-state.json,
a failure that keeps the cache; and one syncer under gunicorn with two workers."""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.verifier.fakeissuer import NOW
from verifier import background
from verifier.background import BackgroundSync
from verifier.cache import CacheHolder
from verifier.sync import sync

ROOT = Path(__file__).resolve().parents[2]


def syncer(settings, clock=lambda: NOW + 600, **changes):
    settings = dataclasses.replace(settings, **changes)
    return BackgroundSync(settings, CacheHolder(settings.cache_dir), clock)


def test_one_syncer_per_cache_directory(settings):
    first, second = syncer(settings), syncer(settings)
    assert first.lead() is True and first.lead() is True
    assert second.lead() is False
    first.stop()  # as when its process ends
    assert second.lead() is True
    second.stop()


def test_an_attempt_syncs_the_last_sources_and_says_so(synced, settings):
    [source] = background.sources_of(synced)
    state = syncer(settings).run_once()
    assert state["ok"] is True and state["synced_at"] == NOW + 600
    assert state["sources"] == [Path(source).name]  # a directory by its name, not its path
    assert background.read_state(settings.cache_dir) == state
    assert CacheHolder(settings.cache_dir).current().synced_at == NOW + 600


def test_a_failed_attempt_keeps_the_cache_and_the_last_success(synced, settings):
    [source] = background.sources_of(synced)
    syncer(settings).run_once()
    shutil.rmtree(source)  # the USB stick is gone
    state = syncer(settings, clock=lambda: NOW + 900).run_once()
    assert state["ok"] is False and "no such directory" in state["error"]
    assert state["attempted_at"] == NOW + 900 and state["synced_at"] == NOW + 600
    assert CacheHolder(settings.cache_dir).current().synced_at == NOW + 600


def test_nothing_to_sync_is_said(settings):
    state = syncer(settings).run_once()
    assert state["ok"] is False and "SOCPASS_SYNC_SOURCES" in state["error"]


def test_first_attempt_is_due_one_interval_after_the_last_sync(synced, settings):
    assert syncer(settings, clock=lambda: NOW + 100, sync_interval=300).first_delay() == 200
    assert syncer(settings, clock=lambda: NOW + 900, sync_interval=300).first_delay() == 0


def test_one_syncer_under_gunicorn_with_two_workers(tmp_path, issuer, publish):
    from bench.common import wait_for_gunicorn
    from tests.e2e.conftest import free_port

    source = publish(issuer)
    cache_dir = tmp_path / "cache"
    sync([str(source)], cache_dir, int(time.time()) - 3600)
    port = free_port()
    env = dict(os.environ, SOCPASS_VERIFIER_CACHE=str(cache_dir), SOCPASS_HOME=str(tmp_path),
               SOCPASS_SYNC_INTERVAL="1")
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
                               "--log-level", "warning", "verifier.app:create_app()"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        workers = wait_for_gunicorn(server, port, 2)
        seen: dict[int, int] = {}  # attempted_at -> pid
        deadline = time.monotonic() + 60
        while len(seen) < 4 and time.monotonic() < deadline:
            state = background.read_state(cache_dir)
            if state and state.get("ok"):
                seen[state["attempted_at"]] = state["pid"]
            time.sleep(0.2)
        assert len(seen) >= 4, seen
        assert len(set(seen.values())) == 1 and set(seen.values()) <= set(workers), (seen, workers)
    finally:
        server.terminate()
        server.wait(20)
