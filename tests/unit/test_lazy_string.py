"""The extension's lazy strings: translated when read, used as text, escaped as text."""

from __future__ import annotations

import copy

import pytest
from flask import Flask, render_template_string
from flask_babel import Babel, force_locale

from flask_partialpay.host.i18n import lazy_gettext
from flask_partialpay.host.lazy_string import LazyString

LABEL = lazy_gettext("Balance")  # made once, like a form label or a module constant


@pytest.fixture
def app() -> Flask:
    app = Flask("lazy_strings")
    Babel(app)
    return app


def test_a_lazy_string_is_translated_each_time_it_is_read(app: Flask) -> None:
    with app.test_request_context():
        with force_locale("es"):
            assert str(LABEL) == "Saldo"
        with force_locale("en"):
            assert str(LABEL) == "Balance"
    with Flask("no_babel").test_request_context():
        assert str(LABEL) == "Balance"


def test_a_lazy_string_is_used_as_the_text_it_stands_for() -> None:
    calls: list[str] = []

    def text(word: str) -> str:
        calls.append(word)
        return f"{word} %s"

    lazy = LazyString(text, "Pay")

    assert lazy == "Pay %s"
    assert lazy != "Pay"
    assert {lazy: 1}["Pay %s"] == 1
    assert lazy % "5" == "Pay 5"
    assert lazy + "!" == "Pay %s!"
    assert "[" + lazy == "[Pay %s"
    assert len(lazy) == 6
    assert "Pay" in lazy
    assert lazy[0] == "P"
    assert lazy.upper() == "PAY %S"
    assert sorted([LazyString(str, "b"), LazyString(str, "a")]) == ["a", "b"]
    assert repr(lazy) == "l'Pay %s'"
    assert len(calls) > 10  # worked out again each time: never kept


def test_a_translation_is_escaped_in_a_page_like_any_text(app: Flask) -> None:
    lazy = LazyString(str, "<b>Tom & Jerry</b>")
    with app.test_request_context():
        page = render_template_string("{{ label }}", label=lazy)
    assert page == "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;"


def test_a_copied_lazy_string_still_translates(app: Flask) -> None:
    copies = [copy.copy(LABEL), copy.deepcopy(LABEL)]
    with app.test_request_context(), force_locale("es"):
        assert [str(each) for each in copies] == ["Saldo", "Saldo"]


def test_a_private_name_is_not_looked_up_in_the_text() -> None:
    lazy = LazyString(str, "text")
    with pytest.raises(AttributeError):
        _ = lazy._missing
