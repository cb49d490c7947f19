"""The shop's language: the browser's Accept-Language, or the one chosen in the switcher."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, request, session, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import SelectField

from flask_partialpay.host.redirects import requested_target

from .models import db

# Each language in its own name, as the switcher shows it.
LANGUAGES = {"en": "English", "ru": "Русский", "hi": "हिन्दी", "es": "Español"}
SESSION_KEY = "language"

bp = Blueprint("language", __name__)


class LanguageForm(FlaskForm):
    """The language switcher in the page header."""

    language = SelectField("Language")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.language.choices = list(LANGUAGES.items())


def select_locale() -> str | None:
    """Flask-Babel's locale selector: the switcher's choice, else the browser's best match."""
    chosen = session.get(SESSION_KEY)
    if chosen in LANGUAGES:
        return str(chosen)
    return request.accept_languages.best_match(list(LANGUAGES))


@bp.post("/language")
def choose() -> Response:
    form = LanguageForm()
    if not form.validate_on_submit():
        abort(400)
    back = requested_target(request.form.get("next")) or url_for("shop.catalogue")
    session[SESSION_KEY] = form.language.data
    if current_user.is_authenticated:
        # The shop's e-mails to this user follow the language they read the shop in.
        current_user.language = form.language.data
        db.session.commit()
    return redirect(back)
