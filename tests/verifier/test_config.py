from __future__ import annotations

from pathlib import Path

import pytest

from shared.errors import ConfigError
from verifier.config import SETTINGS, Settings


def test_defaults():
    s = Settings.from_env({})
    assert s.home == Path("var") and s.cache_dir == Path("var/verifier")
    assert (s.leeway, s.clock_tolerance, s.status_grace) == (60, 300, 3 * 86400)
    assert s.venue_profile == "museum" and s.venue_policy is None
    assert s.max_body == 10 * 1024 * 1024 and s.sync_timeout == 10.0
    assert (s.timezone, s.recent_window, s.recent_policy, s.scanlog_days) == (
        "Asia/Vladivostok", 600, "warn", 400)


def test_scan_log_settings():
    s = Settings.from_env({"SOCPASS_RECENT_WINDOW": "0", "SOCPASS_RECENT_POLICY": "reject",
                           "SOCPASS_TIMEZONE": "Europe/Moscow", "SOCPASS_SCANLOG_DAYS": "30"})
    assert (s.recent_window, s.recent_policy, s.timezone, s.scanlog_days) == (
        0, "reject", "Europe/Moscow", 30)


def test_values_from_the_environment(tmp_path):
    s = Settings.from_env({"SOCPASS_HOME": str(tmp_path), "SOCPASS_LEEWAY": "0",
                           "SOCPASS_VENUE_PROFILE": "transport", "SOCPASS_SYNC_TIMEOUT": "2.5",
                           "SOCPASS_VENUE_POLICY": str(tmp_path / "p.json"),
                           "SOCPASS_STATUS_GRACE": " 3600 "})
    assert s.cache_dir == tmp_path / "verifier" and s.leeway == 0 and s.status_grace == 3600
    assert s.venue_profile == "transport" and s.sync_timeout == 2.5
    assert s.venue_policy == tmp_path / "p.json"
    assert Settings.from_env({"SOCPASS_VERIFIER_CACHE": "/srv/cache"}).cache_dir == Path("/srv/cache")


def test_empty_means_default():
    assert Settings.from_env({"SOCPASS_LEEWAY": "", "SOCPASS_VENUE_PROFILE": " "}).leeway == 60


@pytest.mark.parametrize("name, value", [
    ("SOCPASS_LEEWAY", "1.5"), ("SOCPASS_LEEWAY", "-1"), ("SOCPASS_LEEWAY", "sixty"),
    ("SOCPASS_CLOCK_TOLERANCE", "5m"), ("SOCPASS_STATUS_GRACE", "1e6"),
    ("SOCPASS_MAX_BODY", "0"), ("SOCPASS_MAX_BODY", "10MB"), ("SOCPASS_SYNC_TIMEOUT", "0"),
    ("SOCPASS_SYNC_TIMEOUT", "inf"), ("SOCPASS_VENUE_PROFILE", "Museum"),
    ("SOCPASS_VENUE_PROFILE", "../etc"), ("SOCPASS_RECENT_POLICY", "block"),
    ("SOCPASS_RECENT_POLICY", "Reject"), ("SOCPASS_RECENT_WINDOW", "-1"),
    ("SOCPASS_RECENT_WINDOW", "10m"), ("SOCPASS_TIMEZONE", "Mars/Olympus"),
    ("SOCPASS_TIMEZONE", "../../etc/passwd"), ("SOCPASS_SCANLOG_DAYS", "0"),
])
def test_strict_parsing(name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})


def test_describe_lists_every_setting():
    described = Settings.from_env({}).describe()
    assert list(described) == [s.env for s in SETTINGS]
    assert described["SOCPASS_VERIFIER_CACHE"] == "var/verifier"
    assert all(s.doc for s in SETTINGS)
