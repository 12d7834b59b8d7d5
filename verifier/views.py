"""HTTP views: parse the request, call the Verifier, render JSON or the scanner page."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from shared.errors import ImageError, ImageTooLarge
from shared.jsonstrict import JSONFormatError, loads_strict
from verifier.service import ScannerUnavailable, where_raised

if TYPE_CHECKING:
    from verifier.app import Services

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
    "not_found": ("Страница не найдена.", "Not found."),
    "method_not_allowed": ("Метод не поддерживается.", "Method not allowed."),
    "internal": ("Внутренняя ошибка. Повторите попытку.", "Internal error. Try again."),
}
_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}


class ApiError(Exception):
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


def _services() -> "Services":
    return current_app.extensions["socpass_verifier"]


def make_blueprint() -> Blueprint:
    bp = Blueprint("verifier", __name__, template_folder="templates")

    @bp.get("/")
    def scanner_page() -> Any:
        return render_template("scanner.html", venue=_services().profile.name_ru)

    @bp.post("/api/verify")
    def api_verify() -> Any:
        if request.mimetype != "application/json":
            raise ApiError(400, "bad_request", "Content-Type must be application/json")
        try:
            body = loads_strict(request.get_data(cache=False))
        except JSONFormatError as err:
            raise ApiError(400, "bad_request", str(err)) from None
        if not isinstance(body, dict) or not isinstance(body.get("qr"), str):
            raise ApiError(400, "bad_request", 'expected {"qr": "<string>"}')
        services = _services()
        return jsonify(services.verifier().verify_text(body["qr"], services.now()).to_json())

    @bp.post("/api/scan")
    def api_scan() -> Any:
        if request.mimetype == "multipart/form-data":
            upload = request.files.get("image")
            data = upload.read() if upload is not None else b""
        elif request.mimetype.startswith("image/"):
            data = request.get_data(cache=False)
        else:
            raise ApiError(400, "no_image", "send image/jpeg or image/png, or multipart field image")
        if not data:
            raise ApiError(400, "no_image", "the image is empty")
        services = _services()
        try:
            result = services.verifier().verify_image(data, services.now())
        except ImageTooLarge as err:
            raise ApiError(413, "too_large", err.description) from None
        except ImageError as err:
            raise ApiError(400, "bad_image", err.description) from None
        except ScannerUnavailable as err:
            raise ApiError(503, "scanner_unavailable", err.description) from None
        return jsonify(result.to_json())

    @bp.get("/api/status")
    def api_status() -> Any:
        services = _services()
        return jsonify(services.verifier().status_report(services.now()))

    return bp


def _handle(err: Exception) -> Any:
    """Every exception a view lets out becomes one JSON shape (API) or a plain page."""
    if isinstance(err, ApiError):
        return error_response(err.status, err.code, err.detail)
    if isinstance(err, HTTPException):
        if not request.path.startswith("/api/"):
            return err
        status = err.code or 500
        return error_response(status, _HTTP_CODES.get(status, "internal"))
    log.error("unexpected %s in %s %s", where_raised(err), request.method, request.path)
    return error_response(500, "internal")


def init_app(app: Flask) -> None:
    app.register_blueprint(make_blueprint())
    app.register_error_handler(Exception, _handle)
