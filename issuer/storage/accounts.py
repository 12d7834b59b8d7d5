"""The statements of console accounts, sign-in failures and API tokens (issuer.accounts)."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from issuer.storage.models import ApiToken, LoginFailure, User


def user_by_name(session: Session, name: str, *, for_update: bool = False) -> User | None:
    stmt = select(User).where(User.name == name)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def users(session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.name)).all()


def other_active_admins(session: Session, user_id: int) -> int:
    return session.scalar(select(func.count()).select_from(User).where(
        User.role == "admin", User.active.is_(True), User.id != user_id)) or 0


def failures_since(session: Session, key: str, since: datetime) -> int:
    """Sign-in failures (or attempts) counted under `key` after `since`."""
    return session.scalar(select(func.count()).select_from(LoginFailure).where(
        LoginFailure.key == key, LoginFailure.at > since)) or 0


def forget_failures_before(session: Session, before: datetime) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.at < before))


def forget_failures(session: Session, key: str, ids: Sequence[int]) -> None:
    """Those counted under `key`, and the rows `ids` (counted under other keys)."""
    session.execute(delete(LoginFailure).where(
        (LoginFailure.key == key) | LoginFailure.id.in_(ids)))


def api_tokens(session: Session) -> Sequence[ApiToken]:
    """Newest first."""
    return session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc())).all()


def api_token_by_hash(session: Session, token_hash: str) -> ApiToken | None:
    return session.scalars(select(ApiToken).where(ApiToken.token_hash == token_hash)).first()
