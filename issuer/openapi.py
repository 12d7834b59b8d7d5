"""The OpenAPI 3 description of /api/v1 (served at /api/v1/openapi.json; docs/openapi.json is a copy
that a test keeps equal)."""
from __future__ import annotations

from typing import Any

from issuer.registry import REGISTRY_ID_PATTERN

ERROR_CODES = ["unauthorized", "invalid_json", "invalid_data", "invalid_type", "invalid_registry_id",
               "invalid_holder", "invalid_family_name", "invalid_given_name", "invalid_patronymic",
               "invalid_birth_date", "invalid_region", "invalid_valid_until", "invalid_children",
               "invalid_category", "invalid_reason", "already_issued", "invalid_state",
               "cannot_reinstate", "credential_not_found", "not_found", "request_entity_too_large",
               "invalid_date"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    text = {400: "invalid input", 401: "missing, unknown or revoked token", 404: "no such credential",
            409: "conflict with the current state", 413: "body too large"}
    return {str(s): _json(_ref("Error"), text[s]) for s in statuses}


def spec() -> dict[str, Any]:
    cid = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"},
            "description": "the credential id (the token's jti) returned by issue"}]
    reason_body = {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["reason"],
        "properties": {"reason": {"type": "string", "maxLength": 500}}}}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "socpass issuer API", "version": "1",
                 "description": "For the ministry's registry: issue credentials, change their "
                                "status, export the citizens' links, fetch the audit log's head. Authenticate with `Authorization: Bearer <token>`; tokens "
                                "are created by an admin (`socpass-issuer tokens create NAME` or "
                                "the console) and can be revoked. Errors are JSON "
                                "`{\"error\": code, \"message\": text}` with stable codes."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/credentials": {"post": {
                "summary": "Issue a credential",
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("IssueRequest")}}},
                "responses": {"201": _json(_ref("Issued"), "issued"), **_errors(400, 401, 409, 413)}}},
            "/credentials/{id}": {"get": {
                "summary": "A credential's state", "parameters": cid,
                "responses": {"200": _json(_ref("Credential"), "the credential"), **_errors(401, 404)}}},
            "/credentials/{id}/revoke": {"post": {
                "summary": "Revoke for good (a reason is required)", "parameters": cid,
                "requestBody": reason_body,
                "responses": {"200": _json(_ref("Credential"), "new state"), **_errors(400, 401, 404, 409)}}},
            "/credentials/{id}/suspend": {"post": {
                "summary": "Suspend (a reason is required)", "parameters": cid,
                "requestBody": reason_body,
                "responses": {"200": _json(_ref("Credential"), "new state"), **_errors(400, 401, 404, 409)}}},
            "/credentials/{id}/reinstate": {"post": {
                "summary": "Reinstate a suspended credential", "parameters": cid,
                "responses": {"200": _json(_ref("Credential"), "new state"), **_errors(401, 404, 409)}}},
            "/links": {"get": {
                "summary": "Export the citizens' private links as CSV (audited)",
                "description": "One line per registry entry with a live link: `registry_id,url,state` "
                               "(state: valid, suspended, revoked or expired, as the citizen's page "
                               "shows it). Streamed. Each link opens a citizen's page without a "
                               "password: treat the file as personal data. Every call is an audit "
                               "event (`links_export`) naming the token.",
                "parameters": [
                    {"name": "since", "in": "query", "required": False,
                     "schema": {"type": "string", "format": "date"},
                     "description": "only links made, or credentials issued or changed, on or "
                                    "after this day (the issuer's time zone); YYYY-MM-DD or "
                                    "DD.MM.YYYY"},
                    {"name": "registry_id", "in": "query", "required": False,
                     "schema": {"type": "array", "items": {"type": "string"}, "maxItems": 10000},
                     "style": "form", "explode": True,
                     "description": "only these registry entries (repeat the parameter)"}],
                "responses": {"200": {"description": "CSV, UTF-8, header line first",
                                      "headers": {"X-Socpass-Rows": {
                                          "schema": {"type": "integer"},
                                          "description": "lines that follow the header"}},
                                      "content": {"text/csv": {"schema": {"type": "string"},
                                                  "example": "registry_id,url,state\nKHV-LF-000123,"
                                                             "https://szn.example.ru/w/…,valid\n"}}},
                              **_errors(400, 401)}}},
            "/audit/head": {"get": {
                "summary": "The audit log's head, signed: keep it outside the ministry",
                "description": "`audit_head` is `SEQ:HASH` of the log's last row; `signed` a compact "
                               "JWS (typ `socpass-audit-head+jwt`, the issuer's key from its JWKS). "
                               "Give it back to `socpass-issuer audit verify --expect-head` to prove "
                               "the log still holds that row.",
                "responses": {"200": _json(_ref("AuditHead"), "the head"), **_errors(401)}}},
            "/openapi.json": {"get": {"summary": "This document", "security": [],
                                      "responses": {"200": {"description": "OpenAPI 3"}}}},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Holder": {"type": "object", "required": ["family_name", "given_name", "birth_date"],
                           "properties": {"family_name": {"type": "string"},
                                          "given_name": {"type": "string"},
                                          "patronymic": {"type": "string"},
                                          "birth_date": {"type": "string", "format": "date"}}},
                "RegistryData": {"type": "object",
                                 "required": ["registry_id", "holder", "region", "valid_until"],
                                 "properties": {
                                     "registry_id": {"type": "string", "maxLength": 64,
                                                     "pattern": f"^{REGISTRY_ID_PATTERN}$"},
                                     "holder": _ref("Holder"),
                                     "children": {"type": "integer", "minimum": 3, "maximum": 30,
                                                  "description": "large_family only"},
                                     "category": {"type": "string", "description": "beneficiary only",
                                                  "enum": ["disability_1", "disability_2", "disability_3",
                                                           "disabled_child", "combat_veteran",
                                                           "svo_family", "pensioner", "low_income"]},
                                     "region": {"type": "string", "pattern": "^[0-9]{2,3}$"},
                                     "valid_until": {"type": "string", "format": "date"}}},
                "IssueRequest": {"type": "object", "required": ["type", "data"], "properties": {
                    "type": {"type": "string", "enum": ["large_family", "beneficiary"]},
                    "data": _ref("RegistryData"),
                    "replace": {"type": "boolean", "default": False,
                                "description": "revoke the live credential of this registry_id"},
                    "wallet_link": {"type": "boolean", "default": True,
                                    "description": "return the citizen's private page link in "
                                                   "`wallet_url` (every registry entry gets one "
                                                   "with its first credential either way)"}}},
                "Status": {"type": "object", "properties": {"idx": {"type": "integer"},
                                                            "uri": {"type": "string"}}},
                "Issued": {"type": "object", "properties": {
                    "id": {"type": "string"}, "token": {"type": "string"},
                    "qr_text": {"type": "string", "description": "digits, for a numeric-mode QR"},
                    "status": _ref("Status"), "expires_at": {"type": "string", "format": "date-time"},
                    "wallet_url": {"type": "string", "nullable": True,
                                   "description": "the citizen's private link (the registry "
                                   "entry's live one; null if it was switched off). Only its hash "
                                   "is stored; it can be exported again from /links"}}},
                "Credential": {"type": "object", "properties": {
                    "id": {"type": "string"}, "type": {"type": "string"},
                    "state": {"type": "string", "enum": ["valid", "revoked", "suspended"]},
                    "reason": {"type": "string", "nullable": True},
                    "registry_id": {"type": "string"}, "kid": {"type": "string"},
                    "issued_at": {"type": "string", "format": "date-time"},
                    "expires_at": {"type": "string", "format": "date-time"},
                    "updated_at": {"type": "string", "format": "date-time"},
                    "status": _ref("Status"), "replaced_by": {"type": "string", "nullable": True}}},
                "AuditHead": {"type": "object", "properties": {
                    "head": {"type": "string", "pattern": "^[0-9]+:[0-9a-f]{64}$"},
                    "seq": {"type": "integer"}, "hash": {"type": "string"},
                    "iss": {"type": "string"}, "at": {"type": "string", "format": "date-time"},
                    "kid": {"type": "string"},
                    "signed": {"type": "string", "description": "compact JWS of "
                               "{iss, iat, audit_head}"}}},
                "Error": {"type": "object", "required": ["error", "message"], "properties": {
                    "error": {"type": "string", "enum": ERROR_CODES},
                    "message": {"type": "string", "description": "Russian, then English"}}},
            },
        },
    }


if __name__ == "__main__":  # python -m issuer.openapi > docs/openapi.json
    import json

    print(json.dumps(spec(), ensure_ascii=False, indent=2))
