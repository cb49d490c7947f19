"""Page arithmetic: whatever page is asked for, the offset is one the list has."""

from __future__ import annotations

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st

from flask_partialpay.db.paging import page_of, requested_page


@given(
    requested=st.integers(min_value=-(2**80), max_value=2**80),
    total=st.integers(min_value=0, max_value=10**7),
    size=st.integers(min_value=1, max_value=500),
)
def test_the_page_is_always_one_of_the_lists_pages(requested: int, total: int, size: int) -> None:
    page = page_of(requested, total=total, size=size)
    assert 1 <= page.number <= page.pages
    assert page.offset == 0 if total == 0 else 0 <= page.offset < total
    if 1 <= requested <= page.pages:
        assert page.number == requested


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
        ("page=" + "9" * 5000, 10**9),  # past the last page, whatever the list
    ],
)
def test_the_requested_page_is_read_from_plain_digits_only(query: str, page: int) -> None:
    with Flask(__name__).test_request_context(f"/?{query}"):
        assert requested_page() == page
