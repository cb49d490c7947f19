"""The documentation site (docs/, `make docs`) against the code it documents.

Sphinx itself fails the build on a broken reference or a docstring it cannot read; what it
cannot see is a public name nobody wrote a directive for, or a code sample that no longer
runs. These tests see both.
"""

from __future__ import annotations

import importlib.util
import re
import secrets
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest
from flask_login import login_user

import flask_partialpay

DOCS = Path(__file__).resolve().parent.parent / "docs"
# `.. autoclass:: flask_partialpay.PartialPay`, `.. data:: current_partialpay`, ...
DIRECTIVE = re.compile(
    r"^\.\. (?:auto)?(?:py:)?(?:class|function|data|exception|attribute|module)::\s+(\S+)",
    re.MULTILINE,
)


def documented(page: str) -> set[str]:
    return set(DIRECTIVE.findall((DOCS / page).read_text(encoding="utf-8")))


def every_page() -> set[str]:
    names: set[str] = set()
    for page in DOCS.glob("*.rst"):
        names |= documented(page.name)
    return names


def test_every_public_name_has_an_entry_in_the_api_reference() -> None:
    api = documented("api.rst")
    anywhere = every_page()
    missing = []
    for name in flask_partialpay.__all__:
        value = getattr(flask_partialpay, name)
        if isinstance(value, ModuleType):
            # An exported module (signals) has a page of its own, under its real name.
            found = value.__name__ in anywhere
        else:
            found = f"flask_partialpay.{name}" in api or name in api
        if not found:
            missing.append(name)
    assert not missing, f"not in docs/api.rst: {', '.join(missing)}"


def load_quickstart(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    path = DOCS / "examples" / "quickstart.py"
    spec = importlib.util.spec_from_file_location("docs_quickstart", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # SQLAlchemy reads the models' annotations through the module's entry here.
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


def test_quickstart_shop_pays_an_invoice_as_the_page_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOP_SECRET_KEY", secrets.token_hex(32))
    monkeypatch.setenv("SHOP_SANDBOX_SECRET", secrets.token_hex(32))
    monkeypatch.setenv("SHOP_DATABASE_URL", f"sqlite:///{tmp_path / 'shop.db'}")
    shop = load_quickstart(monkeypatch)
    app = shop.create_app()
    with app.app_context():
        shop.db.session.add(shop.Customer(id=7))
        shop.db.session.add(
            shop.Invoice(reference="INV-1", customer_id=7, currency="USD", total_minor=5000)
        )
        shop.db.session.commit()

    with app.test_request_context():
        login_user(shop.db.session.get(shop.Customer, 7))
        invoice = shop.db.session.scalar(shop.db.select(shop.Invoice))
        first = shop.start_payment(invoice, "manual", idempotency_key="checkout-1")
        again = shop.start_payment(invoice, "manual", idempotency_key="checkout-1")
        assert first == again  # a double submit pays once
        assert len(shop.partialpay.orders.payments("INV-1")) == 1
        assert shop.partialpay.orders.find("INV-1").due == Decimal("50.00")

        shop.partialpay.orders.paid("INV-1", method="cash")
        shop.db.session.expire_all()
        assert shop.db.session.scalar(shop.db.select(shop.Invoice)).status == "paid"


@pytest.mark.parametrize(
    ("page_path", "where"),
    [
        (DOCS / "quickstart.md", r"```diff\n(.*?)\n```"),
        (DOCS.parent / "README.md", r"<!-- thirty-lines:start -->\n```diff\n(.*?)\n```\n"),
    ],
    ids=["quickstart", "readme"],
)
def test_the_page_shows_the_thirty_line_shop_as_it_is(page_path: Path, where: str) -> None:
    """The page's diff is the one between tests/hosts/thirty_lines/bare and .../shop."""
    from tests.hosts.test_thirty_lines import wiring_diff

    page = page_path.read_text(encoding="utf-8")
    shown = re.search(where, page, re.DOTALL)
    assert shown, f"{page_path.name} has no diff block"
    diff, added = wiring_diff(context=1)
    assert shown.group(1) == "\n".join(diff), (
        f"{page_path.name}'s diff is out of date; paste this in its place:\n" + "\n".join(diff)
    )
    assert "in 30 lines" in page and added <= 30
    if page_path.name == "README.md":
        assert f"{added} lines, counted by a test" in page  # the number it states
