"""Settings: one table, defaults, strict parsing, the printed configuration."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from issuer import cli
from issuer.config import DEMO_PASSPHRASE, SETTINGS, Settings, warn_demo_passphrase
from issuer.storage.engine import display_url
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


def test_session_secret_is_generated_once_private_and_stable(tmp_path) -> None:
    import stat

    from issuer.config import SECRET_KEY_FILE, session_secret

    settings = Settings.from_env({"SOCPASS_HOME": str(tmp_path / "home")})
    first = session_secret(settings)
    assert len(first) >= 64 and session_secret(settings) == first
    mode = stat.S_IMODE((tmp_path / "home" / SECRET_KEY_FILE).stat().st_mode)
    assert mode == 0o600
    other = Settings.from_env({"SOCPASS_HOME": str(tmp_path / "elsewhere")})
    assert session_secret(other) != first  # random, never a built-in value


def test_session_secret_from_the_environment(tmp_path) -> None:
    from issuer.config import session_secret

    given = "s" * 40
    settings = Settings.from_env({"SOCPASS_HOME": str(tmp_path), "SOCPASS_SECRET_KEY": given})
    assert session_secret(settings) == given.encode() and not (tmp_path / "secret_key").exists()
    assert Settings.from_env({"SOCPASS_SECRET_KEY": given}).to_public_dict(display_url=display_url)["SOCPASS_SECRET_KEY"] == "********"
    with pytest.raises(ConfigError):
        session_secret(Settings.from_env({"SOCPASS_HOME": str(tmp_path), "SOCPASS_SECRET_KEY": "short"}))


@pytest.mark.parametrize("raw,expected", [("auto", "auto"), ("true", "true"), ("0", "false"), ("", "auto")])
def test_cookie_secure(raw: str, expected: str) -> None:
    assert Settings.from_env({"SOCPASS_COOKIE_SECURE": raw}).cookie_secure == expected


def test_cookie_secure_rejects_nonsense() -> None:
    with pytest.raises(ConfigError):
        Settings.from_env({"SOCPASS_COOKIE_SECURE": "maybe"})
