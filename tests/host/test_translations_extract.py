"""The checked-in extraction setup finds the extension's strings, and the template is current.

Runs the documented ``pybabel extract`` command (see the top of ``translations/babel.cfg``)
into a temporary file and reads the result back with Babel.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
MAPPING = "translations/babel.cfg"
TEMPLATE = "translations/flask_partialpay.pot"
# The keywords are in the mapping file too; Babel before 2.18 reads them only from here.
EXTRACT_ARGS = [
    "extract",
    "-F",
    MAPPING,
    "-k",
    "_l",
    "-k",
    "lazy_gettext",
    "-k",
    "_pp",
    "--add-comments=TRANSLATORS:",
    "--project=flask-partialpay",
]
REGENERATE = f"pybabel {' '.join(EXTRACT_ARGS)} -o {TEMPLATE} flask_partialpay"


def _read_catalog(path: Path) -> Catalog:
    with path.open("rb") as file:
        return read_po(file)


def _msgids(catalog: Catalog) -> set[str | tuple[str, ...]]:
    """Each message's id: a string, or (singular, plural) for a plural message."""
    return {
        message.id if isinstance(message.id, str) else tuple(message.id)
        for message in catalog
        if message.id
    }


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    output = tmp_path_factory.mktemp("extract") / "flask_partialpay.pot"
    result = subprocess.run(  # noqa: S603 - a fixed command line
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            *EXTRACT_ARGS,
            "-o",
            str(output),
            "flask_partialpay",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return _read_catalog(output)


def _locations(catalog: Catalog, msgid: str) -> list[str]:
    message = catalog.get(msgid)
    assert message is not None, f"{msgid!r} was not extracted"
    return [filename for filename, _line in message.locations]


@pytest.mark.parametrize(
    ("msgid", "source"),
    [
        pytest.param("Enter an amount.", "flask_partialpay/core/money.py", id="N_-in-python"),
        pytest.param(
            "Pay by card",
            "flask_partialpay/templates/partialpay/sandbox_card.html",
            id="_pp-in-template",
        ),
        pytest.param(
            "Card number", "flask_partialpay/web/forms/sandbox.py", id="lazy-gettext-as-_l"
        ),
        pytest.param("Bank transfer", "flask_partialpay/payments/gateways/manual.py", id="gettext"),
        pytest.param(
            "Owed at the gateway: %(amount)s",
            "flask_partialpay/templates/partialpay/admin/payments.html",
            id="_pp-with-params-in-nested-template",
        ),
    ],
)
def test_extraction_finds_messages_marked_in_python_and_templates(
    extracted: Catalog, msgid: str, source: str
) -> None:
    assert source in _locations(extracted, msgid)


def test_checked_in_template_has_the_same_messages_as_a_fresh_extraction(
    extracted: Catalog,
) -> None:
    template = ROOT / TEMPLATE
    assert template.is_file(), f"{TEMPLATE} is missing; create it with:\n  {REGENERATE}"
    checked_in = _msgids(_read_catalog(template))
    fresh = _msgids(extracted)
    assert checked_in == fresh, (
        f"{TEMPLATE} is out of date "
        f"(new: {sorted(map(str, fresh - checked_in))}, "
        f"gone: {sorted(map(str, checked_in - fresh))}). "
        f"Regenerate it from the repository root with:\n  {REGENERATE}"
    )
