"""The citizen's page `/w/<secret>`: the QR, the data, where it can be used, PNG and PDF downloads.

No script, no third-party asset; never cached, never indexed, never sent as a referrer (the
secret is in the path). Russian by default, English on request (issuer.i18n, gettext); the PDF card and
sheet stay Russian whatever the page's language.
"""
from __future__ import annotations

from flask import Blueprint, Response, render_template, request

from issuer.errors import NotFound
from issuer.qrrender import render_png
from issuer.service import IssuerService

PRIVATE_HEADERS = {"Cache-Control": "no-store, private", "X-Robots-Tag": "noindex, nofollow",
                   "Referrer-Policy": "no-referrer"}


def _private(response: Response) -> Response:
    response.headers.update(PRIVATE_HEADERS)
    return response


def build_blueprint(service: IssuerService) -> Blueprint:
    bp = Blueprint("wallet", __name__, url_prefix="/w")

    @bp.get("/<secret>")
    def page(secret: str) -> Response:
        view = service.wallet.page(secret)
        return _private(Response(render_template("wallet.html", w=view, secret=secret),
                                 mimetype="text/html"))

    @bp.get("/<secret>/qr.png")
    def qr(secret: str) -> Response:
        view = service.wallet.page(secret)
        if not view["usable"]:
            raise NotFound("удостоверение не действует / the credential is not valid", code="not_valid")
        response = Response(render_png(view["qr_text"], box_size=12), mimetype="image/png")
        if request.args.get("download"):
            response.headers["Content-Disposition"] = 'attachment; filename="socpass-qr.png"'
        return _private(response)

    @bp.get("/<secret>/card.pdf")
    def card(secret: str) -> Response:
        layout = request.args.get("layout", "a4")
        if layout not in ("card", "a4"):
            raise NotFound("нет такого макета / no such layout", code="not_found")
        view = service.wallet.page(secret)
        if not view["usable"]:
            raise NotFound("удостоверение не действует / the credential is not valid", code="not_valid")
        response = Response(service.card_pdf(view["credential_id"], layout=layout),
                            mimetype="application/pdf")
        response.headers["Content-Disposition"] = f'attachment; filename="socpass-{layout}.pdf"'
        return _private(response)

    return bp
