"""The issuer's web service: a Flask factory only. Routes are in `views/`; logic in the service."""
from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from issuer import i18n
from issuer.config import Settings
from issuer.errors import NotFound, NotInitialized
from issuer.jobs import JobRunner
from issuer.service import IssuerService
from issuer.views import api, auth, console, manage, public, wallet
from shared.errors import InputError, SocpassError

log = logging.getLogger("socpass.issuer.web")

# One place for security headers. No inline script or style, no third-party asset, no frames:
# the policy allows same-origin files only (the console's one script polls an import's
# progress), and nobody may frame us (clickjacking).
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": ("default-src 'none'; img-src 'self'; style-src 'self'; "
                                "script-src 'self'; connect-src 'self'; "
                                "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def create_app(settings: Settings | None = None, service: IssuerService | None = None, *,
               start_jobs: bool = False) -> Flask:
    """`start_jobs`: run queued import jobs in a thread of this process (what `serve` does)."""
    if settings is None:
        settings = service.settings if service is not None else Settings.from_env()
    if service is None:
        service = IssuerService.open(settings, actor="web")
    app = Flask(__name__, static_folder="static", static_url_path="/assets")
    if settings.trusted_proxies:
        # Behind N proxies, believe the last N hops' X-Forwarded-*: the client's address (the
        # sign-in limit counts it) and whether it came over HTTPS (the Secure cookie). Without
        # them the headers are anyone's to send and are ignored.
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["socpass_issuer"] = service
    runner = None
    if start_jobs:
        runner = JobRunner(service)
        runner.start()
        app.extensions["socpass_jobs"] = runner
    i18n.init_babel(app)
    auth.init_auth(app, settings, service)
    app.register_blueprint(public.build_blueprint(service))
    app.register_blueprint(auth.build_blueprint(service))
    app.register_blueprint(console.build_blueprint(service))
    app.register_blueprint(manage.build_blueprint(service, runner.wake.set if runner else None))
    app.register_blueprint(wallet.build_blueprint(service))
    api_bp = api.build_blueprint(service)
    auth.csrf.exempt(api_bp)  # bearer tokens only, no cookie: nothing for a forged form to ride on
    app.register_blueprint(api_bp)
    init_security_headers(app)
    init_error_handlers(app)
    return app


def init_security_headers(app: Flask) -> None:
    @app.after_request
    def _headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.path.startswith("/admin"):
            # Console pages show personal data and, once, citizens' links: no cache, shared or
            # the browser's own (the back button after sign-out), may keep them.
            response.headers["Cache-Control"] = "no-store"
        return response


def error_response(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": code, "message": message})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


HTML_PREFIXES = ("/admin", "/w/")
HTML_MESSAGES = {
    400: _l("Bad request"),
    403: _l("You are not allowed to do this"),
    404: _l("Page not found"),
    405: _l("This action is not available here"),
    413: _l("The file is too large"),
    429: _l("Too many requests"),
}


def _wants_html() -> bool:
    # People's pages (console, citizen's page) get an HTML error page; machines get JSON.
    return request.path.startswith(HTML_PREFIXES) and \
        request.accept_mimetypes.best_match(["text/html", "application/json"]) != "application/json"


def html_error(status: int, code: str, message: str) -> Response:
    response = Response(render_template("error.html", status=status, code=code, message=message),
                        status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def any_error(status: int, code: str, message: str) -> Response:
    if _wants_html():
        return html_error(status, code, message)
    return error_response(status, code, message)


def init_error_handlers(app: Flask) -> None:
    """Every error is JSON `{"error": code, "message": text}`, or a page on people's pages."""

    @app.errorhandler(CSRFError)
    def _csrf(err: CSRFError) -> Response:
        return any_error(400, "csrf", "Форма устарела или отправлена не со страницы консоли: "
                                      "обновите страницу и повторите / the form expired or did not "
                                      "come from the console: reload the page and try again")

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException) -> Response:
        status = err.code or 500
        code = (err.name or "error").lower().replace(" ", "_")
        if _wants_html():
            return html_error(status, code, str(HTML_MESSAGES.get(status, err.description or "")))
        return error_response(status, code, err.description or "")

    @app.errorhandler(SocpassError)
    def _ours(err: SocpassError) -> Response:
        if isinstance(err, NotFound):
            return any_error(404, err.code, err.description)
        if isinstance(err, InputError):
            return any_error(400, err.code, err.description)
        if isinstance(err, NotInitialized):
            return any_error(503, err.code, err.description)
        log.error("issuer misconfigured: %s", err.code)
        return any_error(500, err.code, "ошибка настройки издателя / issuer configuration error")

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> Response:
        # The message or traceback may quote personal data: the full detail only at DEBUG.
        log.error("unexpected error: %s", type(err).__name__)
        log.debug("unexpected error", exc_info=err)
        return any_error(500, "internal_error", "внутренняя ошибка / internal error")
