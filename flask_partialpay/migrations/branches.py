"""Where the extension's revisions live, and which revisions and tables are the extension's.

The ``partialpay`` branch (``versions/``) builds the extension's tables; the sandbox card
processor's are on a branch of their own, ``sandbox`` (``sandbox_versions/``), part of an
app's migrations only when it enables the sandbox card. A host's own revisions are on
neither: they live in the host's ``migrations/versions``.
"""

from __future__ import annotations

from pathlib import Path

VERSIONS_DIR = str(Path(__file__).parent / "versions")
BRANCH = "partialpay"
SANDBOX_VERSIONS_DIR = str(Path(__file__).parent / "sandbox_versions")
SANDBOX_BRANCH = "sandbox"

#: Every table of the extension (the sandbox processor's included) starts with this.
TABLE_PREFIX = "partialpay_"

_EXTENSION_FOLDERS = frozenset(
    Path(folder).resolve() for folder in (VERSIONS_DIR, SANDBOX_VERSIONS_DIR)
)


def is_extension_folder(folder: str | Path) -> bool:
    """Whether ``folder`` is one of the extension's version folders (not a host's)."""
    return Path(folder).resolve() in _EXTENSION_FOLDERS


def is_extension_revision_file(path: str | Path) -> bool:
    """Whether the revision file at ``path`` is one the package ships (on its branches)."""
    return is_extension_folder(Path(path).parent)


def is_extension_table(name: str | None) -> bool:
    """Whether the table ``name`` is one of the extension's (``partialpay_*``)."""
    return name is not None and name.startswith(TABLE_PREFIX)
