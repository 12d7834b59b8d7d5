"""The issuer's errors as HTTP answers: one table from exception to status, one JSON shape
`{"error": code, "message": text}`, an HTML page on people's pages. Views raise; nothing else
translates."""
from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from issuer.accounts import Unauthorized
from issuer.errors import AlreadyIssued, InvalidState, NotFound, NotInitialized
from issuer.storage.errors import Unavailable
from shared.errors import InputError, SocpassError

log = logging.getLogger("socpass.issuer.web")

# What the service layers raise, as the client sees it (first match wins, so a subclass comes
# before its base: AlreadyIssued and InvalidState are InputErrors). A conflict with the
# credential's current state is 409, as docs/console.md and the OpenAPI say; bad input is 400. Any
# other SocpassError is our own side's fault: 500.
STATUSES: tuple[tuple[type[SocpassError], int], ...] = (
    (Unauthorized, 401),
    (NotFound, 404),
    (AlreadyIssued, 409),
    (InvalidState, 409),
    (InputError, 400),
    (NotInitialized, 503),
)
CONFIG_MESSAGE = "ошибка настройки издателя / issuer configuration error"
INTERNAL_MESSAGE = "внутренняя ошибка / internal error"
UNAVAILABLE_MESSAGE = ("база данных недоступна, повторите позже / the database is unavailable, "
                       "try again later")
CSRF_MESSAGE = ("Форма устарела или отправлена не со страницы консоли: обновите страницу и "
                "повторите / the form expired or did not come from the console: reload the page "
                "and try again")

HTML_PREFIXES = ("/admin", "/w/")
HTML_MESSAGES = {
    400: _l("Bad request"),
    403: _l("You are not allowed to do this"),
    404: _l("Page not found"),
    405: _l("This action is not available here"),
    413: _l("The file is too large"),
    429: _l("Too many requests"),
}


def status_of(err: SocpassError) -> int:
    for kind, status in STATUSES:
        if isinstance(err, kind):
            return status
    return 500


def wants_html() -> bool:
    # People's pages (console, citizen's page) get an HTML error page; machines get JSON.
    return request.path.startswith(HTML_PREFIXES) and \
        request.accept_mimetypes.best_match(["text/html", "application/json"]) != "application/json"


def json_error(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": code, "message": message})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="socpass"'
    return response


def html_error(status: int, code: str, message: str) -> Response:
    response = Response(render_template("error.html", status=status, code=code, message=message),
                        status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def error(status: int, code: str, message: str) -> Response:
    if wants_html():
        return html_error(status, code, message)
    return json_error(status, code, message)


def init_app(app: Flask) -> None:
    """Every error a view lets out becomes JSON, or a page on people's pages."""

    @app.errorhandler(CSRFError)
    def _csrf(err: CSRFError) -> Response:
        return error(400, "csrf", CSRF_MESSAGE)

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException) -> Response:
        status = err.code or 500
        code = (err.name or "error").lower().replace(" ", "_")
        if wants_html():
            return html_error(status, code, str(HTML_MESSAGES.get(status, err.description or "")))
        return json_error(status, code, err.description or "")

    @app.errorhandler(SocpassError)
    def _ours(err: SocpassError) -> Response:
        status = status_of(err)
        if status != 500:
            return error(status, err.code, err.description)
        log.error("issuer misconfigured: %s", err.code)
        return error(status, err.code, CONFIG_MESSAGE)

    @app.errorhandler(Unavailable)
    def _database_down(err: Unavailable) -> Response:
        # A restart or failover of the database: the client may retry; not our code's fault.
        log.error("database unavailable: %s", err.kind)
        return error(503, "database_unavailable", UNAVAILABLE_MESSAGE)

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> Response:
        # The message or traceback may quote personal data: the full detail only at DEBUG.
        log.error("unexpected error: %s", type(err).__name__)
        log.debug("unexpected error", exc_info=err)
        return error(500, "internal_error", INTERNAL_MESSAGE)
