"""The issuer's web service: a Flask factory only. Routes are in `views.py`; logic in the service."""
from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from issuer.config import Settings
from issuer.errors import NotFound, NotInitialized
from issuer.service import IssuerService
from issuer.views.public import build_blueprint
from shared.errors import InputError, SocpassError

log = logging.getLogger("socpass.issuer.web")

# One place for security headers. Pages here have no script, no inline style, no frames: the
# policy allows nothing beyond same-origin links, and nobody may frame us (clickjacking).
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": ("default-src 'none'; img-src 'self'; style-src 'self'; "
                                "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def create_app(settings: Settings | None = None, service: IssuerService | None = None) -> Flask:
    if settings is None:
        settings = service.settings if service is not None else Settings.from_env()
    if service is None:
        service = IssuerService.open(settings, actor="web")
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["socpass_issuer"] = service
    app.register_blueprint(build_blueprint(service))
    init_security_headers(app)
    init_error_handlers(app)
    return app


def init_security_headers(app: Flask) -> None:
    @app.after_request
    def _headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def error_response(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": code, "message": message})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def init_error_handlers(app: Flask) -> None:
    """Every error is JSON `{"error": code, "message": text}`."""

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException) -> Response:
        return error_response(err.code or 500, (err.name or "error").lower().replace(" ", "_"),
                              err.description or "")

    @app.errorhandler(SocpassError)
    def _ours(err: SocpassError) -> Response:
        if isinstance(err, NotFound):
            return error_response(404, err.code, err.description)
        if isinstance(err, InputError):
            return error_response(400, err.code, err.description)
        if isinstance(err, NotInitialized):
            return error_response(503, err.code, err.description)
        log.error("issuer misconfigured: %s", err.code)
        return error_response(500, err.code, "ошибка настройки издателя / issuer configuration error")

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> Response:
        # The message or traceback may quote personal data: the full detail only at DEBUG.
        log.error("unexpected error: %s", type(err).__name__)
        log.debug("unexpected error", exc_info=err)
        return error_response(500, "internal_error", "внутренняя ошибка / internal error")
