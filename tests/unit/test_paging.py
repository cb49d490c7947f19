"""Lists a page at a time by cursor: whatever cursor is asked for, a page the list has.

:func:`flask_partialpay.db.paging.keyset_page` reads the page next to a cursor (``before``
or ``after`` an id) from the index, newest first; the web layer reads the cursor from the
address bar. A bare app and database here; the pages that use both are tested with every
database in test_hostile_input.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from flask_partialpay.db.paging import LAST_ID, Page, keyset_page
from flask_partialpay.web.paging import Cursor, requested_cursor

ROWS = 7
PER_PAGE = 3  # newest first: 7-5, 4-2, 1


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "row"
    id: Mapped[int] = mapped_column(primary_key=True)
    # Two lists share the table: a page of one never shows a row of the other.
    owner: Mapped[str] = mapped_column(default="mine")


@pytest.fixture
def db() -> Iterator[SQLAlchemy]:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    database = SQLAlchemy(app, model_class=Base)
    with app.app_context():
        Base.metadata.create_all(database.engine)
        yield database


@pytest.fixture
def rows(db: SQLAlchemy) -> None:
    # Ids 1-7 are mine; 8 and 9 another owner's, newer than all of mine.
    db.session.add_all(Row(id=n) for n in range(1, ROWS + 1))
    db.session.add_all([Row(id=8, owner="theirs"), Row(id=9, owner="theirs")])
    db.session.commit()


def page(db: SQLAlchemy, before: int | None = None, after: int | None = None) -> Page[Row]:
    return keyset_page(
        db.session,
        select(Row).where(Row.owner == "mine"),
        Row.id,
        before=before,
        after=after,
        per_page=PER_PAGE,
    )


def shown(found: Page[Row]) -> tuple[list[int], int | None, int | None]:
    return [row.id for row in found.items], found.older, found.newer


@pytest.mark.usefixtures("rows")
@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (None, None, ([7, 6, 5], 5, None)),  # the newest page
        (5, None, ([4, 3, 2], 2, 4)),  # "Older" from it
        (2, None, ([1], None, 1)),  # the oldest
        (None, 1, ([4, 3, 2], 2, 4)),  # "Newer" from the oldest
        (None, 4, ([7, 6, 5], 5, None)),  # "Newer" again: the newest
        (None, 3, ([6, 5, 4], 4, 6)),  # a cursor from no page still gives a full page
        (9, None, ([7, 6, 5], 5, None)),  # another list's id: only my rows
        (8, None, ([7, 6, 5], 5, None)),
        (0, None, ([3, 2, 1], None, 3)),  # before the oldest: the oldest page
        (-5, None, ([3, 2, 1], None, 3)),
        (-(2**80), None, ([3, 2, 1], None, 3)),  # no cursor beyond 64 bits reaches the database
        (LAST_ID, None, ([7, 6, 5], 5, None)),
        (2**64, None, ([7, 6, 5], 5, None)),
        (None, 7, ([7, 6, 5], 5, None)),  # after the newest: the newest page
        (None, 2**80, ([7, 6, 5], 5, None)),
        (None, -(2**80), ([3, 2, 1], None, 3)),
        (5, 1, ([4, 3, 2], 2, 4)),  # both: ``before`` wins
    ],
)
def test_the_page_shown_is_one_the_list_has(
    db: SQLAlchemy,
    before: int | None,
    after: int | None,
    expected: tuple[list[int], int | None, int | None],
) -> None:
    assert shown(page(db, before, after)) == expected


@pytest.mark.usefixtures("rows")
def test_following_the_cursors_shows_every_row_once_each_way(db: SQLAlchemy) -> None:
    down, found = [], page(db)
    while True:
        down.append([row.id for row in found.items])
        if found.older is None:
            break
        found = page(db, before=found.older)
    assert down == [[7, 6, 5], [4, 3, 2], [1]]
    up = [[row.id for row in found.items]]
    while found.newer is not None:
        found = page(db, after=found.newer)
        up.append([row.id for row in found.items])
    assert up == [[1], [4, 3, 2], [7, 6, 5]]


@pytest.mark.parametrize(("before", "after"), [(None, None), (5, None), (None, 5), (2**64, 0)])
def test_an_empty_list_is_one_empty_page(
    db: SQLAlchemy, before: int | None, after: int | None
) -> None:
    assert shown(page(db, before, after)) == ([], None, None)


@pytest.mark.usefixtures("rows")
def test_a_deep_page_reads_no_more_rows_than_the_first(db: SQLAlchemy) -> None:
    """No OFFSET and no COUNT: each query is bounded by a LIMIT of about one page."""
    seen: list[str] = []
    offsets: list[object] = []

    def record(_: object, __: object, statement: str, parameters: object, *rest: object) -> None:
        seen.append(statement)
        if "OFFSET" in statement:  # SQLite's LIMIT always comes with one: it must be 0
            assert isinstance(parameters, tuple)
            offsets.append(parameters[-1])

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        page(db, before=2)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert seen and all("LIMIT" in statement for statement in seen), seen
    assert not any("count(" in statement.lower() for statement in seen), seen
    assert set(offsets) <= {0}, seen
    assert len(seen) <= 2, seen  # the page, and one probe for a newer neighbour


@pytest.mark.parametrize(
    ("query", "cursor"),
    [
        ("", Cursor()),
        ("before=3", Cursor(before=3)),
        ("after=3", Cursor(after=3)),
        ("before=3&after=4", Cursor(before=3, after=4)),
        ("before=0", Cursor(before=0)),  # keyset_page makes it the oldest page
        ("before=-2", Cursor()),
        ("after=%C2%B2", Cursor()),  # superscript two
        ("before=%D9%A2", Cursor()),  # Arabic-Indic two: int() reads it, a cursor it is not
        ("before=1e3", Cursor()),
        ("after=NaN", Cursor()),
        ("page=2", Cursor()),  # the page numbers of old links: the newest page
        ("before=" + "9" * 5000, Cursor(before=LAST_ID)),  # past every row, whatever the list
        ("after=" + str(2**64), Cursor(after=LAST_ID)),
    ],
)
def test_the_requested_cursor_is_read_from_plain_digits_only(query: str, cursor: Cursor) -> None:
    with Flask(__name__).test_request_context(f"/?{query}"):
        assert requested_cursor() == cursor
