"""The scanner app's errors as HTTP answers: one table from exception to status and code, one
JSON shape for /api/*, plain text for pages. Views raise; nothing else translates."""
from __future__ import annotations

import logging
from typing import Any

from flask import Response, jsonify, request
from werkzeug.exceptions import HTTPException

from shared.errors import ImageError, ImageTooLarge
from verifier.scanlog import ScanLogError
from verifier.service import ScannerUnavailable, where_raised

log = logging.getLogger("socpass.verifier")

# (Russian for the page, English for logs and scripts)
ERRORS: dict[str, tuple[str, str]] = {
    "bad_request": ("Запрос должен быть JSON-объектом вида {\"qr\": \"текст QR-кода\"}.",
                    'The body must be a JSON object {"qr": "<text read from the QR code>"}.'),
    "bad_image": ("Не удалось прочитать изображение. Сфотографируйте QR-код ещё раз.",
                  "The image cannot be read. Take the photo again."),
    "no_image": ("Изображение не передано.", "No image was sent (image/jpeg or image/png body, "
                                            "or a multipart field named image)."),
    "too_large": ("Слишком большой запрос или изображение.", "The request or image is too large."),
    "scanner_unavailable": ("Распознавание фото недоступно на этом устройстве; используйте сканер.",
                            "Image scanning is not available on this device; use the scanner."),
    "bad_day": ("Укажите день в виде ГГГГ-ММ-ДД (период — не больше 400 дней).",
                "Give days as YYYY-MM-DD (a period of at most 400 days)."),
    "scanlog_unavailable": ("Журнал проверок недоступен.", "The scan log cannot be read."),
    "not_found": ("Страница не найдена.", "Not found."),
    "method_not_allowed": ("Метод не поддерживается.", "Method not allowed."),
    "internal": ("Внутренняя ошибка. Повторите попытку.", "Internal error. Try again."),
}
# What the decision and state layers raise, as the client sees it (first match wins, so a
# subclass comes before its base). The exception's description goes out as "detail".
EXCEPTIONS: tuple[tuple[type[Exception], int, str], ...] = (
    (ImageTooLarge, 413, "too_large"),
    (ImageError, 400, "bad_image"),
    (ScannerUnavailable, 503, "scanner_unavailable"),
    (ScanLogError, 503, "scanlog_unavailable"),
)
_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}


class ApiError(Exception):
    """A request the views refuse themselves (its shape, not what the verifier said of it)."""

    def __init__(self, status: int, code: str, detail: str | None = None) -> None:
        super().__init__(code)
        self.status, self.code, self.detail = status, code, detail


def error_response(status: int, code: str, detail: str | None = None) -> tuple[Any, int]:
    """The one JSON error shape: {"error", "message", "message_en", "detail"?}."""
    ru, en = ERRORS.get(code, ERRORS["internal"])
    body: dict[str, Any] = {"error": code, "message": ru, "message_en": en}
    if detail:
        body["detail"] = detail
    return jsonify(body), status


def as_api_error(err: Exception) -> ApiError | None:
    for kind, status, code in EXCEPTIONS:
        if isinstance(err, kind):
            return ApiError(status, code, getattr(err, "description", None))
    return None


def handle(err: Exception) -> Any:
    """Every exception a view lets out becomes one JSON shape (API) or a plain page."""
    api = err if isinstance(err, ApiError) else as_api_error(err)
    if api is not None:
        if not request.path.startswith("/api/"):  # a page: the message in plain text
            ru, en = ERRORS.get(api.code, ERRORS["internal"])
            return Response(f"{ru}\n{en}\n", status=api.status, mimetype="text/plain")
        return error_response(api.status, api.code, api.detail)
    if isinstance(err, HTTPException):
        if not request.path.startswith("/api/"):
            return err
        status = err.code or 500
        return error_response(status, _HTTP_CODES.get(status, "internal"))
    log.error("unexpected %s in %s %s", where_raised(err), request.method, request.path)
    return error_response(500, "internal")
