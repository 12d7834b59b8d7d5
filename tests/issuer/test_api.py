"""Machine API v1: bearer tokens, JSON errors with stable codes, OpenAPI document."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from issuer.openapi import spec
from issuer.service import IssuerService

from tests.issuer.helpers import make_data

DOCS = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


@pytest.fixture
def api(console_app, service: IssuerService):
    token = service.api_tokens.create("registry")["token"]
    client = console_app.test_client()

    def call(method: str, path: str, body=None, token_=token):
        headers = {"Authorization": f"Bearer {token_}"} if token_ else {}
        return client.open("/api/v1" + path, method=method, json=body, headers=headers)
    return call


def test_issue_show_and_status_changes(api, service: IssuerService) -> None:
    data = make_data()
    response = api("POST", "/credentials", {"type": "large_family", "data": data})
    assert response.status_code == 201
    issued = response.get_json()
    assert issued["qr_text"].isdigit() and issued["wallet_url"].startswith("https://")
    cid = issued["id"]
    shown = api("GET", f"/credentials/{cid}").get_json()
    assert shown["state"] == "valid" and shown["registry_id"] == data["registry_id"] and "data" not in shown
    assert api("POST", f"/credentials/{cid}/suspend", {"reason": "проверка"}).get_json()["state"] == "suspended"
    assert api("POST", f"/credentials/{cid}/reinstate").get_json()["state"] == "valid"
    assert api("POST", f"/credentials/{cid}/revoke", {"reason": "умер"}).get_json()["state"] == "revoked"
    event = service.audit.events(credential_id=cid)[0]
    assert event["actor"] == "api:registry" and event["reason"] == "умер"


@pytest.mark.parametrize("method,path,body,status,code", [
    ("POST", "/credentials", {"type": "large_family", "data": make_data(children=2)}, 400, "invalid_children"),
    ("POST", "/credentials", {"type": "passport", "data": make_data()}, 400, "invalid_type"),
    ("POST", "/credentials", {"type": "large_family"}, 400, "invalid_data"),
    ("POST", "/credentials", None, 400, "invalid_json"),
    ("GET", "/credentials/nope", None, 404, "credential_not_found"),
    ("POST", "/credentials/nope/revoke", {"reason": "x"}, 404, "credential_not_found"),
    ("POST", "/credentials/nope/explode", {}, 404, "not_found"),
])
def test_errors_are_json_with_stable_codes(api, method, path, body, status, code) -> None:
    response = api(method, path, body)
    assert response.status_code == status
    assert response.get_json()["error"] == code and response.get_json()["message"]
    assert code in json.dumps(spec()) or code == "not_found"


def test_conflicts_are_409(api) -> None:
    data = make_data()
    cid = api("POST", "/credentials", {"type": "large_family", "data": data}).get_json()["id"]
    again = api("POST", "/credentials", {"type": "large_family", "data": data})
    assert again.status_code == 409 and again.get_json()["error"] == "already_issued"
    api("POST", f"/credentials/{cid}/revoke", {"reason": "x"})
    reinstate = api("POST", f"/credentials/{cid}/reinstate")
    assert reinstate.status_code == 409 and reinstate.get_json()["error"] == "cannot_reinstate"
    missing_reason = api("POST", f"/credentials/{cid}/suspend", {})
    assert missing_reason.status_code == 400 and missing_reason.get_json()["error"] == "invalid_reason"


@pytest.mark.parametrize("token", [None, "spt_wrong", "not-even-a-token"])
def test_without_a_valid_token_401(api, token) -> None:
    response = api("POST", "/credentials", {"type": "large_family", "data": make_data()}, token_=token or "")
    assert response.status_code == 401 and response.get_json()["error"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_stops_working(api, service: IssuerService) -> None:
    created = service.api_tokens.create("old")
    assert api("GET", "/credentials/x", token_=created["token"]).status_code == 404
    service.api_tokens.revoke(created["id"])
    assert api("GET", "/credentials/x", token_=created["token"]).status_code == 401


def test_a_console_session_is_not_an_api_credential(login) -> None:
    client = login("boss")
    response = client.post("/api/v1/credentials", json={"type": "large_family", "data": make_data()})
    assert response.status_code == 401


def test_openapi_is_served_and_matches_docs(console_app) -> None:
    served = console_app.test_client().get("/api/v1/openapi.json")
    assert served.status_code == 200 and served.get_json() == spec()
    assert json.loads(DOCS.read_text(encoding="utf-8")) == spec(), \
        "docs/openapi.json is stale: python -m issuer.openapi > docs/openapi.json"
    paths = spec()["paths"]
    assert {"/credentials", "/credentials/{id}", "/credentials/{id}/revoke",
            "/credentials/{id}/suspend", "/credentials/{id}/reinstate"} <= set(paths)
