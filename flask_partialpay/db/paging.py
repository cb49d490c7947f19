"""Lists shown a page at a time, through Flask-SQLAlchemy's ``paginate``.

Every page asked for shows a page the list has: a number below 1 is the first page, one
past the last page is the last page, and an empty list is page 1 of 1. The page number
usually comes from the address bar, which the web layer reads (see
:mod:`flask_partialpay.web.paging`); whatever a caller passes gives no error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Select

T = TypeVar("T")

# More pages than any list has. A larger number is read as this one: its OFFSET stays
# within the 64-bit integers SQLite, PostgreSQL and MariaDB each insist on, and the list's
# last page is shown as for any number past it.
LAST_PAGE_ASKABLE = 10**9


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its rows, its number (from 1), how many pages and rows there are."""

    items: list[T]
    number: int
    pages: int
    total: int


def page_of(db: SQLAlchemy, query: Select[Any], *, page: int, per_page: int) -> Page[Any]:
    """Page ``page`` of the rows ``query`` selects (one entity), ``per_page`` to a page.

    ``query`` must be ordered: pages of an unordered list may overlap.
    """
    asked = min(max(page, 1), LAST_PAGE_ASKABLE)
    shown = db.paginate(query, page=asked, per_page=per_page, error_out=False)
    last = max(shown.pages, 1)
    if shown.page > last:
        # Past the last page (an empty list has one, empty): that page instead of none.
        shown = db.paginate(query, page=last, per_page=per_page, error_out=False)
    return Page(items=list(shown.items), number=shown.page, pages=last, total=shown.total or 0)
