"""The Russian, Hindi and Spanish catalogs are complete, and the pages speak them.

Complete means: every message of the template ``translations/flask_partialpay.pot`` is
in the catalog, translated, not fuzzy, with the same placeholders, and the catalog holds
no message the template no longer has. The catalogs are compiled here (as the package
build does) and a page is rendered in each language.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask

from flask_partialpay.core.money import format_money
from tests.conftest import Shopper

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "translations" / "flask_partialpay.pot"
CATALOGS = ROOT / "flask_partialpay" / "translations"
LANGUAGES = ("ru", "hi", "es")


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as file:
        return read_po(file, locale=locale)


def _po(language: str) -> Path:
    return CATALOGS / language / "LC_MESSAGES" / "flask_partialpay.po"


def _ids(catalog: Catalog) -> set[str]:
    return {str(message.id) for message in catalog if message.id}


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalog_translates_every_message_of_the_template(language: str) -> None:
    template = _read(TEMPLATE)
    catalog = _read(_po(language), language)
    assert _ids(template) - _ids(catalog) == set(), "messages missing from the catalog"
    assert _ids(catalog) - _ids(template) == set(), "messages the template no longer has"
    untranslated = [
        message.id
        for message in catalog
        if message.id
        and (
            message.fuzzy
            or not message.string
            or (isinstance(message.string, tuple) and not all(message.string))
        )
    ]
    assert untranslated == []
    problems = [(message.id, errors) for message, errors in catalog.check()]
    assert problems == []
    # A translation that is the English again is usually one nobody wrote.
    same = [m.id for m in catalog if m.id and m.string == m.id and any(c.isalpha() for c in m.id)]
    assert len(same) <= 3, same


@pytest.fixture
def compiled() -> None:
    """Compile the catalogs to .mo next to them, as the package build does."""
    for language in LANGUAGES:
        catalog = _read(_po(language), language)
        with _po(language).with_suffix(".mo").open("wb") as file:
            write_mo(file, catalog)


@pytest.mark.parametrize(
    ("language", "words"),
    [("ru", "Мой кошелёк"), ("hi", "वॉलेट"), ("es", "monedero")],
)
def test_the_wallet_page_speaks_the_browsers_language(
    app: Flask, shopper: Shopper, compiled: None, language: str, words: str
) -> None:
    page = shopper.get("/partialpay/wallet", headers={"Accept-Language": language})
    html = page.get_data(as_text=True)
    assert f'lang="{language}"' in html
    assert words in html


def test_the_language_switcher_wins_over_the_browser(
    app: Flask, shopper: Shopper, compiled: None
) -> None:
    response = shopper.post_form("/", "/language", {"language": "ru", "next": "/partialpay/wallet"})
    assert response.status_code == 302
    html = shopper.get("/partialpay/wallet", headers={"Accept-Language": "es"}).get_data(
        as_text=True
    )
    assert 'lang="ru"' in html


def test_money_is_formatted_for_each_locale() -> None:
    assert format_money(Decimal("100000"), "INR", "hi") == "₹1,00,000.00"
    assert format_money(Decimal("1234.5"), "USD", "en") == "$1,234.50"
    assert format_money(Decimal("1234.5"), "EUR", "es") == "1.234,50\xa0€"
    assert format_money(Decimal("1234.5"), "RUB", "ru") == "1\xa0234,50\xa0₽"
