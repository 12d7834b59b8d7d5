"""Machine API v1 for the registry: bearer tokens, JSON in and out, stable error codes.

Documented by `issuer/openapi.py` (served at /api/v1/openapi.json, copied to docs/openapi.json).
CSRF does not apply: no cookie authenticates here, only the Authorization header.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request, stream_with_context

from issuer.accounts import Unauthorized
from issuer.errors import NotFound
from issuer.links import ExportFilter, parse_registry_ids, parse_since
from issuer.openapi import spec
from issuer.service import IssuerService
from shared.errors import InputError


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InputError("тело запроса: JSON-объект / the body must be a JSON object",
                         code="invalid_json")
    return body


def build_blueprint(service: IssuerService) -> Blueprint:
    bp = Blueprint("api", __name__, url_prefix="/api/v1")

    @bp.before_request
    def _authenticate() -> Response | None:
        if request.endpoint == "api.openapi":
            return None
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized()
        g.api_actor = "api:" + service.api_tokens.authenticate(token.strip())
        return None

    def svc() -> IssuerService:
        return service.acting_as(g.api_actor)

    @bp.get("/openapi.json")
    def openapi() -> Response:
        return jsonify(spec())

    @bp.post("/credentials")
    def issue() -> Response:
        body = _body()
        data = body.get("data")
        if not isinstance(data, dict):
            raise InputError("data: JSON-объект с данными реестра / data must be an object",
                             code="invalid_data")
        s = svc()
        result = s.issue(str(body.get("type", "")), data, replace=body.get("replace") is True)
        if body.get("wallet_link", True) is not False:
            # Made with the credential (issuer.links); null when its link was switched off.
            result["wallet_url"] = s.links.url_of(result["id"])
        response = jsonify(result)
        response.status_code = 201
        return response

    @bp.get("/credentials/<cid>")
    def show(cid: str) -> Response:
        cred = service.credential(cid)
        cred.pop("data", None)  # the registry already has its data; the API does not echo names
        return jsonify(cred)

    @bp.post("/credentials/<cid>/<change>")
    def change(cid: str, change: str) -> Response:
        s = svc()
        if change == "reinstate":
            return jsonify(s.reinstate(cid))
        if change in ("revoke", "suspend"):
            reason = _body().get("reason")
            return jsonify(getattr(s, change)(cid, reason if isinstance(reason, str) else ""))
        raise NotFound("нет такого действия / no such action", code="not_found")

    @bp.get("/links")
    def links() -> Response:
        """The citizens' links as CSV (registry_id, url, state), streamed; an audited export."""
        filters = ExportFilter(since=parse_since(request.args.get("since")),
                               registry_ids=parse_registry_ids(request.args.getlist("registry_id")))
        rows, lines = svc().links.export(filters, channel="api")
        response = Response(stream_with_context(lines), mimetype="text/csv")
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Socpass-Rows"] = str(rows)
        return response

    @bp.get("/audit/head")
    def audit_head() -> Response:
        """The audit log's head, signed: for the registry to keep outside the ministry's database."""
        response = jsonify(service.audit.head())
        response.headers["Cache-Control"] = "no-store"
        return response

    return bp
