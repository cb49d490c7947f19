"""A small host run by tests/test_optional_dependencies.py in a virtualenv of its own.

That virtualenv has the installed wheel and its core dependencies only: no Flask-Babel, no
Flask-Migrate, no Alembic. The host signs a customer in, creates the extension's tables,
credits and debits the wallet, and renders "My wallet" for a browser that asks for Spanish;
then it registers a "babel" extension that is not Flask-Babel's, as Flask-BabelEx would, and
asks for the page again. What happened is printed as JSON.
"""

from __future__ import annotations

import importlib.metadata
import json
import sys

from flask import Flask
from flask_login import LoginManager, UserMixin, login_user
from flask_sqlalchemy import SQLAlchemy

import flask_partialpay
from flask_partialpay import PartialPay


class Customer(UserMixin):  # type: ignore[misc]
    def __init__(self, customer_id: str) -> None:
        self.id = customer_id


app = Flask("fresh_venv_host")
app.config.update(
    SECRET_KEY="fresh-venv-host-secret",
    SQLALCHEMY_DATABASE_URI="sqlite://",
    PARTIALPAY_WALLET_CURRENCIES=("EUR",),
)
db = SQLAlchemy(app)
LoginManager(app).user_loader(Customer)
partialpay = PartialPay(app, db)


@app.get("/login/<customer_id>")
def log_in(customer_id: str) -> str:
    login_user(Customer(customer_id))
    return "Signed in."


with app.app_context():
    partialpay.create_tables()
    partialpay.wallets.credit("7", "25.00", "EUR", reason="adjustment", idempotency_key="gift")
    partialpay.wallets.debit("7", "10.50", "EUR", reason="adjustment", idempotency_key="fee")
    balance = partialpay.wallets.balance("7", "EUR")

spanish = {"Accept-Language": "es"}
client = app.test_client()
client.get("/login/7", headers=spanish)
page = client.get("/partialpay/wallet", headers=spanish)

app.testing = True  # the error reaches this script instead of a 500 page
app.extensions["babel"] = object()
try:
    client.get("/partialpay/wallet", headers=spanish)
    missing = None
except ImportError as error:  # MissingDependency is one
    missing = str(error)

json.dump(
    {
        "version": flask_partialpay.__version__,
        "metadata_version": importlib.metadata.version("flask-partialpay"),
        "module": flask_partialpay.__file__,
        "balance": str(balance),
        "status": page.status_code,
        "page": page.get_data(as_text=True),
        "optional_loaded": sorted(
            name for name in ("flask_babel", "flask_migrate", "alembic") if name in sys.modules
        ),
        "missing": missing,
    },
    sys.stdout,
)
