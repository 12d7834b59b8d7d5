"""Console sign-in: Flask-Login sessions, roles, CSRF, the session cookie's Secure flag."""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import (Blueprint, Flask, Response, abort, current_app, flash, redirect, render_template,
                   request, session, url_for)
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFProtect

from issuer.accounts import LoginRefused, TooManyAttempts, UserInfo, can
from issuer.config import Settings, session_secret
from issuer.forms import LoginForm
from issuer.service import IssuerService

F = TypeVar("F", bound=Callable[..., Any])
SESSION_HOURS = 8
csrf = CSRFProtect()


class ConsoleUser:
    """What Flask-Login keeps for a signed-in person (loaded from the database every request)."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, info: UserInfo) -> None:
        self.info = info

    @property
    def is_active(self) -> bool:
        return self.info.active

    def get_id(self) -> str:
        return f"{self.info.id}:{self.info.session_key}"

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def role(self) -> str:
        return self.info.role

    @property
    def actor(self) -> str:
        return f"user:{self.info.name}"

    def can(self, permission: str) -> bool:
        return can(self.info.role, permission)


class _SessionInterface(SecureCookieSessionInterface):
    """SOCPASS_COOKIE_SECURE=auto: Secure whenever this request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:  # type: ignore[override]
        mode = app.config["SOCPASS_COOKIE_SECURE"]
        if mode == "auto":
            return request.is_secure
        return mode == "true"


def init_auth(app: Flask, settings: Settings, service: IssuerService) -> None:
    app.config.update(
        SECRET_KEY=session_secret(settings),
        SESSION_COOKIE_NAME="socpass_session",
        SESSION_COOKIE_HTTPONLY=True,  # no script can read the session
        SESSION_COOKIE_SAMESITE="Lax",  # not sent on cross-site POSTs (CSRF defence in depth)
        SOCPASS_COOKIE_SECURE=settings.cookie_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
        WTF_CSRF_TIME_LIMIT=SESSION_HOURS * 3600,
        WTF_CSRF_SSL_STRICT=True,
    )
    app.session_interface = _SessionInterface()
    csrf.init_app(app)
    manager = LoginManager()
    manager.login_view = "auth.login"
    manager.login_message = "Sign in to continue"  # translated when flashed
    manager.localize_callback = gettext
    manager.login_message_category = "info"
    manager.session_protection = "basic"
    manager.init_app(app)

    @manager.user_loader
    def _load(user_key: str) -> ConsoleUser | None:
        user_id, _, session_key = user_key.partition(":")
        if not user_id.isdigit():
            return None
        info = service.accounts.get(int(user_id))
        if info is None or not info.active or info.session_key != session_key:
            return None  # disabled or password changed: the old session ends
        return ConsoleUser(info)

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"current_user": current_user}


def require(permission: str) -> Callable[[F], F]:
    """Signed in (else the sign-in page) and allowed (else 403)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            if not current_user.can(permission):
                abort(403)
            return view(*args, **kwargs)
        return wrapped  # type: ignore[return-value]
    return decorator


def acting(service: IssuerService) -> IssuerService:
    """The service recording the signed-in user as the actor of what follows."""
    return service.acting_as(current_user.actor)


def _safe_next(target: str | None) -> str:
    # Only our own console pages: never an open redirect to another site.
    if target and target.startswith("/admin") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("console.credentials")


def build_blueprint(service: IssuerService) -> Blueprint:
    bp = Blueprint("auth", __name__, url_prefix="/admin")

    @bp.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        form = LoginForm()
        status = 200
        if form.validate_on_submit():
            try:
                info = service.accounts.authenticate(form.name.data or "", form.password.data or "",
                                                     request.remote_addr or "-")
            except TooManyAttempts as err:
                flash(err.description, "error")
                status = 429
            except LoginRefused as err:
                flash(err.description, "error")
                status = 401
            else:
                session.clear()  # a fresh session at sign-in (no fixation)
                session.permanent = True
                login_user(ConsoleUser(info))
                return redirect(_safe_next(request.args.get("next")))
        elif request.method == "POST":
            status = 400
        return render_template("login.html", form=form), status

    @bp.post("/logout")
    def logout() -> Response:
        if current_user.is_authenticated:
            service.accounts.sign_out(current_user.info.id)  # the cookie dies on the server too
        logout_user()
        session.clear()
        flash(gettext("You have signed out"), "info")
        return redirect(url_for("auth.login"))

    return bp
