"""Helpers for driving the console through Flask's test client."""
from __future__ import annotations

import re
from typing import Any

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_from(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def form_post(client: Any, page: str, action: str | None = None, data: dict[str, Any] | None = None,
              **kw: Any) -> Any:
    """GET `page`, take its CSRF token, POST `data` to `action` (default: the page itself)."""
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(action or page, data={"csrf_token": token, **(data or {})}, **kw)


def sign_in(client: Any, name: str, password: str) -> Any:
    return form_post(client, "/admin/login", data={"name": name, "password": password})


def text(response: Any) -> str:
    return response.get_data(as_text=True)
