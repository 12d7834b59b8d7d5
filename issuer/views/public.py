"""Public HTTP routes of the issuer: what verifiers fetch, and a small info page."""
from __future__ import annotations

import html

from flask import Blueprint, Response, jsonify, request

from issuer.publishing import entitlements_json
from issuer.service import IssuerService
from shared.publication import ENTITLEMENTS_PATH, JWKS_PATH, METADATA_PATH, STATUS_MEDIA_TYPE

JWKS_MEDIA_TYPE = "application/jwk-set+json"
METADATA_MAX_AGE = 300


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
{lists}
</ul>
</body></html>
"""
        return Response(body, mimetype="text/html")

    return bp
