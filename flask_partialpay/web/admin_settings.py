"""The admin "Settings" tab: the wallet switches stored in the database.

The form has one checkbox per switch in :data:`store_settings.SWITCHES`, so a new switch
appears here without touching this module. Saving writes only the switches whose value
changed, with the admin's id in ``updated_by``.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import BooleanField

from flask_partialpay.db import store_settings
from flask_partialpay.host.i18n import gettext
from flask_partialpay.host.i18n import lazy_gettext as _l
from flask_partialpay.state import current_partialpay
from flask_partialpay.web.access import admin_required


class StoreSettingsForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    """One checkbox per store switch (added below, from ``SWITCHES``); the hint is its help.

    An unticked checkbox sends nothing, which reads as off.
    """

    def switch_fields(self) -> list[BooleanField]:
        """The checkboxes, in the order of ``SWITCHES``."""
        return [self[switch.name] for switch in store_settings.SWITCHES]

    def values(self) -> dict[str, bool]:
        """Each switch's submitted value, by name."""
        return {switch.name: bool(self[switch.name].data) for switch in store_settings.SWITCHES}


# Label and hint are msgids already marked with N_ where the switch is defined.
for _switch in store_settings.SWITCHES:
    setattr(
        StoreSettingsForm,
        _switch.name,
        BooleanField(_l(_switch.label), description=_l(_switch.hint), default=_switch.default),
    )
del _switch


def _page(form: StoreSettingsForm) -> str:
    return render_template("partialpay/admin/settings.html", form=form)


@admin_required
def settings() -> str:
    """Every switch as it is now: stored value, or its default if never written."""
    return _page(StoreSettingsForm(data=store_settings.current(current_partialpay.session)))


@admin_required
def settings_save() -> Response:
    """Store the ticked switches as on and the others as off, then show the page again."""
    form = StoreSettingsForm()
    if not form.validate_on_submit():
        # Checkboxes cannot be invalid: a missing or stale CSRF token is what lands here.
        abort(400)
    state = current_partialpay
    values = form.values()
    admin_id = current_user.get_id()
    changed = state.transaction(lambda: store_settings.change(state.session, values, by=admin_id))
    if changed:
        flash(gettext("Settings saved."), "success")
    else:
        flash(gettext("Nothing changed."), "info")
    return redirect(url_for("partialpay_admin.settings"))


def add_routes(blueprint: Blueprint) -> None:
    """The store settings page, on the admin blueprint."""
    blueprint.get("/settings")(settings)
    blueprint.post("/settings")(settings_save)
