"""Issuer-specific errors; each keeps the stable code and the Russian / English description."""
from __future__ import annotations

from shared.errors import ConfigError, InputError, SocpassError


class NotFound(SocpassError):
    """Запись не найдена / not found."""

    code = "not_found"


class AlreadyIssued(InputError):
    """У этого номера реестра уже есть действующее удостоверение / registry_id already has a live credential."""

    code = "already_issued"


class InvalidState(InputError):
    """Действие невозможно в текущем состоянии / not possible in the current state."""

    code = "invalid_state"


class NotInitialized(ConfigError):
    """Издатель не инициализирован: выполните `socpass-issuer init` / issuer not initialised: run init."""

    code = "not_initialized"


class AlreadyInitialized(ConfigError):
    """Издатель уже инициализирован / the issuer is already initialised."""

    code = "already_initialized"


class NoActiveKey(ConfigError):
    """Нет активного ключа подписи: выполните `keys rotate` / no active signing key: run `keys rotate`."""

    code = "no_active_key"
