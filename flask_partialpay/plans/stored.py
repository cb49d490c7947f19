"""A plan policy's stored form: a compact dict, or its JSON, read back strictly.

The offer keeps its policy in this form, and each order keeps a copy made when it was
placed, so that changing the offer never rewrites an order's schedule. The form carries a
version (``"v": 1``) so that a later form can still read the copies orders keep for years.
Examples::

    {"v": 1, "mode": "free"}
    {"v": 1, "mode": "schedule", "first_percent": "25", "count": 3, "every": 1, "unit": "month"}
    {"v": 1, "mode": "schedule", "first_amount": "50.00", "dates": ["2027-03-01", "2027-06-01"]}

Decimals are strings, never JSON numbers (a JSON reader may turn those into floats), and
dates are ISO dates. Reading refuses anything else with :class:`ValueError`: a stored
policy is written by this module, so anything else is damage, not a typing mistake.
Reading does not check the policy's rules (:func:`~flask_partialpay.plans.policy.check_plan`):
an order's copy stays readable after its dates have passed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_partialpay.plans.policy import IntervalUnit, PlanMode, PlanPolicy

VERSION = 1

_DECIMALS = ("first_percent", "first_amount")
_INTEGERS = ("count", "every")
_KEYS = frozenset({"v", "mode", *_DECIMALS, *_INTEGERS, "unit", "dates"})


def to_dict(policy: PlanPolicy) -> dict[str, Any]:
    """The policy as a dict of JSON values, its empty fields left out."""
    stored: dict[str, Any] = {"v": VERSION, "mode": str(policy.mode)}
    for name in _DECIMALS:
        value = getattr(policy, name)
        if value is not None:
            stored[name] = str(value)
    for name in _INTEGERS:
        value = getattr(policy, name)
        if value is not None:
            stored[name] = value
    if policy.unit is not None:
        stored["unit"] = str(policy.unit)
    if policy.dates:
        stored["dates"] = [due.isoformat() for due in policy.dates]
    return stored


def from_dict(stored: Mapping[str, Any]) -> PlanPolicy:
    """The policy :func:`to_dict` gave; raises :class:`ValueError` on anything else."""
    if not isinstance(stored, Mapping):
        raise ValueError(f"a stored plan is a mapping, not {type(stored).__name__}")
    unknown = set(stored) - _KEYS
    if unknown:
        raise ValueError(f"a stored plan has no {sorted(unknown)}")
    if stored.get("v") != VERSION:
        raise ValueError(f"stored plan version {stored.get('v')!r}; this code reads {VERSION}")
    try:
        return PlanPolicy(
            mode=PlanMode(_read_text(stored, "mode")),
            first_percent=_read_decimal(stored, "first_percent"),
            first_amount=_read_decimal(stored, "first_amount"),
            count=_read_integer(stored, "count"),
            every=_read_integer(stored, "every"),
            unit=None if stored.get("unit") is None else IntervalUnit(_read_text(stored, "unit")),
            dates=tuple(_read_date(text) for text in _read_list(stored, "dates")),
        )
    except TypeError as error:
        raise ValueError(f"not a stored plan: {error}") from None


def to_json(policy: PlanPolicy) -> str:
    """:func:`to_dict` as compact JSON, keys sorted (equal policies, equal text)."""
    return json.dumps(to_dict(policy), separators=(",", ":"), sort_keys=True)


def from_json(text: str) -> PlanPolicy:
    """The policy :func:`to_json` gave; raises :class:`ValueError` on anything else."""
    return from_dict(json.loads(text))


def _read_text(stored: Mapping[str, Any], name: str) -> str:
    value = stored.get(name)
    if not isinstance(value, str):
        raise ValueError(f"a stored plan's {name} is a string, not {value!r}")
    return value


def _read_decimal(stored: Mapping[str, Any], name: str) -> Decimal | None:
    text = stored.get(name)
    if text is None:
        return None
    if not isinstance(text, str):
        raise ValueError(f"a stored plan's {name} is a string, not {type(text).__name__}")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"a stored plan's {name} is not a number: {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"a stored plan's {name} is not finite: {text!r}")
    return value


def _read_integer(stored: Mapping[str, Any], name: str) -> int | None:
    value = stored.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"a stored plan's {name} is an integer, not {value!r}")
    return value


def _read_list(stored: Mapping[str, Any], name: str) -> list[Any]:
    value = stored.get(name, [])
    if not isinstance(value, list):
        raise ValueError(f"a stored plan's {name} is a list, not {type(value).__name__}")
    return value


def _read_date(text: object) -> date:
    if not isinstance(text, str):
        raise ValueError(f"a stored plan's due date is an ISO date, not {text!r}")
    due = date.fromisoformat(text)
    # fromisoformat also reads "20270301" and week dates: only the form written is read.
    if due.isoformat() != text:
        raise ValueError(f"a stored plan's due date is written YYYY-MM-DD, not {text!r}")
    return due
