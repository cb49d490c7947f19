"""What the shop refuses before a view runs: control characters, and ids no row can have.

The extension guards its own pages; these guards are the shop's, for all of its routes (a
NUL byte in the login e-mail or the checkout key reaches a query, which PostgreSQL answers
with an error). A host copies this module and calls :func:`install` before registering its
blueprints.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter, Map

from flask_partialpay import refuse_control_characters

from .models import MAX_ROW_ID


class RowIdConverter(IntegerConverter):
    """``<row_id:name>``: a row's id, ASCII digits from 1 to :data:`MAX_ROW_ID`.

    Anything else matches no route (a 404) instead of reaching the query: Werkzeug's
    ``int`` converter takes any size of number, and any digits ``\\d`` matches ("١").
    """

    regex = r"[0-9]+"

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        super().__init__(map, min=1, max=MAX_ROW_ID)


def install(app: Flask) -> None:
    """Guard the routes of ``app``; call it before registering the blueprints that use
    ``row_id``."""
    app.url_map.converters["row_id"] = RowIdConverter
    app.before_request(refuse_control_characters)
