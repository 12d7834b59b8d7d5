"""The ministry's console, credentials: search, open, issue, revoke/suspend (reason + confirmation),
reinstate, reissue, the citizen's link, printable card. Views parse, call the service, render."""
from __future__ import annotations

import re
from typing import Any

from flask import (Blueprint, Response, abort, flash, redirect, render_template, request, url_for)
from flask_babel import gettext, lazy_gettext

from issuer import labels
from issuer.i18n import data_lang

from issuer.errors import NotFound
from issuer.forms import ActionForm, IssueForm, ReasonForm
from issuer.qrrender import render_png
from issuer.service import IssuerService
from issuer.views.auth import acting, require
from shared.credential import CATEGORIES, TYPES
from shared.errors import InputError

PAGE_SIZE = 50
_FIELD_PREFIX = re.compile(r"^[a-z_]+ \(([^)]+)\): ")
STATE_LABELS = labels.CREDENTIAL_STATES
CHANGES = {
    "revoke": (lazy_gettext("Revoke the credential"), lazy_gettext("Yes, revoke it"), "revoked",
               lazy_gettext("Revocation is final: the credential stops working at every verifier "
                            "after its sync. It cannot be undone; only a new one can be issued.")),
    "suspend": (lazy_gettext("Suspend the credential"), lazy_gettext("Yes, suspend it"), "suspended",
                lazy_gettext("The credential will not be accepted until it is reinstated.")),
}


def _file_name(cred: dict[str, Any], ext: str) -> str:
    return f"socpass-{cred['registry_id']}.{ext}".replace("/", "_").replace("\"", "")


def build_blueprint(service: IssuerService) -> Blueprint:
    bp = Blueprint("console", __name__, url_prefix="/admin")

    @bp.app_template_global()
    def state_label(state: str) -> str:
        return labels.label(STATE_LABELS, state)

    @bp.app_template_global()
    def action_label(action: str) -> str:
        return labels.label(labels.ACTIONS, action)

    @bp.app_template_global()
    def reason_label(reason: str | None) -> str:
        return labels.label(labels.REASONS, reason)

    @bp.app_template_global()
    def job_state_label(state: str) -> str:
        return labels.label(labels.JOB_STATES, state)

    @bp.app_template_global()
    def role_label(role: str) -> str:
        return labels.label(labels.ROLES, role)

    @bp.app_template_filter("human")
    def human(message: str) -> str:
        # "children (число детей): ..." -> "число детей: ...": Russian first, the code is for logs.
        return _FIELD_PREFIX.sub(r"\1: ", message)

    @bp.app_template_global()
    def type_label(ctype: str, category: str | None = None) -> str:
        lang = data_lang()
        if category:
            return CATEGORIES[category][lang]
        return TYPES[ctype][lang] if ctype in TYPES else ctype

    @bp.get("/")
    @require("read")
    def home() -> Response:
        return redirect(url_for("console.credentials"))

    @bp.get("/credentials")
    @require("read")
    def credentials() -> str:
        q = request.args.get("q", "")[:100]
        state = request.args.get("state") if request.args.get("state") in STATE_LABELS else None
        ctype = request.args.get("type") if request.args.get("type") in TYPES else None
        page = max(1, request.args.get("page", 1, type=int) or 1)
        found = service.search_credentials(q, state=state, ctype=ctype, limit=PAGE_SIZE,
                                           offset=(page - 1) * PAGE_SIZE)
        return render_template("credentials.html", found=found, q=q, state=state or "",
                               ctype=ctype or "", page=page, page_size=PAGE_SIZE,
                               states=STATE_LABELS, types=TYPES)

    @bp.get("/credentials/<cid>")
    @require("read")
    def credential(cid: str) -> str:
        return _render_credential(cid)

    def _render_credential(cid: str, shown_link: dict[str, Any] | None = None) -> str:
        cred = service.credential(cid)
        history = service.audit.events(credential_id=cid, limit=50)
        return render_template("credential.html", cred=cred, history=history,
                               link=service.links.link_info(cid), shown_link=shown_link,
                               action_form=ActionForm(), categories=CATEGORIES, types=TYPES)

    def _checked(form: IssueForm) -> bool:
        """Submitted and valid; else every problem is under its field on this first submit: the
        form's own (required, length) and the service's, which stops at its first otherwise."""
        valid = form.validate_on_submit()
        if request.method != "POST" or "csrf_token" in form.errors:
            return valid
        for problem in service.problems(form.type.data or "", form.registry_data()):
            form.attach_error(problem.code, problem.description)
        return valid and not form.errors

    @bp.route("/issue", methods=["GET", "POST"])
    @require("issue")
    def issue() -> Any:
        form = IssueForm()
        if request.method == "GET":
            form.region.data = service.issuer_info().get("region") or ""
        if _checked(form):
            try:
                result = acting(service).issue(form.type.data, form.registry_data())
            except InputError as err:
                form.attach_error(err.code, err.description)
            else:
                flash(gettext("Credential %(id)s issued", id=result["id"]), "success")
                return redirect(url_for("console.credential", cid=result["id"]))
        status = 400 if request.method == "POST" else 200
        return render_template("issue.html", form=form, reissue=None), status

    @bp.route("/credentials/<cid>/reissue", methods=["GET", "POST"])
    @require("issue")
    def reissue(cid: str) -> Any:
        cred = service.credential(cid)
        form = IssueForm()
        if request.method == "GET":
            data = cred["data"]
            holder = data["holder"]
            form.type.data = cred["type"]
            form.registry_id.data = cred["registry_id"]
            form.family_name.data = holder["family_name"]
            form.given_name.data = holder["given_name"]
            form.patronymic.data = holder.get("patronymic") or ""
            form.birth_date.data = holder["birth_date"]
            form.children.data = str(data.get("children") or "")
            form.category.data = data.get("category") or ""
            form.region.data = data["region"]
            form.valid_until.data = data["valid_until"]
        else:
            form.type.data, form.registry_id.data = cred["type"], cred["registry_id"]
        if _checked(form):
            try:
                result = acting(service).reissue(cid, form.registry_data())
            except InputError as err:
                form.attach_error(err.code, err.description)
            else:
                flash(gettext("New credential %(id)s issued, the previous one revoked",
                              id=result["id"]), "success")
                return redirect(url_for("console.credential", cid=result["id"]))
        status = 400 if request.method == "POST" else 200
        return render_template("issue.html", form=form, reissue=cred), status

    @bp.route("/credentials/<cid>/<change>", methods=["GET", "POST"])
    @require("issue")
    def change_state(cid: str, change: str) -> Any:
        if change not in CHANGES:
            abort(404)
        cred = service.credential(cid)
        form = ReasonForm()
        title, confirm_label, target, warning = CHANGES[change]
        confirmed = request.form.get("confirm") == "yes"
        if form.validate_on_submit():
            if not confirmed:  # second step: the same reason, shown back for confirmation
                return render_template("change.html", cred=cred, form=form, change=change,
                                       title=title, confirm_label=confirm_label, warning=warning,
                                       confirm=True)
            try:
                do = getattr(acting(service), change)
                do(cid, form.reason.data or "")
            except InputError as err:
                flash(err.description, "error")
            else:
                flash(gettext("Done: %(state)s", state=STATE_LABELS[target]), "success")
            return redirect(url_for("console.credential", cid=cid))
        status = 400 if request.method == "POST" else 200
        return render_template("change.html", cred=cred, form=form, change=change, title=title,
                               confirm_label=confirm_label, warning=warning, confirm=False), status

    @bp.post("/credentials/<cid>/reinstate")
    @require("issue")
    def reinstate(cid: str) -> Response:
        ActionForm().validate_on_submit() or abort(400)
        try:
            acting(service).reinstate(cid)
        except InputError as err:
            flash(err.description, "error")
        else:
            flash(gettext("Credential reinstated"), "success")
        return redirect(url_for("console.credential", cid=cid))

    @bp.post("/credentials/<cid>/link")
    @require("links")
    def new_link(cid: str) -> str:
        ActionForm().validate_on_submit() or abort(400)
        link = acting(service).links.new_link(cid)
        # In this response only: the database keeps its hash; showing it again is audited.
        return _render_credential(cid, shown_link=link | {"new": True})

    @bp.post("/credentials/<cid>/link/show")
    @require("links")
    def show_link(cid: str) -> str:
        ActionForm().validate_on_submit() or abort(400)
        return _render_credential(cid, shown_link=acting(service).links.show(cid))

    @bp.post("/credentials/<cid>/link/revoke")
    @require("links")
    def revoke_link(cid: str) -> Response:
        ActionForm().validate_on_submit() or abort(400)
        acting(service).links.revoke_links(cid)
        flash(gettext("The citizen's link is switched off"), "success")
        return redirect(url_for("console.credential", cid=cid))

    @bp.get("/credentials/<cid>/card.pdf")
    @require("read")
    def card(cid: str) -> Response:
        layout = request.args.get("layout", "card")
        if layout not in ("card", "a4"):
            raise NotFound("нет такого макета / no such layout", code="not_found")
        cred = service.credential(cid)
        pdf = service.card_pdf(cid, layout=layout)
        return _download(pdf, "application/pdf", _file_name(cred, f"{layout}.pdf"))

    @bp.get("/credentials/<cid>/qr.png")
    @require("read")
    def qr(cid: str) -> Response:
        cred = service.credential(cid)
        return _download(render_png(cred["qr_text"]), "image/png", _file_name(cred, "png"))

    return bp


def _download(body: bytes, mimetype: str, name: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response
