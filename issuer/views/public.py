"""Public HTTP routes of the issuer: what verifiers fetch, and a small info page."""
from __future__ import annotations

import html
import threading

from flask import Blueprint, Response, abort, jsonify, redirect, request

from issuer import scanapp
from issuer.publishing import entitlements_json
from issuer.service import IssuerService
from shared.publication import ENTITLEMENTS_PATH, JWKS_PATH, METADATA_PATH, STATUS_MEDIA_TYPE

JWKS_MEDIA_TYPE = "application/jwk-set+json"
METADATA_MAX_AGE = 300
# The offline scanner app at /scan/: its own files only, WebAssembly for the QR decoder, the
# camera for this origin, its manifest and service worker from here.
SCAN_APP_CSP = ("default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; "
                "connect-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
                "style-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; "
                "frame-ancestors 'none'")


def _public(response: Response, max_age: int) -> Response:
    # Public, signed or public-key data: any origin may read it, any cache may keep it.
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.add_etag()
    return response.make_conditional(request)


def build_blueprint(service: IssuerService) -> Blueprint:
    bp = Blueprint("public", __name__)

    @bp.get("/" + JWKS_PATH)
    def jwks() -> Response:
        response = jsonify(service.jwks())
        response.mimetype = JWKS_MEDIA_TYPE
        return _public(response, METADATA_MAX_AGE)

    @bp.get("/" + METADATA_PATH)
    def metadata() -> Response:
        return _public(jsonify(service.metadata().to_json()), METADATA_MAX_AGE)

    @bp.get("/" + ENTITLEMENTS_PATH)
    def entitlements() -> Response:
        # What each kind of venue grants for this issuer's credentials (the ministry's rules).
        return _public(jsonify(entitlements_json(service.metadata().iss)), METADATA_MAX_AGE)

    @bp.get("/status/<list_id>")
    def status_list(list_id: str) -> Response:
        token = service.status_list_token(list_id)
        response = Response(token, mimetype=STATUS_MEDIA_TYPE)
        return _public(response, service.settings.status_ttl)

    app_files: dict[tuple[str, str], dict[str, bytes]] = {}
    app_lock = threading.Lock()

    def scan_app() -> dict[str, bytes]:
        # Built once per process and issuer name (a few ms); publish writes the same files.
        info = service.issuer_info()
        key = (info["iss"], info["name"])
        with app_lock:
            if key not in app_files:
                app_files.clear()
                app_files[key] = service.scan_app_files()
            return app_files[key]

    @bp.get("/scan")
    def scan_redirect() -> Response:
        query = request.query_string.decode("ascii", "replace")
        return redirect("/scan/" + ("?" + query if query else ""), code=301)

    @bp.get("/scan/", defaults={"name": "index.html"})
    @bp.get("/scan/<path:name>")
    def scan(name: str) -> Response:
        content = scan_app().get(name)
        if content is None:
            abort(404)
        response = Response(content, content_type=scanapp.media_type(name))
        # Always revalidated (cheap: ETag); the service worker keeps the app for offline use.
        response.headers["Cache-Control"] = "no-cache"
        response.headers["Content-Security-Policy"] = SCAN_APP_CSP
        response.headers["Permissions-Policy"] = "camera=(self), microphone=(), geolocation=()"
        response.add_etag()
        return response.make_conditional(request)

    @bp.get("/")
    def index() -> Response:
        info = service.issuer_info()
        lists = "".join(f'<li><a href="{html.escape(uri)}">{html.escape(uri)}</a></li>'
                        for uri in service.metadata().status_lists)
        body = f"""<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>{html.escape(info["name"])}</title></head>
<body>
<h1>{html.escape(info["name"])}</h1>
<p>Издатель электронных удостоверений socpass (<code>{html.escape(info["iss"])}</code>).
Здесь верификаторы получают ключи и списки отзыва. / socpass credential issuer: verifiers
fetch keys and revocation lists here.</p>
<ul>
<li><a href="/{JWKS_PATH}">Открытые ключи / public keys (JWKS)</a></li>
<li><a href="/{METADATA_PATH}">Сведения об издателе / issuer metadata</a></li>
<li><a href="/{ENTITLEMENTS_PATH}">Льготы по видам объектов / entitlement rules</a></li>
<li><a href="/scan/">Приложение для проверки удостоверений / the scanner app</a></li>
{lists}
</ul>
</body></html>
"""
        return Response(body, mimetype="text/html")

    return bp
