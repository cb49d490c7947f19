"""The extension's blueprints: shopper pages, admin pages and gateway callbacks."""

from __future__ import annotations

from flask import Flask

from flask_partialpay.host.config import setting

# Imported for their routes on the shopper and admin blueprints (the wallet pages join both).
from flask_partialpay.web import (  # noqa: F401
    admin,
    admin_offers,
    admin_orders,
    admin_settings,
    admin_wallets,
    instalments,
    wallet,
)
from flask_partialpay.web.admin_base import admin_blueprint
from flask_partialpay.web.callbacks import callbacks_blueprint
from flask_partialpay.web.input_guard import refuse_control_characters
from flask_partialpay.web.security_headers import add_security_headers
from flask_partialpay.web.shopper import shopper_blueprint

# The pages where shoppers pay and admins decide about money: never framed, no inline
# script (see flask_partialpay.web.security_headers), and no control characters in what they
# are sent, refused before a view looks anything up. Gateways' callbacks are not pages: a
# notification is judged by its signature.
for _pages in (shopper_blueprint, admin_blueprint):
    _pages.after_request(add_security_headers)
    _pages.before_request(refuse_control_characters)


def register_views(app: Flask) -> None:
    app.register_blueprint(shopper_blueprint, url_prefix=setting("URL_PREFIX", app))
    app.register_blueprint(admin_blueprint, url_prefix=setting("ADMIN_URL_PREFIX", app))
    app.register_blueprint(callbacks_blueprint, url_prefix=setting("URL_PREFIX", app) + "/gateways")

    # Gateways cannot send a CSRF token; their callbacks are authenticated by signature.
    # Exempt them from the host's CSRFProtect whether it was set up before or after us.
    def exempt_callbacks() -> None:
        csrf = app.extensions.get("csrf")
        if csrf is not None:
            csrf.exempt(callbacks_blueprint)

    exempt_callbacks()
    app.before_request(exempt_callbacks)
