"""Page arithmetic, in one place, for every list shown a page at a time.

The page number comes from the address bar, so it can be anything: a word, ``0``, ``²``,
or a number beyond 64 bits, which SQLite, PostgreSQL and MariaDB each refuse in an OFFSET
with an error of their own. Anything but a plain number is the first page, and a number
past the last page is the last page, so the offset is always one the list has.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import request

# More digits than any list has pages: such a number is read as "past the last page"
# without converting all of its digits (Python refuses to convert more than 4300).
_MAX_DIGITS = 9
_PAST_THE_LAST = 10**_MAX_DIGITS


@dataclass(frozen=True)
class Page:
    """One page of a list: its number (from 1), how many there are and their size."""

    number: int
    pages: int
    size: int

    @property
    def offset(self) -> int:
        """How many items come before this page."""
        return (self.number - 1) * self.size


def page_of(requested: int, *, total: int, size: int) -> Page:
    """Page ``requested`` of ``total`` items, ``size`` to a page, kept within the pages."""
    pages = max((total + size - 1) // size, 1)
    return Page(number=min(max(requested, 1), pages), pages=pages, size=size)


def requested_page() -> int:
    """The ``page`` query parameter: 1 unless it is a plain number (ASCII digits)."""
    text = request.args.get("page", "")
    if not (text.isascii() and text.isdigit()):
        return 1
    return int(text) if len(text) <= _MAX_DIGITS else _PAST_THE_LAST
