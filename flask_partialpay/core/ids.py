"""Host ids at the API boundary: an offer, a customer or an order as the host has it.

Hosts keep ids as integers (``book.id``) or strings (``"INV-7"``, ``user.get_id()``); the
extension stores and signs them as strings. Every public call that takes an id passes it
through :func:`host_id`, so ``buy_link(1, ...)`` and ``buy_link("1", ...)`` make the same
link and ``instalments.set_policy(1, ...)`` sets the policy that link reads. Anything else
(a float, a bool, None where an id is needed) is a :class:`TypeError` at the call that says
what to pass, instead of a link that fails later.
"""

from __future__ import annotations

import hashlib


def host_id(value: object, what: str) -> str:
    """``value`` as the extension keeps it: a str, from a str or an int.

    ``what`` names the argument in the error (``"offer_id"``).
    """
    # bool is an int subclass, and True would silently become offer "True".
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(
            f"{what} must be a str or an int (the id as your shop has it), "
            f"not {type(value).__name__}"
        )
    # Only the type is settled here: a string that names nothing (too long, say) is looked
    # up like any other and found nowhere, as a URL's would be.
    return str(value)


def optional_host_id(value: object, what: str) -> str | None:
    """Like :func:`host_id`, with None passed through (an optional argument left out)."""
    return None if value is None else host_id(value, what)


#: What the host may pass as an id.
HostId = str | int


# Crockford's base 32: digits and capitals without I, L, O and U, so a reference read out
# over the phone or copied from a bank statement has no look-alike letters.
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# 60 random bits (15 hex digits of the public id): twelve characters in three groups of
# four. Two payments of a shop with ten million payments share them with a chance of one
# in twenty thousand; the unique key on the column turns that into a failed insert, never
# two payments under one reference.
_REFERENCE_HEX_DIGITS = 15
_REFERENCE_CHARACTERS = 12
PAYMENT_REFERENCE_PREFIX = "PP-"
#: The length of a payment reference ("PP-" and three groups of four with dashes).
PAYMENT_REFERENCE_LENGTH = len(PAYMENT_REFERENCE_PREFIX) + _REFERENCE_CHARACTERS + 2


def payment_reference(public_id: str) -> str:
    """The reference people see for a payment (``"PP-7K3M-Q9TX-A2FD"``).

    Derived from the random ``public_id`` (hex), never the sequential row id, so it says
    nothing about how many payments the shop takes or in which order they came.
    """
    value = int(public_id[:_REFERENCE_HEX_DIGITS], 16)
    characters = []
    for _ in range(_REFERENCE_CHARACTERS):
        value, digit = divmod(value, 32)
        characters.append(_REFERENCE_ALPHABET[digit])
    code = "".join(reversed(characters))
    groups = [code[start : start + 4] for start in range(0, _REFERENCE_CHARACTERS, 4)]
    return PAYMENT_REFERENCE_PREFIX + "-".join(groups)


def request_fingerprint(*parts: object) -> str:
    """The fingerprint an idempotency key is stored with: what the request asked for.

    A repeat under the same key must ask for the same thing; a different request under it
    is a conflict, not a replay. The parts are joined with a separator no id or amount holds,
    so ("ab", "c") and ("a", "bc") differ.
    """
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()
