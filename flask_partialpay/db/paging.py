"""Lists shown a page at a time, newest first, by keyset ("seek") pagination.

A page is addressed by a cursor, the id of a row next to it, not by its number: "Older"
is the page of the rows whose id is below the oldest row shown (``before``), "Newer" the
page of those above the newest (``after``). The database finds a page by walking an
index from the cursor, so the ten-thousandth page of a list costs what the first costs;
an ``OFFSET`` would read and skip every row before it. No page counts the whole list.

Every cursor gives a page the list has: one past either end shows that end's page, and an
empty list is one empty page. A cursor only narrows the caller's query, so a row the query
does not select (another customer's) is never shown, whatever the id. Cursors usually come
from the address bar, which the web layer reads (see :mod:`flask_partialpay.web.paging`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import BigInteger, Select
from sqlalchemy.orm import InstrumentedAttribute, Session

T = TypeVar("T")

# The largest id a cursor can name: ids are at most 64-bit integers on SQLite, PostgreSQL
# and MariaDB. The web layer reads a larger number as this one.
LAST_ID = 2**63 - 1
# The largest value of an ``Integer`` id (PostgreSQL's and MariaDB's 32-bit INT): a larger
# number bound to a query on such a column is an error there, not an empty result.
_LAST_INTEGER = 2**31 - 1


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, newest first, and the cursors of its neighbours.

    ``older`` is the ``before`` cursor of the next page down (None on the oldest page);
    ``newer`` the ``after`` cursor of the next page up (None on the newest page).
    """

    items: list[T]
    older: int | None = None
    newer: int | None = None


def keyset_page(
    session: Session,
    query: Select[Any],
    key: InstrumentedAttribute[int],
    *,
    before: int | None = None,
    after: int | None = None,
    per_page: int,
) -> Page[Any]:
    """The page of ``query``'s rows (one entity, unordered) next to a cursor, by ``key``.

    ``before``: the rows whose ``key`` is below it, newest first; ``after``: the rows
    above it; neither: the newest rows. ``before`` wins when both are given. ``key`` must
    be unique (the id) and indexed together with the query's filters.
    """
    if before is not None:
        after = None
    largest = LAST_ID if isinstance(key.type, BigInteger) else _LAST_INTEGER
    if before is not None:
        # Past every id: no cursor (the newest page); below every id: the oldest page.
        before = None if before > largest else max(before, -largest)
    if after is not None:
        after = max(min(after, largest), -largest)
    if before is None and after is not None:
        rows = _rows(session, query.where(key > after).order_by(key.asc()), per_page + 1)
        if rows:
            more_newer = len(rows) > per_page
            rows = rows[:per_page][::-1]
            return _page(session, query, key, rows, newer=more_newer, older=None)
        before = None  # past the newest row: the newest page
    narrowed = query if before is None else query.where(key < before)
    rows = _rows(session, narrowed.order_by(key.desc()), per_page + 1)
    if not rows and before is not None:
        # Past the oldest row: the oldest page.
        rows = _rows(session, query.order_by(key.asc()), per_page)[::-1]
        return _page(session, query, key, rows, newer=None, older=False)
    more_older = len(rows) > per_page
    rows = rows[:per_page]
    return _page(
        session, query, key, rows, newer=None if before is not None else False, older=more_older
    )


def _rows(session: Session, query: Select[Any], limit: int) -> list[Any]:
    return list(session.scalars(query.limit(limit)))


def _page(
    session: Session,
    query: Select[Any],
    key: InstrumentedAttribute[int],
    rows: list[Any],
    *,
    newer: bool | None,
    older: bool | None,
) -> Page[Any]:
    """The page of ``rows`` (newest first); a neighbour not known yet (None) is looked up
    with one probe of the index, not by counting."""
    if not rows:
        return Page(items=[])
    newest, oldest = getattr(rows[0], key.key), getattr(rows[-1], key.key)
    if newer is None:
        newer = _exists(session, query.where(key > newest), key)
    if older is None:
        older = _exists(session, query.where(key < oldest), key)
    return Page(items=rows, older=oldest if older else None, newer=newest if newer else None)


def _exists(session: Session, query: Select[Any], key: InstrumentedAttribute[int]) -> bool:
    return session.scalar(query.with_only_columns(key).limit(1)) is not None
