"""Console forms (Flask-WTF: every form carries a CSRF token). Labels are gettext (issuer.i18n).

Forms check presence and length only; what the data means is checked by the service
(`IssuerService.validate`), whose messages are attached back to the field they name.
"""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from issuer.i18n import data_lang
from issuer.labels import ROLES
from shared.credential import CATEGORIES, TYPES

REQUIRED = _l("Required")

try:  # WTForms 3.3 wants SelectChoice objects; earlier versions take (value, label) pairs
    from wtforms.fields.choices import SelectChoice

    def _choices(pairs: list[tuple[str, str]]) -> list[Any]:
        return [SelectChoice(value, label) for value, label in pairs]
except ImportError:  # pragma: no cover - older WTForms
    def _choices(pairs: list[tuple[str, str]]) -> list[Any]:
        return list(pairs)


def _required() -> DataRequired:
    return DataRequired(message=REQUIRED)


class LoginForm(FlaskForm):
    name = StringField(_l("User name"), validators=[_required(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[_required(), Length(max=256)])


class IssueForm(FlaskForm):
    type = SelectField(_l("Type of credential"),
                       validators=[_required()])  # choices: in __init__, in the page's language
    registry_id = StringField(_l("Registry id"), validators=[_required(), Length(max=64)])
    family_name = StringField(_l("Family name"), validators=[_required(), Length(max=64)])
    given_name = StringField(_l("Given name"), validators=[_required(), Length(max=64)])
    patronymic = StringField(_l("Patronymic"), validators=[Length(max=64)])
    birth_date = StringField(_l("Date of birth"), validators=[_required()],
                             render_kw={"type": "date"})
    children = StringField(_l("Children (for a large family)"),
                           render_kw={"inputmode": "numeric"})
    category = SelectField(_l("Category (for a beneficiary)"))
    region = StringField(_l("Region code"), validators=[_required(), Length(max=3)])
    valid_until = StringField(_l("Valid until"), validators=[_required()],
                              render_kw={"type": "date"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        lang = data_lang()
        self.type.choices = _choices([(code, t[lang]) for code, t in TYPES.items()])
        self.category.choices = _choices([("", "—")] + [(code, c[lang]) for code, c in CATEGORIES.items()])

    def registry_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "registry_id": (self.registry_id.data or "").strip(),
            "holder": {"family_name": self.family_name.data or "",
                       "given_name": self.given_name.data or "",
                       "patronymic": (self.patronymic.data or "").strip() or None,
                       "birth_date": _iso(self.birth_date.data)},
            "region": (self.region.data or "").strip(),
            "valid_until": _iso(self.valid_until.data),
        }
        if self.type.data == "large_family":
            data["children"] = (self.children.data or "").strip()
        else:
            data["category"] = self.category.data or ""
        return data

    def attach_error(self, code: str, message: str) -> None:
        """Put the service's message under the field it is about (else at the top)."""
        name = code.removeprefix("invalid_")
        field = getattr(self, name, None) if name in self._fields else None
        if field is None:
            if message not in self.form_errors:
                self.form_errors.append(message)
        elif not field.errors:  # one message a field ("required" says enough)
            # under its field the message needs no "children (число детей): " prefix
            field.errors = [message.split("): ", 1)[-1]]


def _iso(value: str | None) -> str:
    """The date input sends YYYY-MM-DD; a typed DD.MM.YYYY is accepted too."""
    text = (value or "").strip()
    parts = text.split(".")
    if len(parts) == 3 and all(p.isdigit() for p in parts) and len(parts[2]) == 4:
        return f"{parts[2]}-{int(parts[1]):02d}-{int(parts[0]):02d}"
    return text


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"),
                           validators=[_required(), Length(max=500, message=_l("Up to 500 characters"))])


class ImportForm(FlaskForm):
    file = FileField(_l("Registry CSV file"),
                     validators=[FileRequired(message=_l("Choose a file"))])


class UserForm(FlaskForm):
    name = StringField(_l("User name"), validators=[_required(), Length(max=64)])
    role = SelectField(_l("Role"), default="operator", validators=[_required()],
                       choices=_choices([(r, ROLES[r]) for r in ("operator", "auditor", "admin")]))


class TokenForm(FlaskForm):
    name = StringField(_l("Name (who uses it)"),
                       validators=[_required(), Length(max=128)])


class LinksExportForm(FlaskForm):
    since = StringField(_l("Changed since (optional)"),
                        render_kw={"type": "date"})
    registry_ids = TextAreaField(_l("Registry ids (optional; separated by spaces, commas or lines)"),
                                 validators=[Length(max=200_000)])


class ActionForm(FlaskForm):
    """A button: only the CSRF token."""
