"""A string worked out each time it is used: translated text for labels and constants.

A form label or a module constant is made once, at import, but read in many requests, each
in its reader's language: it must be translated when it is read, not when it is made. It
cannot be Flask-Babel's lazy string, since the extension works without Flask-Babel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from markupsafe import Markup, escape


class LazyString:
    """``func(*args, **kwargs)`` as text, called again each time the text is needed.

    Used where a ``str`` is: ``str()``, comparison and hashing by the text, ``+``, ``%``,
    ``len`` and indexing, and the methods of ``str`` (``label.upper()``). In a template it
    is escaped like any text: a translation is never markup.
    """

    __slots__ = ("_args", "_func", "_kwargs")

    def __init__(self, func: Callable[..., str], /, *args: Any, **kwargs: Any) -> None:
        self._func = func
        self._args = args
        self._kwargs = kwargs

    def __str__(self) -> str:
        return str(self._func(*self._args, **self._kwargs))

    def __repr__(self) -> str:
        return f"l{str(self)!r}"

    def __html__(self) -> Markup:
        return escape(str(self))

    def __getattr__(self, name: str) -> Any:
        # Only the public methods of str: a private or special name looked up here (a copy
        # looks for __setstate__ before the slots are filled) must not call func.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(str(self), name)

    def __len__(self) -> int:
        return len(str(self))

    def __iter__(self) -> Iterator[str]:
        return iter(str(self))

    def __contains__(self, item: str) -> bool:
        return item in str(self)

    def __getitem__(self, key: int | slice) -> str:
        return str(self)[key]

    def __add__(self, other: str) -> str:
        return str(self) + other

    def __radd__(self, other: str) -> str:
        return other + str(self)

    def __mod__(self, other: Any) -> str:
        return str(str(self) % other)

    def __eq__(self, other: object) -> bool:
        return str(self) == other

    def __ne__(self, other: object) -> bool:
        return str(self) != other

    def __lt__(self, other: str) -> bool:
        return str(self) < other

    def __le__(self, other: str) -> bool:
        return str(self) <= other

    def __gt__(self, other: str) -> bool:
        return str(self) > other

    def __ge__(self, other: str) -> bool:
        return str(self) >= other

    def __hash__(self) -> int:
        return hash(str(self))
