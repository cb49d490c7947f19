"""The cursor a list is asked for in the address bar: ``?before=<id>`` or ``?after=<id>``.

It can be anything: a word, ``-1``, ``²``, or a number beyond 64 bits. Anything but a
plain number is no cursor (the newest page); :func:`flask_partialpay.db.paging.keyset_page`
keeps the rest within the list, and within the rows the page may show.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import request

from flask_partialpay.db.paging import LAST_ID

# The digits of the largest cursor read as it is written; a longer number is past every
# row anyway, and is not converted (Python refuses to convert over 4300 digits).
_MAX_DIGITS = len(str(LAST_ID))


@dataclass(frozen=True)
class Cursor:
    """Where the page asked for starts: below ``before`` or above ``after`` (or neither)."""

    before: int | None = None
    after: int | None = None


def requested_cursor() -> Cursor:
    """The ``before`` and ``after`` query parameters, each None unless a plain number."""
    return Cursor(before=_read("before"), after=_read("after"))


def _read(name: str) -> int | None:
    text = request.args.get(name, "")
    if not (text.isascii() and text.isdigit()):
        return None
    return min(int(text), LAST_ID) if len(text) <= _MAX_DIGITS else LAST_ID
