"""The one fingerprint an idempotency key is stored with, for payments and wallet moves alike."""

from __future__ import annotations

from flask_partialpay.core.ids import request_fingerprint


def test_the_same_request_has_the_same_fingerprint() -> None:
    assert request_fingerprint("INV-7", "manual", 1250, "42") == request_fingerprint(
        "INV-7", "manual", 1250, "42"
    )


def test_parts_are_separated_so_moving_a_boundary_changes_it() -> None:
    assert request_fingerprint("ab", "c") != request_fingerprint("a", "bc")
    assert request_fingerprint("debit", "7", 100) != request_fingerprint("credit", "7", 100)


def test_an_amount_and_its_text_are_one_request() -> None:
    # A key replayed with the amount read back from the database (an int) or from a form
    # (its text) is the same request.
    assert request_fingerprint("hold", 500) == request_fingerprint("hold", "500")
