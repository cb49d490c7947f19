"""The core loads no framework: importing ``flask_partialpay.core.money`` loads neither Flask
nor SQLAlchemy, although Python runs the package's ``__init__`` first.

The package exports its public names lazily for that reason; ``make lint`` checks the
core's own imports (``.importlinter``), this checks what importing it actually loads.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

FRAMEWORKS = ("flask", "flask_sqlalchemy", "sqlalchemy", "wtforms", "flask_babel", "werkzeug")


def loaded_after(statement: str) -> set[str]:
    probe = (
        f"import sys\n{statement}\n"
        f"print(' '.join(sorted(m for m in {FRAMEWORKS!r} if m in sys.modules)))"
    )
    result = subprocess.run(  # noqa: S603 (our own interpreter, a fixed probe)
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


@pytest.mark.parametrize(
    "statement",
    [
        "import flask_partialpay.core.money",
        "from flask_partialpay.core.money import parse_amount",
        "from flask_partialpay.core import errors, ids, percent, vocabulary",
        "import flask_partialpay",
    ],
)
def test_the_core_loads_no_framework(statement: str) -> None:
    assert loaded_after(statement) == set()


def test_the_public_names_still_come_from_the_package() -> None:
    """The lazy exports are the real objects, frameworks loaded only when one is used."""
    assert loaded_after("from flask_partialpay import PartialPay") >= {"flask", "sqlalchemy"}
    import flask_partialpay
    from flask_partialpay.core.money import parse_amount
    from flask_partialpay.extension import PartialPay
    from flask_partialpay.host import signals
    from flask_partialpay.web.forms.wallet_choice import wallet_choice

    assert flask_partialpay.PartialPay is PartialPay
    assert flask_partialpay.parse_amount is parse_amount
    assert flask_partialpay.signals is signals
    # A function named like the module it lives in is the function, not the module.
    assert flask_partialpay.wallet_choice is wallet_choice
    assert set(flask_partialpay.__all__) <= set(dir(flask_partialpay))
    with pytest.raises(AttributeError, match="no attribute 'NoSuchThing'"):
        _ = flask_partialpay.NoSuchThing  # type: ignore[attr-defined]
