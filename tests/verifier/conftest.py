from __future__ import annotations

import pytest

from tests.verifier.fakeissuer import NOW, FakeIssuer
from verifier import cache
from verifier.config import Settings
from verifier.service import Verifier
from verifier.sync import sync


@pytest.fixture
def issuer() -> FakeIssuer:
    return FakeIssuer()


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings.from_env({"SOCPASS_HOME": str(tmp_path / "home")})


@pytest.fixture
def publish(tmp_path):
    """publish(issuer, **token_kwargs) -> a fresh directory holding its publication."""
    counter = iter(range(10_000))

    def _publish(iss: FakeIssuer, **kwargs):
        return iss.publish(tmp_path / f"pub{next(counter)}", **kwargs)

    return _publish


@pytest.fixture
def synced(issuer, settings, publish):
    """The default issuer published and synced into the settings' cache directory."""
    sync([str(publish(issuer))], settings.cache_dir, NOW)
    return cache.load(settings.cache_dir)


@pytest.fixture
def verifier(synced, settings) -> Verifier:
    return Verifier(synced, settings)


@pytest.fixture
def build(settings, publish):
    """build(*issuers, now=NOW, settings=None, **token_kwargs) -> Verifier over a fresh sync."""

    def _build(*issuers: FakeIssuer, now: int = NOW, settings_: Settings | None = None,
               **token_kwargs) -> Verifier:
        chosen = settings_ or settings
        sync([str(publish(i, **token_kwargs)) for i in issuers], chosen.cache_dir, now)
        return Verifier(cache.load(chosen.cache_dir), chosen)

    return _build


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    # Loopback test servers must be reached directly even where a proxy is configured.
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")
