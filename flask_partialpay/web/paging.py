"""The page number a list is asked for in the address bar.

It can be anything: a word, ``0``, ``²``, or a number beyond 64 bits. Anything but a
plain number is the first page; :func:`flask_partialpay.db.paging.page_of` keeps the rest
within the list's pages.
"""

from __future__ import annotations

from flask import request

from flask_partialpay.db.paging import LAST_PAGE_ASKABLE

# The digits of the largest page number read as it is written; a longer number is past
# the last page anyway, and is not converted (Python refuses to convert over 4300 digits).
_MAX_DIGITS = len(str(LAST_PAGE_ASKABLE))


def requested_page() -> int:
    """The ``page`` query parameter: 1 unless it is a plain number (ASCII digits)."""
    text = request.args.get("page", "")
    if not (text.isascii() and text.isdigit()):
        return 1
    return int(text) if len(text) <= _MAX_DIGITS else LAST_PAGE_ASKABLE
