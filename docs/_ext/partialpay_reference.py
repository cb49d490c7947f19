"""The references that are written from the code on every build, so they cannot drift.

``.. partialpay-settings::`` turns each entry of
:data:`flask_partialpay.host.config.SETTINGS` into a ``py:data`` entry with its text, its
default and, where the values are a fixed set, the allowed values.

``.. partialpay-signals::`` documents each signal in ``flask_partialpay.host.signals``'s
``__all__``, in the order the module declares them, from the comment above it (autodoc's
``#:`` comments), without the signal object's unhelpful ``repr`` as a value.
"""

from __future__ import annotations

import inspect
from enum import Enum
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from flask_partialpay.host import signals
from flask_partialpay.host.config import SETTINGS


def shown(value: Any) -> str:
    """A value as a host writes it in its config: a StrEnum member by its string."""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, tuple):
        items = ", ".join(shown(item) for item in value)
        return f"({items},)" if len(value) == 1 else f"({items})"
    return repr(value)


def setting_lines(name: str) -> list[str]:
    setting = SETTINGS[name]
    lines = [f".. py:data:: {name}", ""]
    lines += [f"    {line}" for line in setting.doc.splitlines()]
    lines += ["", f"    Default: ``{shown(setting.default)}``"]
    if setting.choices is not None:
        allowed = ", ".join(f"``{shown(choice)}``" for choice in setting.choices)
        lines += ["", f"    One of: {allowed}."]
    return [*lines, ""]


def signal_names() -> list[str]:
    """The exported signals in the order of the module's source."""
    source = inspect.getsource(signals)
    return sorted(signals.__all__, key=lambda name: source.index(f"\n{name} = "))


def signal_lines(name: str) -> list[str]:
    return [f".. autodata:: flask_partialpay.host.signals.{name}", "    :no-value:", ""]


class GeneratedReference(SphinxDirective):
    has_content = False

    def lines(self) -> list[str]:
        raise NotImplementedError

    def run(self) -> list[nodes.Node]:
        source = self.get_source_info()[0]
        container = nodes.container()
        self.state.nested_parse(StringList(self.lines(), source=source), 0, container)
        return container.children


class SettingsReference(GeneratedReference):
    def lines(self) -> list[str]:
        # The settings are config keys, not names in a module.
        lines = [".. py:currentmodule:: None", ""]
        for name in SETTINGS:
            lines += setting_lines(name)
        return lines


class SignalsReference(GeneratedReference):
    def lines(self) -> list[str]:
        lines = [".. py:currentmodule:: flask_partialpay.host.signals", ""]
        for name in signal_names():
            lines += signal_lines(name)
        return lines


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("partialpay-settings", SettingsReference)
    app.add_directive("partialpay-signals", SignalsReference)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
