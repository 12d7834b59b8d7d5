"""Console accounts (argon2id passwords, roles, sign-in rate limit) and machine API tokens.

Roles: `admin` manages users, keys and API tokens (and may do everything else), `operator`
issues, imports, revokes, suspends and reinstates, `auditor` reads. Sign-in failures are counted
in the database, so the limit holds across every worker process.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from issuer import loginaudit
from issuer.config import session_secret
from issuer.context import Context
from issuer.errors import InvalidState, NotFound
from issuer.storage import accounts as account_queries
from issuer.storage import queries
from issuer.storage.errors import Conflict
from issuer.storage.models import ROLES, ApiToken, LoginFailure, User
from shared.errors import InputError, SocpassError

# Who may do what: views and the API check these, never role names directly.
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset(ROLES),
    "issue": frozenset({"admin", "operator"}),  # issue, import, revoke, suspend, reinstate, links
    # Showing or exporting citizens' links: bearer secrets to someone's page, never to auditors.
    "links": frozenset({"admin", "operator"}),
    "admin": frozenset({"admin"}),  # users, keys, API tokens
}
MIN_PASSWORD = 12
MAX_PASSWORD = 256
LOGIN_WINDOW = timedelta(minutes=5)
# Attempts in LOGIN_WINDOW, counted before the password is checked (a successful one is taken
# back): per name from one address, per address, and per name from anywhere (an attacker with
# many addresses still gets MAX_ATTEMPTS_PER_ACCOUNT guesses a window).
MAX_FAILURES_PER_USER_AND_ADDRESS = 5
MAX_FAILURES_PER_ADDRESS = 30
MAX_ATTEMPTS_PER_ACCOUNT = 10
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
_DUMMY_HASH = _HASHER.hash("timing-equaliser-not-a-password")
TOKEN_PREFIX = "spt_"


class LoginRefused(SocpassError):
    """Неверное имя пользователя или пароль / wrong user name or password."""

    code = "login_refused"


class TooManyAttempts(SocpassError):
    """Слишком много неудачных попыток входа: подождите 5 минут / too many failed sign-ins: wait 5 minutes."""

    code = "too_many_attempts"


class Unauthorized(SocpassError):
    """Нужен действующий токен API / a valid API token is required."""

    code = "unauthorized"


def can(role: str | None, permission: str) -> bool:
    return role is not None and role in PERMISSIONS[permission]


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class UserInfo:
    id: int
    name: str
    role: str
    active: bool
    # Changes with the password: a session signed before a password reset stops working.
    session_key: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "role": self.role, "active": self.active}


def _info(row: User) -> UserInfo:
    return UserInfo(row.id, row.name, row.role, bool(row.active),
                    sha256_hex(f"{row.password_hash}|{row.session_nonce or ''}")[:16])


def _new_session_nonce() -> str:
    return secrets.token_hex(16)


def check_name(name: str) -> str:
    name = name.strip()
    if not _NAME.fullmatch(name):
        raise InputError("имя пользователя: латиница, цифры и . _ @ -, до 64 символов "
                         "/ user name: Latin letters, digits and . _ @ -, up to 64",
                         code="invalid_user_name")
    return name


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise InputError(f"роль: одна из {', '.join(ROLES)} / role: one of {', '.join(ROLES)}",
                         code="invalid_role")
    return role


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InputError(f"пароль: не короче {MIN_PASSWORD} символов / password: at least "
                         f"{MIN_PASSWORD} characters", code="invalid_password")
    return password


def generate_password() -> str:
    return secrets.token_urlsafe(15)  # 20 characters, 120 bits


class Accounts:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def add_user(self, name: str, role: str, password: str | None = None) -> dict[str, Any]:
        """Create an account; without a password one is generated and returned (once)."""
        name, role = check_name(name), _check_role(role)
        generated = password is None
        password = generate_password() if password is None else check_password(password)
        now = self.ctx.now()
        try:
            with self.ctx.store.write() as session:
                if account_queries.user_by_name(session, name) is not None:
                    raise InvalidState(f"пользователь {name} уже есть / user already exists",
                                       code="user_exists")
                session.add(User(name=name, password_hash=_HASHER.hash(password), role=role,
                                 active=True, created_at=now, updated_at=now))
                queries.add_event(session, at=now, actor=self.ctx.actor, action="user_add",
                                detail={"user": name, "before": None,
                                        "after": {"role": role, "active": True}})
        except Conflict as err:
            raise InvalidState(f"пользователь {name} уже есть / user already exists",
                               code="user_exists") from err
        out: dict[str, Any] = {"name": name, "role": role}
        if generated:
            out["password"] = password
        return out

    def users(self) -> list[dict[str, Any]]:
        with self.ctx.store.read() as session:
            return [_info(r).to_dict() | {"created_at": r.created_at.astimezone(self.ctx.tz).isoformat()}
                    for r in account_queries.users(session)]

    def get(self, user_id: int) -> UserInfo | None:
        with self.ctx.store.read() as session:
            row = session.get(User, user_id)
            return _info(row) if row is not None else None

    def update(self, name: str, *, role: str | None = None, active: bool | None = None,
               reset_password: bool = False, password: str | None = None) -> dict[str, Any]:
        """Change role, enable/disable, or set a new password (generated unless given)."""
        now = self.ctx.now()
        new_password = None
        if reset_password or password is not None:
            new_password = generate_password() if password is None else check_password(password)
        with self.ctx.store.write() as session:
            row = account_queries.user_by_name(session, name, for_update=True)
            if row is None:
                raise NotFound(f"пользователь {name!r} не найден / user not found", code="user_not_found")
            before = {"role": row.role, "active": bool(row.active)}
            if role is not None:
                row.role = _check_role(role)
            if active is not None:
                row.active = active
            if row.role != "admin" or not row.active:
                others = account_queries.other_active_admins(session, row.id)
                if before["role"] == "admin" and before["active"] and others == 0:
                    raise InvalidState("нельзя лишить прав последнего администратора / cannot "
                                       "demote or disable the last admin", code="last_admin")
            if new_password is not None:
                row.password_hash = _HASHER.hash(new_password)
            if new_password is not None or not row.active:
                row.session_nonce = _new_session_nonce()  # every session of the account ends
            row.updated_at = now
            after = {"role": row.role, "active": bool(row.active)}
            action = ("user_password" if new_password is not None and before == after else
                      "user_role" if before["role"] != after["role"] else
                      "user_enable" if after["active"] and not before["active"] else
                      "user_disable" if before["active"] and not after["active"] else "user_update")
            queries.add_event(session, at=now, actor=self.ctx.actor, action=action,
                            detail={"user": name, "before": before, "after": after,
                                    "password_changed": new_password is not None})
        out: dict[str, Any] = {"name": name, **after}
        if new_password is not None and password is None:
            out["password"] = new_password
        return out

    # --- sign-in -----------------------------------------------------------------------------

    def authenticate(self, name: str, password: str, address: str) -> UserInfo:
        """The user, or LoginRefused / TooManyAttempts. The attempt is counted before its password
        is checked, in one write transaction (serialised by the store), so twenty sent at once
        get MAX_FAILURES_PER_USER_AND_ADDRESS checks, not twenty. Each refusal is an audit event
        (issuer.loginaudit: no password, the address truncated)."""
        now = self.ctx.now()
        typed = name.strip()
        key = sha256_hex(f"{typed.casefold()}|{address}")
        keys = (key, sha256_hex(f"|{address}"), sha256_hex(f"account|{typed.casefold()}"))
        limits = (MAX_FAILURES_PER_USER_AND_ADDRESS, MAX_FAILURES_PER_ADDRESS, MAX_ATTEMPTS_PER_ACCOUNT)
        with self.ctx.store.write() as session:
            row = account_queries.user_by_name(session, typed)
            stored = row.password_hash if row is not None else _DUMMY_HASH
            attempts = [LoginFailure(key=k, at=now) for k in keys]
            session.add_all(attempts)
            session.flush()
            counts = [account_queries.failures_since(session, k, now - LOGIN_WINDOW) for k in keys]
            limited = any(count > limit for count, limit in zip(counts, limits))
            if limited:  # refused unchecked; the refusal does not extend the lock
                for attempt in attempts:
                    session.delete(attempt)
                self._refused_while_limited(session, typed, row is not None, address, key, now)
            else:
                account_queries.forget_failures_before(session, now - 4 * LOGIN_WINDOW)
            attempt_ids = [a.id for a in attempts]
        if limited:
            raise TooManyAttempts()
        ok = False
        try:
            ok = _HASHER.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        if row is None or not ok or not row.active:
            reason = "unknown_user" if row is None else "wrong_password" if not ok else "disabled"
            with self.ctx.store.write() as session:
                self._audit_refusal(session, typed, row is not None, address, reason, now)
            raise LoginRefused()
        with self.ctx.store.write() as session:
            # The right password: this attempt is taken back, and the mistakes made before it
            # from this address are forgiven.
            account_queries.forget_failures(session, key, attempt_ids)
            fresh = session.get(User, row.id)
            assert fresh is not None
            if _HASHER.check_needs_rehash(fresh.password_hash):
                fresh.password_hash = _HASHER.hash(password)
            queries.add_event(session, at=now, actor=f"user:{fresh.name}", action="login")
            return _info(fresh)

    def sign_out(self, user_id: int) -> None:
        """End every session of the account on the server: a cookie kept from before, sent
        again, no longer opens the console."""
        now = self.ctx.now()
        with self.ctx.store.write() as session:
            row = session.get(User, user_id)
            if row is None:
                return
            row.session_nonce = _new_session_nonce()
            queries.add_event(session, at=now, actor=f"user:{row.name}", action="logout")

    def _refused_while_limited(self, session: Any, name: str, known: bool, address: str, key: str,
                               now: datetime) -> None:
        """Counted apart from attempts (they do not extend the lock); logged 1st, 2nd, 4th..."""
        limited_key = sha256_hex(f"limited|{key}")
        session.add(LoginFailure(key=limited_key, at=now))
        session.flush()
        attempt = account_queries.failures_since(session, limited_key, now - LOGIN_WINDOW)
        if loginaudit.worth_recording(attempt):
            self._audit_refusal(session, name, known, address, "too_many_attempts", now,
                                attempt=attempt)

    def _audit_refusal(self, session: Any, name: str, known: bool, address: str, reason: str,
                       now: datetime, attempt: int | None = None) -> None:
        secret = session_secret(self.ctx.settings)
        actor, detail = loginaudit.actor_and_name(name, known, secret)
        detail |= loginaudit.client_fields(address, secret)
        if attempt is not None:
            detail["attempt"] = attempt
        queries.add_event(session, at=now, actor=actor, action="login_failed", reason=reason,
                        detail=detail)


class ApiTokens:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def create(self, name: str) -> dict[str, Any]:
        """A new bearer token: returned once, stored as its SHA-256 only."""
        name = " ".join(name.split())
        if not name or len(name) > 128:
            raise InputError("название токена обязательно, до 128 символов / a token name is "
                             "required, up to 128 characters", code="invalid_token_name")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token_id = secrets.token_hex(6)
        now = self.ctx.now()
        with self.ctx.store.write() as session:
            session.add(ApiToken(id=token_id, name=name, token_hash=sha256_hex(token),
                                 created_by=self.ctx.actor, created_at=now))
            queries.add_event(session, at=now, actor=self.ctx.actor, action="token_create",
                            detail={"token_id": token_id, "name": name})
        return {"id": token_id, "name": name, "token": token}

    def list(self) -> list[dict[str, Any]]:
        tz = self.ctx.tz
        with self.ctx.store.read() as session:
            return [{"id": r.id, "name": r.name, "created_by": r.created_by,
                     "created_at": r.created_at.astimezone(tz).isoformat(),
                     "revoked_at": r.revoked_at.astimezone(tz).isoformat() if r.revoked_at else None,
                     "last_used_at": r.last_used_at.astimezone(tz).isoformat() if r.last_used_at else None}
                    for r in account_queries.api_tokens(session)]

    def revoke(self, token_id: str) -> dict[str, Any]:
        now = self.ctx.now()
        with self.ctx.store.write() as session:
            row = session.get(ApiToken, token_id)
            if row is None:
                raise NotFound("токен не найден / token not found", code="token_not_found")
            if row.revoked_at is None:
                row.revoked_at = now
                queries.add_event(session, at=now, actor=self.ctx.actor, action="token_revoke",
                                detail={"token_id": token_id, "name": row.name})
            return {"id": row.id, "name": row.name, "revoked": True}

    def authenticate(self, token: str) -> str:
        """The token's name, or Unauthorized."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
            raise Unauthorized()
        digest = sha256_hex(token)
        now = self.ctx.now()
        with self.ctx.store.read() as session:
            row = account_queries.api_token_by_hash(session, digest)
            if row is None or row.revoked_at is not None:
                raise Unauthorized()
            name, last_used, token_id = row.name, row.last_used_at, row.id
        if last_used is None or now - last_used > timedelta(minutes=1):
            with self.ctx.store.write() as session:  # at most one write a minute per token
                fresh = session.get(ApiToken, token_id)
                if fresh is not None:
                    fresh.last_used_at = now
        return name
