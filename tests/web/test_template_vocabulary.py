"""No template decides on a bare gateway name or status word.

Templates compare with what Python gives them (``partialpay_payment_status.PENDING``, a
gateway's ``confirmed_by_manager``, ``payment.paid_from_wallet``, the thank-you page's
``outcomes``), so renaming a status or adding a gateway never leaves a page deciding on a
word that no longer means what it did. The scan reads each template's syntax tree: a quoted
word from the vocabulary in a comparison, a test, a lookup or a dict key fails it.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

import pytest
from jinja2 import Environment, nodes

import flask_partialpay
from flask_partialpay.core import vocabulary
from flask_partialpay.payments.gateways.manual import ManualGateway
from flask_partialpay.sandbox.card import NAME as SANDBOX_CARD
from flask_partialpay.web.instalments import ThankYouOutcome

TEMPLATES = Path(flask_partialpay.__file__).parent / "templates"

_WORD_SETS: list[type[StrEnum]] = [
    vocabulary.OrderStatus,
    vocabulary.PaymentStatus,
    vocabulary.RefundStatus,
    vocabulary.HoldStatus,
    vocabulary.AccountKind,
    vocabulary.TransferReason,
    vocabulary.OrderPurpose,
    ThankYouOutcome,
]
GATEWAY_NAMES = {vocabulary.WALLET_GATEWAY, ManualGateway.name, SANDBOX_CARD}
VOCABULARY = {str(member) for words in _WORD_SETS for member in words} | GATEWAY_NAMES


def _strings(node: nodes.Node) -> Iterator[str]:
    """The string constants ``node`` is made of (itself, or the items of a tuple or list)."""
    if isinstance(node, nodes.Const) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, (nodes.Tuple, nodes.List)):
        for item in node.items:
            yield from _strings(item)


def _decided_on(tree: nodes.Template) -> Iterator[tuple[int, str]]:
    """Each quoted string a template decides on, with its line."""
    for compare in tree.find_all(nodes.Compare):
        for operand in [compare.expr, *(op.expr for op in compare.ops)]:
            for word in _strings(operand):
                yield compare.lineno, word
    for test in tree.find_all(nodes.Test):
        for argument in test.args:
            for word in _strings(argument):
                yield test.lineno, word
    for lookup in tree.find_all(nodes.Getitem):
        for word in _strings(lookup.arg):
            yield lookup.lineno, word
    for pair in tree.find_all(nodes.Pair):
        for word in _strings(pair.key):
            yield pair.lineno, word


def vocabulary_literals(source: str) -> list[tuple[int, str]]:
    """The gateway names and status words ``source`` decides on, with their lines."""
    # Parsed, never rendered: autoescaping has nothing to do here.
    tree = Environment(autoescape=True).parse(source)
    return [(line, word) for line, word in _decided_on(tree) if word in VOCABULARY]


TEMPLATE_FILES = sorted(TEMPLATES.rglob("*.html"))


def test_every_template_is_scanned() -> None:
    names = {path.name for path in TEMPLATE_FILES}
    assert {"thank_you.html", "payment.html", "payments.html", "_attempts.html"} <= names


@pytest.mark.parametrize(
    "path", TEMPLATE_FILES, ids=[str(p.relative_to(TEMPLATES)) for p in TEMPLATE_FILES]
)
def test_no_template_decides_on_a_gateway_name_or_status_word(path: Path) -> None:
    assert vocabulary_literals(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "source",
    [
        '{% if p.gateway == "manual" %}x{% endif %}',
        "{% if 'wallet' != p.gateway %}x{% endif %}",
        '{% if p.status in ("pending", "failed") %}x{% endif %}',
        '{{ "yes" if order.status == "completed" else "no" }}',
        '{% if p.status is sameas "succeeded" %}x{% endif %}',
        '{{ labels["declined"] }}',
        '{% set headings = {"rejected": "No"} %}',
        '{% if outcome == "paid" %}x{% endif %}',
    ],
)
def test_the_scan_finds_a_literal_wherever_a_template_decides(source: str) -> None:
    assert vocabulary_literals(source) != []


def test_the_scan_leaves_other_strings_alone() -> None:
    source = (
        '{% if request.endpoint == "partialpay.pay_step" %}{{ _pp("pending") }}{% endif %}'
        "{% if p.status == partialpay_payment_status.PENDING %}x{% endif %}"
    )
    assert vocabulary_literals(source) == []
