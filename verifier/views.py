"""HTTP views: parse the request, call the Verifier, render JSON, the scanner page, statistics."""
from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, Response, current_app, jsonify, render_template, request

from shared.jsonstrict import JSONFormatError, loads_strict
from verifier import stats, weberrors
from verifier.devicestatus import device_status
from verifier.imagebudget import BODIES
from verifier.result import Result
from verifier.weberrors import ApiError

if TYPE_CHECKING:
    from verifier.compose import Services

SEEN_HEADER = "X-Socpass-Seen"  # on /api/scan results: the tag to send back as ?skip=


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
            found = verifier.read_image(data, now)  # its errors: verifier/weberrors.py
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
        return stats.labelled(_services().scanlog.summary(day), lang)

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
        response = Response(stats.report_csv(rows, _lang()), mimetype="text/csv")
        response.headers["Content-Disposition"] = (
            f'attachment; filename="socpass-{services.policy.name}-{first}-{last}.csv"')
        return response

    return bp


def init_app(app: Flask) -> None:
    app.register_blueprint(make_blueprint())
    app.register_error_handler(Exception, weberrors.handle)
