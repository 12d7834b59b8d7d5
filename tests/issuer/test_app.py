"""The issuer's HTTP routes, through Flask's test client."""
from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from issuer.app import create_app
from issuer.service import IssuerService
from shared.publication import IssuerMetadata
from shared.statuslist import SUSPENDED, verify_status_list

from tests.issuer.helpers import ISSUER_ID, ISSUER_URL, make_data, resolver_for


@pytest.fixture
def app(service: IssuerService) -> Flask:
    app = create_app(service=service)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def assert_security_headers(response) -> None:
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp


def test_jwks(client: FlaskClient, service: IssuerService) -> None:
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.mimetype == "application/jwk-set+json"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.get_json(force=True) == service.jwks()
    assert_security_headers(response)
    again = client.get("/.well-known/jwks.json", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_metadata(client: FlaskClient) -> None:
    response = client.get("/.well-known/socpass-issuer.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    meta = IssuerMetadata.from_json(response.get_json())
    assert (meta.iss, meta.url) == (ISSUER_ID, ISSUER_URL)
    assert meta.status_lists == (f"{ISSUER_URL}/status/1",)


def test_status_list(client: FlaskClient, service: IssuerService, settings) -> None:
    a = service.issue("large_family", make_data())
    service.suspend(a["id"], "x")
    response = client.get("/status/1")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/statuslist+jwt"
    assert response.headers["Cache-Control"] == f"public, max-age={settings.status_ttl}"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    listed = verify_status_list(response.get_data(as_text=True), resolver_for(service), uri=a["status"]["uri"])
    assert listed.status_list.get(a["status"]["idx"]) == SUSPENDED
    assert_security_headers(response)


@pytest.mark.parametrize("path", ["/status/99", "/status/..%2F..%2Fetc", "/nothing-here"])
def test_unknown_paths_are_json_404(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    body = response.get_json()
    assert set(body) == {"error", "message"} and body["error"]
    assert_security_headers(response)


def test_wrong_method_is_json(client: FlaskClient) -> None:
    response = client.post("/status/1")
    assert response.status_code == 405 and response.get_json()["error"] == "method_not_allowed"


def test_info_page(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Министерство социальной защиты" in page and "jwks.json" in page and "/status/1" in page
    assert "<script" not in page
    assert_security_headers(response)


def test_uninitialised_issuer_answers_503(bare_service: IssuerService) -> None:
    client = create_app(service=bare_service).test_client()
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 503 and response.get_json()["error"] == "not_initialized"


def test_unexpected_errors_are_json_without_detail(app: Flask, client: FlaskClient,
                                                   service: IssuerService, monkeypatch) -> None:
    def boom(list_id: str) -> str:
        raise RuntimeError("Иванова 1988-04-12")

    monkeypatch.setattr(service, "status_list_token", boom)
    response = client.get("/status/1")
    assert response.status_code == 500
    assert "Иванова" not in response.get_data(as_text=True)
    assert response.get_json()["error"] == "internal_error"


def test_a_database_that_cannot_be_reached_is_503_without_detail(client: FlaskClient,
                                                                 service: IssuerService, monkeypatch) -> None:
    from sqlalchemy import create_engine

    from issuer.storage.errors import storage_errors

    def down(list_id: str) -> str:
        with storage_errors():  # what Store.read() does with the driver's refusal
            create_engine("postgresql+psycopg://nobody@127.0.0.1:1/socpass").connect()
        return ""

    monkeypatch.setattr(service, "status_list_token", down)
    response = client.get("/status/1")
    assert response.status_code == 503
    assert response.get_json()["error"] == "database_unavailable"
    assert "127.0.0.1" not in response.get_data(as_text=True)  # no connection detail to clients
