"""The extension's blueprints: shopper pages, admin pages and gateway callbacks.

Owns the views, their forms (:mod:`.forms`) and the words shown for a payment's fate
(:mod:`.reasons`). Views read and change data only through the packages below; they issue
no SQL of their own. The blueprints are made afresh for each app by
:func:`create_blueprints`, so two apps in one process share no blueprint, hook or route.
"""

from __future__ import annotations

from typing import NamedTuple

from flask import Blueprint, Flask

from flask_partialpay.host.config import setting
from flask_partialpay.web import (
    admin,
    admin_offers,
    admin_orders,
    admin_settings,
    admin_wallets,
    automatic_payments,
    callbacks,
    instalments,
    saved_cards,
    shopper,
    stripe_pay,
    stripe_saved_cards,
    wallet,
)
from flask_partialpay.web.input_guard import refuse_control_characters
from flask_partialpay.web.security_headers import add_security_headers


class Blueprints(NamedTuple):
    """The extension's blueprints for one app (their names are the endpoints' prefixes)."""

    shopper: Blueprint  # "partialpay"
    admin: Blueprint  # "partialpay_admin"
    callbacks: Blueprint  # "partialpay_callbacks"


def create_blueprints() -> Blueprints:
    """New blueprints with every route of the extension attached."""
    pages = Blueprint(
        "partialpay",
        __name__,
        template_folder="../templates",
        static_folder="../static",
        static_url_path="/static",
    )
    shopper_modules = (
        shopper,
        stripe_pay,
        stripe_saved_cards,
        wallet,
        saved_cards,
        instalments,
        automatic_payments,
    )
    for module in shopper_modules:
        module.add_routes(pages)
    admin_pages = Blueprint("partialpay_admin", __name__, template_folder="../templates")
    for module in (admin, admin_orders, admin_offers, admin_settings, admin_wallets):
        module.add_routes(admin_pages)
    # The pages where shoppers pay and admins decide about money: never framed, no inline
    # script (see flask_partialpay.web.security_headers), and no control characters in
    # what they are sent, refused before a view looks anything up. Gateways' callbacks are
    # not pages: a notification is judged by its signature.
    for blueprint in (pages, admin_pages):
        blueprint.after_request(add_security_headers)
        blueprint.before_request(refuse_control_characters)
    notifications = Blueprint("partialpay_callbacks", __name__)
    callbacks.add_routes(notifications)
    return Blueprints(shopper=pages, admin=admin_pages, callbacks=notifications)


def register_views(app: Flask) -> None:
    """Register the extension's blueprints, made for ``app`` alone, on ``app``."""
    blueprints = create_blueprints()
    app.register_blueprint(blueprints.shopper, url_prefix=setting("URL_PREFIX", app))
    app.register_blueprint(blueprints.admin, url_prefix=setting("ADMIN_URL_PREFIX", app))
    app.register_blueprint(
        blueprints.callbacks, url_prefix=setting("URL_PREFIX", app) + "/gateways"
    )

    # Gateways cannot send a CSRF token; their callbacks are authenticated by signature.
    # Exempt them from the host's CSRFProtect whether it was set up before or after us.
    def exempt_callbacks() -> None:
        csrf = app.extensions.get("csrf")
        if csrf is not None:
            csrf.exempt(blueprints.callbacks)

    exempt_callbacks()
    app.before_request(exempt_callbacks)
