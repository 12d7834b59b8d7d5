"""HTTP views: parse the request, call the Verifier, render JSON, the scanner page, statistics."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import hmac

from flask import Blueprint, Flask, Response, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from shared.errors import ImageError, ImageTooLarge
from shared.jsonstrict import JSONFormatError, loads_strict
from verifier import stats
from verifier.devicestatus import device_status
from verifier.imagebudget import BODIES
from verifier.scanlog import ScanLogError
from verifier.service import Result, ScannerUnavailable, where_raised

if TYPE_CHECKING:
    from verifier.compose import Services

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
_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}
SEEN_HEADER = "X-Socpass-Seen"  # on /api/scan results: the tag to send back as ?skip=


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


def request_body() -> bytes:
    """The request body. Werkzeug's get_data wraps the input in two stream objects per call
    (~10 µs, as much as the payload's JSON); a body whose Content-Length is within the limit is
    read directly. Anything else (no length, too long) goes Werkzeug's way, which answers 413 or
    reads the chunks."""
    length = request.content_length
    limit = request.max_content_length
    if length is not None and (limit is None or length <= limit):
        return request.environ["wsgi.input"].read(length) if length else b""
    return request.get_data(cache=False)


def _services() -> "Services":
    return current_app.extensions["socpass_verifier"]


def make_blueprint() -> Blueprint:
    bp = Blueprint("verifier", __name__, template_folder="templates")

    @bp.get("/")
    def scanner_page() -> Any:
        services = _services()
        venue_ru, venue_en = services.policy.names(services.caches.current())
        return render_template("scanner.html", venue=venue_ru, venue_en=venue_en,
                               max_body=services.settings.max_body)

    @bp.post("/api/verify")
    def api_verify() -> Any:
        if request.mimetype != "application/json":
            raise ApiError(400, "bad_request", "Content-Type must be application/json")
        try:
            body = loads_strict(request_body())
        except JSONFormatError as err:
            raise ApiError(400, "bad_request", str(err)) from None
        if not isinstance(body, dict) or not isinstance(body.get("qr"), str):
            raise ApiError(400, "bad_request", 'expected {"qr": "<string>"}')
        services = _services()
        return jsonify(services.verifier().verify_text(body["qr"], services.now()).to_json())

    @bp.post("/api/scan")
    def api_scan() -> Any:
        """A camera frame or a photo. A Result read from a QR code comes with the header
        X-Socpass-Seen; the page sends it back as ?skip=<tag> while scanning resumes, and a frame
        showing that same code again gets 204 (nothing new) instead of a second verdict and log
        entry: a code left in front of the camera is one scan, shown again after leaving the
        view it is another."""
        multipart = request.mimetype == "multipart/form-data"
        if not multipart and not request.mimetype.startswith("image/"):
            raise ApiError(400, "no_image", "send image/jpeg or image/png, or multipart field image")
        services = _services()
        # Bodies in flight are memory too: counted before they are read (verifier/imagebudget.py).
        with BODIES.hold(request.content_length or services.settings.max_body):
            if multipart:
                upload = request.files.get("image")
                data = upload.read() if upload is not None else b""
            else:
                data = request.get_data(cache=False)
            if not data:
                raise ApiError(400, "no_image", "the image is empty")
            verifier, now = services.verifier(), services.now()
            try:
                found = verifier.read_image(data, now)
            except ImageTooLarge as err:
                raise ApiError(413, "too_large", err.description) from None
            except ImageError as err:
                raise ApiError(400, "bad_image", err.description) from None
            except ScannerUnavailable as err:
                raise ApiError(503, "scanner_unavailable", err.description) from None
            del data  # the body's memory goes with its share of the budget
        if isinstance(found, Result):
            return jsonify(found.to_json())
        seen = services.seen_digest(found)
        skip = request.args.get("skip", "")
        if skip and hmac.compare_digest(skip.encode(), seen.encode()):
            return Response(status=204, headers={SEEN_HEADER: seen})
        response = jsonify(verifier.verify_text(found, now, via="image").to_json())
        response.headers[SEEN_HEADER] = seen
        return response

    @bp.get("/api/status")
    def api_status() -> Any:
        services = _services()
        return jsonify(device_status(services.verifier(), services.now()))

    # --- statistics (no personal data: see verifier/scanlog.py) ------------------------------
    def _lang() -> str:
        return "en" if request.args.get("lang") == "en" else "ru"

    def _day(name: str, default: str) -> str:
        raw = request.args.get(name, "").strip()
        try:
            return stats.parse_day(raw) if raw else default
        except ValueError as err:
            raise ApiError(400, "bad_day", str(err)) from None

    def _summary(day: str, lang: str) -> dict[str, Any]:
        try:
            return stats.labelled(_services().scanlog.summary(day), lang)
        except ScanLogError as err:
            raise ApiError(503, "scanlog_unavailable", err.description) from None

    @bp.get("/api/stats")
    def api_stats() -> Any:
        services = _services()
        return jsonify(_summary(_day("day", services.scanlog.today(services.now())), _lang()))

    @bp.get("/stats")
    def stats_page() -> Any:
        services = _services()
        today = services.scanlog.today(services.now())
        lang = _lang()
        day = _day("day", today)
        venue_ru, venue_en = services.policy.names(services.caches.current())
        return render_template(
            "stats.html", lang=lang, summary=_summary(day, lang), day=day, today=today,
            venue=venue_en if lang == "en" else venue_ru, week_start=stats.previous_day(today, 6),
            month_start=today[:8] + "01", t=stats.PAGE_TEXT[lang],
            timezone=services.settings.timezone, now_time=services.scanlog.clock_time(services.now()))

    @bp.get("/stats.csv")
    def stats_csv() -> Any:
        services = _services()
        today = services.scanlog.today(services.now())
        first, last = _day("from", today), _day("to", today)
        try:
            stats.day_range(first, last)
            rows = services.scanlog.report(first, last)
        except ValueError as err:
            raise ApiError(400, "bad_day", str(err)) from None
        except ScanLogError as err:
            raise ApiError(503, "scanlog_unavailable", err.description) from None
        response = Response(stats.report_csv(rows, _lang()), mimetype="text/csv")
        response.headers["Content-Disposition"] = (
            f'attachment; filename="socpass-{services.policy.name}-{first}-{last}.csv"')
        return response

    return bp


def _handle(err: Exception) -> Any:
    """Every exception a view lets out becomes one JSON shape (API) or a plain page."""
    if isinstance(err, ApiError):
        if not request.path.startswith("/api/"):  # a page: the message in plain text
            ru, en = ERRORS.get(err.code, ERRORS["internal"])
            return Response(f"{ru}\n{en}\n", status=err.status, mimetype="text/plain")
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
