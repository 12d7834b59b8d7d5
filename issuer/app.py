"""The issuer's web service: a Flask factory only. Routes are in `views/`; logic in the service."""
from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

from issuer import i18n, weberrors
from issuer.config import Settings
from issuer.jobs import JobRunner
from issuer.service import IssuerService
from issuer.views import api, auth, console, manage, public, wallet

# One place for security headers. No inline script or style, no third-party asset, no frames:
# the policy allows same-origin files only (the console's one script polls an import's
# progress), and nobody may frame us (clickjacking).
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": ("default-src 'none'; img-src 'self'; style-src 'self'; "
                                "script-src 'self'; connect-src 'self'; "
                                "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def create_app(settings: Settings | None = None, service: IssuerService | None = None, *,
               start_jobs: bool = False) -> Flask:
    """`start_jobs`: run queued import jobs in a thread of this process (what `serve` does)."""
    if settings is None:
        settings = service.settings if service is not None else Settings.from_env()
    if service is None:
        service = IssuerService.open(settings, actor="web")
    app = Flask(__name__, static_folder="static", static_url_path="/assets")
    if settings.trusted_proxies:
        # Behind N proxies, believe the last N hops' X-Forwarded-*: the client's address (the
        # sign-in limit counts it) and whether it came over HTTPS (the Secure cookie). Without
        # them the headers are anyone's to send and are ignored.
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["socpass_issuer"] = service
    runner = None
    if start_jobs:
        runner = JobRunner(service)
        runner.start()
        app.extensions["socpass_jobs"] = runner
    i18n.init_babel(app)
    auth.init_auth(app, settings, service)
    app.register_blueprint(public.build_blueprint(service))
    app.register_blueprint(auth.build_blueprint(service))
    app.register_blueprint(console.build_blueprint(service))
    app.register_blueprint(manage.build_blueprint(service, runner.wake.set if runner else None))
    app.register_blueprint(wallet.build_blueprint(service))
    api_bp = api.build_blueprint(service)
    auth.csrf.exempt(api_bp)  # bearer tokens only, no cookie: nothing for a forged form to ride on
    app.register_blueprint(api_bp)
    init_security_headers(app)
    weberrors.init_app(app)
    return app


def init_security_headers(app: Flask) -> None:
    @app.after_request
    def _headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.path.startswith("/admin"):
            # Console pages show personal data and, once, citizens' links: no cache, shared or
            # the browser's own (the back button after sign-out), may keep them.
            response.headers["Cache-Control"] = "no-store"
        return response
