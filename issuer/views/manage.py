"""The ministry's console, the rest: registry import jobs, keys, users, API tokens, audit log."""
from __future__ import annotations

from typing import Any

from flask import (Blueprint, Response, abort, flash, jsonify, redirect, render_template, request,
                   stream_with_context, url_for)
from flask_babel import gettext
from flask_login import current_user

from issuer import labels
from issuer.forms import ActionForm, ImportForm, LinksExportForm, TokenForm, UserForm
from issuer.links import ExportFilter, parse_registry_ids, parse_since
from issuer.service import IssuerService
from issuer.views.auth import acting, require
from shared.errors import InputError

AUDIT_PAGE = 100


def build_blueprint(service: IssuerService, on_job_submitted: Any = None) -> Blueprint:
    bp = Blueprint("manage", __name__, url_prefix="/admin")

    # --- registry import --------------------------------------------------------------------------

    @bp.route("/import", methods=["GET", "POST"])
    @require("read")
    def import_page() -> Any:
        form = ImportForm()
        if request.method == "POST":
            if not current_user.can("issue"):  # auditors see the page and reports; no upload
                abort(403)
            if form.validate_on_submit():
                upload = form.file.data
                try:
                    job_id = acting(service).jobs.submit_import(upload.stream, upload.filename or "")
                except InputError as err:
                    flash(err.description, "error")
                else:
                    if on_job_submitted is not None:
                        on_job_submitted()
                    return redirect(url_for("manage.job", job_id=job_id))
        status = 400 if request.method == "POST" else 200
        return render_template("import.html", form=form, jobs=service.jobs.recent()), status

    @bp.get("/import/<job_id>")
    @require("read")
    def job(job_id: str) -> Any:
        info = service.jobs.get(job_id)
        info["state_label"] = labels.label(labels.JOB_STATES, info["state"])  # for the page's script
        best = request.accept_mimetypes.best_match(["text/html", "application/json"])
        if best == "application/json" or request.args.get("format") == "json":
            response = jsonify(info)
            response.headers["Cache-Control"] = "no-store"
            return response
        return render_template("job.html", job=info)

    # --- keys -------------------------------------------------------------------------------------

    @bp.get("/keys")
    @require("read")
    def keys() -> str:
        return render_template("keys.html", keys=service.keys()["keys"], form=ActionForm())

    @bp.post("/keys/rotate")
    @require("admin")
    def rotate() -> Response:
        ActionForm().validate_on_submit() or abort(400)
        result = acting(service).rotate_key()
        flash(gettext("New key %(new)s; the previous one, %(old)s, is retired",
                      new=result["active"], old=result["retired"]), "success")
        return redirect(url_for("manage.keys"))

    # --- users ------------------------------------------------------------------------------------

    @bp.route("/users", methods=["GET", "POST"])
    @require("admin")
    def users() -> Any:
        form = UserForm()
        created = None
        if form.validate_on_submit():
            try:
                created = acting(service).accounts.add_user(form.name.data or "", form.role.data or "")
            except InputError as err:
                flash(err.description, "error")
        return render_template("users.html", users=service.accounts.users(), form=form,
                               created=created, action_form=ActionForm(), roles=labels.ROLES)

    @bp.post("/users/<name>")
    @require("admin")
    def user_action(name: str) -> Any:
        ActionForm().validate_on_submit() or abort(400)
        action = request.form.get("action", "")
        accounts = acting(service).accounts
        changed = None
        try:
            if action == "disable":
                accounts.update(name, active=False)
            elif action == "enable":
                accounts.update(name, active=True)
            elif action == "reset":
                changed = accounts.update(name, reset_password=True)
            elif action in labels.ROLES:
                accounts.update(name, role=action)
            else:
                abort(400)
        except InputError as err:
            flash(err.description, "error")
        return render_template("users.html", users=service.accounts.users(), form=UserForm(),
                               created=changed, action_form=ActionForm(), roles=labels.ROLES)

    # --- API tokens -------------------------------------------------------------------------------

    @bp.route("/tokens", methods=["GET", "POST"])
    @require("admin")
    def tokens() -> Any:
        form = TokenForm()
        created = None
        if form.validate_on_submit():
            try:
                created = acting(service).api_tokens.create(form.name.data or "")
            except InputError as err:
                flash(err.description, "error")
        return render_template("tokens.html", tokens=service.api_tokens.list(), form=form,
                               created=created, action_form=ActionForm())

    @bp.post("/tokens/<token_id>/revoke")
    @require("admin")
    def revoke_token(token_id: str) -> Response:
        ActionForm().validate_on_submit() or abort(400)
        acting(service).api_tokens.revoke(token_id)
        flash(gettext("Token revoked"), "success")
        return redirect(url_for("manage.tokens"))

    # --- citizens' links --------------------------------------------------------------------------

    @bp.route("/links", methods=["GET", "POST"])
    @require("links")
    def links() -> Any:
        """The links of many registry entries as CSV, for the state portal or letters. A POST
        with the form's CSRF token: handing out links is an audited act, not a page view."""
        form = LinksExportForm()
        if form.validate_on_submit():
            try:
                filters = ExportFilter(since=parse_since(form.since.data),
                                       registry_ids=parse_registry_ids([form.registry_ids.data or ""]))
            except InputError as err:
                flash(err.description, "error")
            else:
                _, lines = acting(service).links.export(filters, channel="console")
                response = Response(stream_with_context(lines), mimetype="text/csv")
                response.headers["Content-Disposition"] = 'attachment; filename="socpass-links.csv"'
                response.headers["Cache-Control"] = "no-store"
                return response
        status = 400 if request.method == "POST" else 200
        return render_template("links.html", form=form), status

    # --- audit ------------------------------------------------------------------------------------

    @bp.get("/audit")
    @require("read")
    def audit() -> str:
        filters = {k: request.args.get(k, "")[:128] for k in ("action", "actor", "credential_id")}
        before = request.args.get("before", type=int)
        events = service.audit.events(**filters, before_id=before, limit=AUDIT_PAGE)
        verified = service.audit.verify() if request.args.get("verify") == "1" else None
        return render_template("audit.html", events=events, filters=filters, actions=labels.ACTIONS,
                               verified=verified, page_size=AUDIT_PAGE)

    @bp.get("/audit.csv")
    @require("read")
    def audit_csv() -> Response:
        response = Response(stream_with_context(service.audit.csv_lines()), mimetype="text/csv")
        response.headers["Content-Disposition"] = 'attachment; filename="socpass-audit.csv"'
        response.headers["Cache-Control"] = "no-store"
        return response

    return bp

