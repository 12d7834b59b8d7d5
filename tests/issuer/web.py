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


class Browser:
    """A console user over real HTTP: keeps its cookies, does not follow redirects."""

    def __init__(self, base: str) -> None:
        import http.cookiejar
        import urllib.request

        class _Stay(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _Stay)

    def request(self, method: str, path: str, data: dict[str, Any] | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, Any, str]:
        """(status, headers, body text)."""
        import urllib.error
        import urllib.parse
        import urllib.request

        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base + path, data=body, method=method,
                                     headers=headers or {})
        try:
            with self.opener.open(req, timeout=60) as response:
                return response.status, response.headers, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as err:
            return err.code, err.headers, err.read().decode("utf-8", "replace")

    def get(self, path: str, **kw: Any) -> tuple[int, Any, str]:
        return self.request("GET", path, **kw)

    def form_post(self, page: str, action: str | None = None,
                  data: dict[str, Any] | None = None) -> tuple[int, Any, str]:
        token = csrf_from(self.get(page)[2])
        return self.request("POST", action or page, {"csrf_token": token, **(data or {})})

    def sign_in(self, name: str, password: str) -> int:
        return self.form_post("/admin/login", data={"name": name, "password": password})[0]

    def cookie(self, name: str) -> str:
        return next(c.value for c in self.jar if c.name == name)


class Served:
    """An app on a loopback port, served by issuer.server's bounded server in a thread."""

    def __init__(self, app: Any, settings: Any) -> None:
        import threading

        from issuer.server import make_server

        self.server = make_server(settings, app, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def __enter__(self) -> "Served":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.thread.join(10)
        self.server.server_close()
