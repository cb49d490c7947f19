"""Lists a page at a time: whatever page is asked for, a page the list has is shown.

:func:`flask_partialpay.db.paging.page_of` is Flask-SQLAlchemy's ``paginate`` with the
page kept within the list; the web layer reads the page number from the address bar.
A bare app and database here; the pages that use both are tested with every database in
test_hostile_input.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from flask_partialpay.db.paging import LAST_PAGE_ASKABLE, page_of
from flask_partialpay.web.paging import requested_page

ROWS = 7
PER_PAGE = 3  # pages: 1-3, 4-6, 7


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "row"
    id: Mapped[int] = mapped_column(primary_key=True)


@pytest.fixture
def db() -> Iterator[SQLAlchemy]:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    database = SQLAlchemy(app, model_class=Base)
    with app.app_context():
        Base.metadata.create_all(database.engine)
        yield database


def ids(db: SQLAlchemy, page: int) -> tuple[int, int, list[int]]:
    shown = page_of(db, select(Row).order_by(Row.id), page=page, per_page=PER_PAGE)
    assert shown.total == db.session.query(Row).count()
    return shown.number, shown.pages, [row.id for row in shown.items]


@pytest.mark.parametrize(
    ("requested", "number", "rows"),
    [
        (1, 1, [1, 2, 3]),
        (2, 2, [4, 5, 6]),
        (3, 3, [7]),
        (0, 1, [1, 2, 3]),  # below the first: the first
        (-2, 1, [1, 2, 3]),
        (-(2**80), 1, [1, 2, 3]),
        (4, 3, [7]),  # past the last: the last
        (LAST_PAGE_ASKABLE, 3, [7]),
        (2**64, 3, [7]),  # no OFFSET beyond 64 bits reaches the database
        (2**80, 3, [7]),
    ],
)
def test_the_page_shown_is_one_the_list_has(
    db: SQLAlchemy, requested: int, number: int, rows: list[int]
) -> None:
    db.session.add_all(Row(id=n) for n in range(1, ROWS + 1))
    db.session.commit()
    assert ids(db, requested) == (number, 3, rows)


@pytest.mark.parametrize("requested", [1, 2, 2**64])
def test_an_empty_list_is_one_empty_page(db: SQLAlchemy, requested: int) -> None:
    assert ids(db, requested) == (1, 1, [])


@pytest.mark.parametrize(
    ("query", "page"),
    [
        ("", 1),
        ("page=3", 3),
        ("page=0", 0),  # page_of makes it the first
        ("page=-2", 1),
        ("page=%C2%B2", 1),  # superscript two
        ("page=%D9%A2", 1),  # Arabic-Indic two: int() reads it, a page number it is not
        ("page=1e3", 1),
        ("page=NaN", 1),
        ("page=" + "9" * 5000, LAST_PAGE_ASKABLE),  # past the last page, whatever the list
    ],
)
def test_the_requested_page_is_read_from_plain_digits_only(query: str, page: int) -> None:
    with Flask(__name__).test_request_context(f"/?{query}"):
        assert requested_page() == page
