"""The extension's blueprints: shopper pages, admin pages and gateway callbacks."""

from __future__ import annotations

from flask import Flask

from ..config import setting
from ..input_guard import refuse_control_characters

# Imported for their routes: the wallet pages join the shopper and admin blueprints.
from . import admin_offers, admin_orders, admin_settings, admin_wallets, instalments, wallet  # noqa: F401
from .admin import admin_blueprint
from .callbacks import callbacks_blueprint
from .shopper import shopper_blueprint

# The pages people open refuse control characters before a view looks anything up. The
# callbacks are left alone: a gateway's notification is judged by its signature.
for _blueprint in (shopper_blueprint, admin_blueprint):
    _blueprint.before_request(refuse_control_characters)


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
