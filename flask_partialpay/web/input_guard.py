"""Text no one types is refused with a 400 before any of the extension's views runs.

A NUL byte in an address or a form reaches the database inside a query, and PostgreSQL
answers with an error (a 500 for the visitor) instead of finding nothing. No reference,
key, amount or name contains a control character, so the request is refused as a whole,
with a message, and nothing is looked up or changed. Text areas may hold tabs and line
breaks; nothing else may hold any control character.

The extension guards its own pages. A host may guard all of its routes the same way with
``app.before_request(refuse_control_characters)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from flask import abort, request

from flask_partialpay.core.markers import N_
from flask_partialpay.host.i18n import gettext

# C0 controls and DEL (C1 controls, U+0080-U+009F, are never typed either).
_IN_ADDRESS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# The same, less tab, line feed and carriage return, which a text area sends.
_IN_FORM = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

REFUSED = N_(
    "The address or the form contains a control character (such as a NUL byte) that no "
    "one types. Remove it and try again."
)


def _has_control(pairs: Iterable[tuple[str, str]], in_values: re.Pattern[str]) -> bool:
    return any(_IN_ADDRESS.search(name) or in_values.search(value) for name, value in pairs)


def refuse_control_characters() -> None:
    """``before_request``: a 400 for control characters in the path, query or form."""
    found = bool(_IN_ADDRESS.search(request.path))
    found = found or _has_control(request.args.items(multi=True), _IN_ADDRESS)
    if not found and request.mimetype in _FORM_TYPES:
        # Keep the raw body readable after the form is parsed: a host that guards all of
        # its routes guards the gateway callbacks too, whose signature covers that body.
        request.get_data(cache=True)
        found = _has_control(request.form.items(multi=True), _IN_FORM)
    if found:
        abort(400, description=gettext(REFUSED))
