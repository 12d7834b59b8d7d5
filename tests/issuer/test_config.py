"""Settings: one table, defaults, strict parsing, the printed configuration."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from issuer import cli
from issuer.config import DEMO_PASSPHRASE, SETTINGS, Settings, warn_demo_passphrase
from shared.errors import ConfigError


def test_defaults(tmp_path: Path) -> None:
    s = Settings.from_env({}, cwd=tmp_path)
    assert s.home == (tmp_path / "var").resolve()
    assert s.database_url == f"sqlite:///{tmp_path.resolve() / 'var' / 'issuer.db'}"
    assert s.key_passphrase is None and s.demo is False
    assert s.timezone == "Asia/Vladivostok"
    assert (s.status_list_size, s.status_ttl, s.status_lifetime) == (1048576, 3600, 7 * 86400)


def test_home_drives_the_default_database(tmp_path: Path) -> None:
    s = Settings.from_env({"SOCPASS_HOME": str(tmp_path / "data")})
    assert s.database_url == f"sqlite:///{tmp_path / 'data' / 'issuer.db'}"


@pytest.mark.parametrize("raw,expected", [("true", True), ("1", True), ("YES", True), ("on", True),
                                          ("false", False), ("0", False), ("no", False), ("", False)])
def test_booleans(raw: str, expected: bool) -> None:
    assert Settings.from_env({"SOCPASS_DEMO": raw}).demo is expected


@pytest.mark.parametrize("name,raw", [
    ("SOCPASS_DEMO", "maybe"),
    ("SOCPASS_DEMO", "ture"),
    ("SOCPASS_STATUS_LIST_SIZE", "lots"),
    ("SOCPASS_STATUS_LIST_SIZE", "100"),  # not a multiple of 8
    ("SOCPASS_STATUS_LIST_SIZE", "8"),  # too small
    ("SOCPASS_STATUS_TTL", "-5"),
    ("SOCPASS_STATUS_LIFETIME", "1.5"),
    ("SOCPASS_TIMEZONE", "Mars/Olympus"),
    ("SOCPASS_TIMEZONE", "../../etc/passwd"),
    ("SOCPASS_LOG_LEVEL", "LOUD"),
])
def test_bad_values_are_config_errors(name: str, raw: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({name: raw})
    assert name in info.value.description


def test_lifetime_not_shorter_than_ttl() -> None:
    with pytest.raises(ConfigError):
        Settings.from_env({"SOCPASS_STATUS_TTL": "7200", "SOCPASS_STATUS_LIFETIME": "3600"})


def test_passphrase_required_outside_demo() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({}).passphrase()
    assert info.value.code == "no_passphrase"
    assert "SOCPASS_KEY_PASSPHRASE" in info.value.description
    assert "SOCPASS_DEMO" in info.value.description


def test_demo_passphrase_and_its_warning() -> None:
    s = Settings.from_env({"SOCPASS_DEMO": "true"})
    assert s.passphrase() == DEMO_PASSPHRASE.encode()
    assert s.demo_passphrase_in_use
    out = io.StringIO()
    warn_demo_passphrase(s, out)
    assert "DEMO" in out.getvalue() and "ДЕМО" in out.getvalue()
    real = Settings.from_env({"SOCPASS_DEMO": "true", "SOCPASS_KEY_PASSPHRASE": "real one"})
    assert real.passphrase() == b"real one" and not real.demo_passphrase_in_use
    out = io.StringIO()
    warn_demo_passphrase(real, out)
    assert out.getvalue() == ""


def test_every_field_has_one_setting() -> None:
    fields = {s.field for s in SETTINGS}
    assert fields == set(Settings.__dataclass_fields__)
    assert all(s.env.startswith("SOCPASS_") and s.doc for s in SETTINGS)


def test_config_command_masks_secrets(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                      tmp_path: Path) -> None:
    monkeypatch.setenv("SOCPASS_HOME", str(tmp_path))
    monkeypatch.setenv("SOCPASS_KEY_PASSPHRASE", "hunter2")
    monkeypatch.setenv("SOCPASS_DATABASE_URL", "postgresql+psycopg://app:dbsecret@db.example/socpass")
    assert cli.main(["config"]) == 0
    out = capsys.readouterr().out
    assert "hunter2" not in out and "dbsecret" not in out
    shown = json.loads(out)
    assert shown["SOCPASS_KEY_PASSPHRASE"] == "********"
    assert shown["SOCPASS_HOME"] == str(tmp_path)
    assert set(shown) >= {s.env for s in SETTINGS}


def test_config_command_reports_bad_setting(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SOCPASS_DEMO", "perhaps")
    assert cli.main(["config"]) == 1
    err = capsys.readouterr().err
    assert "SOCPASS_DEMO" in err and "Traceback" not in err
