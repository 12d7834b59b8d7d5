"""The words people read for the codes the issuer keeps: audit actions, reasons, roles, states.

Lazy gettext strings (Flask-Babel): each becomes text in the language of the page that shows it
(issuer.i18n). The codes stay what the database, the API and the CSV export carry.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

ACTIONS = {
    "init": _l("issuer created"),
    "issue": _l("credential issued"),
    "revoke": _l("credential revoked"),
    "suspend": _l("credential suspended"),
    "reinstate": _l("credential reinstated"),
    "import": _l("registry import"),
    "import_failed": _l("registry import failed"),
    "key_rotate": _l("key rotated"),
    "key_retire": _l("key retired"),
    "key_withdraw": _l("key withdrawn"),
    "user_add": _l("user added"),
    "user_role": _l("role changed"),
    "user_disable": _l("user disabled"),
    "user_enable": _l("user enabled"),
    "user_password": _l("password changed"),
    "user_update": _l("user changed"),
    "login": _l("sign-in"),
    "logout": _l("sign-out"),
    "token_create": _l("API token created"),
    "token_revoke": _l("API token revoked"),
    "login_failed": _l("failed sign-in"),
    "wallet_link": _l("citizen link created"),
    "wallet_link_revoke": _l("citizen link revoked"),
    "wallet_link_show": _l("citizen link shown"),
    "links_export": _l("citizen links exported"),
}
# Why a sign-in was refused (issuer.loginaudit.REASONS) and other codes kept as an event's reason.
REASONS = {
    "unknown_user": _l("no such user"),
    "wrong_password": _l("wrong password"),
    "disabled": _l("the account is disabled"),
    "too_many_attempts": _l("too many attempts, sign-in blocked for 5 minutes"),
    "replaced": _l("replaced by a new credential"),
}
ROLES = {"admin": _l("admin"), "operator": _l("operator"), "auditor": _l("auditor")}
CREDENTIAL_STATES = {"valid": _l("valid"), "revoked": _l("revoked"), "suspended": _l("suspended")}
JOB_STATES = {"queued": _l("queued"), "running": _l("running"), "done": _l("done"),
              "failed": _l("failed")}


def label(table: dict[str, object], code: str | None) -> str:
    """The code's words, or the code itself when it has none (a reason typed by an operator)."""
    if code is None:
        return ""
    return str(table.get(code, code))
