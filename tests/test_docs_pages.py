"""The README and the documentation's pages against the code they describe.

The settings and signals references are written from the code on every build
(``docs/_ext/partialpay_reference.py``): these tests check that each setting and signal
gets its entry on the built site, that no page names a setting that does not exist, that
the e-mail page lists every event, and that the README, the short front page, links every
page of the documentation.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

from flask_partialpay.host import signals
from flask_partialpay.host.config import SETTINGS
from flask_partialpay.mail.events import EVENTS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"

SETTING_NAME = re.compile(r"\bPARTIALPAY_[A-Z0-9_]*[A-Z0-9]\b")
# Environment variables of the test suite (docs/development.md), not settings.
SUITE_VARIABLE = re.compile(r"PARTIALPAY_(?:TEST|REQUIRE)_\w+")
# [text](target) and [text](target#anchor); the target never has a space.
LINK = re.compile(r"\]\(([^)#\s]+)(?:#([^)\s]+))?\)")


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def pages() -> list[Path]:
    """The pages a reader takes for the current truth (CHANGELOG.md is history)."""
    return [
        README,
        ROOT / "ARCHITECTURE.md",
        ROOT / "SECURITY.md",
        *sorted(DOCS.glob("*.md")),
        *sorted(DOCS.glob("*.rst")),
    ]


def test_no_page_names_a_setting_that_does_not_exist() -> None:
    stale = {}
    for page in pages():
        named = {name for name in SETTING_NAME.findall(read(page))}
        unknown = {name for name in named - set(SETTINGS) if not SUITE_VARIABLE.fullmatch(name)}
        if unknown:
            stale[page.relative_to(ROOT).as_posix()] = sorted(unknown)
    assert not stale, f"settings that do not exist: {stale}"


def test_every_setting_and_signal_has_the_text_its_reference_entry_is_written_from() -> None:
    assert ".. partialpay-settings::" in read(DOCS / "settings.rst")
    assert ".. partialpay-signals::" in read(DOCS / "signals.rst")
    undocumented = [name for name, entry in SETTINGS.items() if not entry.doc.strip()]
    source = inspect.getsource(signals)
    # autodoc writes a signal's entry from the `#:` comment right above its assignment.
    undocumented += [
        name
        for name in signals.__all__
        if not re.search(rf"^#: .+\n{name} = ", source, re.MULTILINE)
    ]
    assert not undocumented


def test_the_built_site_has_an_entry_for_every_setting_and_signal(tmp_path: Path) -> None:
    if importlib.util.find_spec("sphinx") is None:
        pytest.skip('Sphinx is not installed: pip install -e ".[docs]"')
    html = tmp_path / "html"
    doctrees = str(tmp_path / "doctrees")
    built = subprocess.run(  # noqa: S603 (our own interpreter, a fixed command)
        [
            sys.executable,
            "-m",
            "sphinx",
            "-E",
            "-q",
            "-b",
            "html",
            "-d",
            doctrees,
            str(DOCS),
            str(html),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    settings_page = read(html / "settings.html")
    signals_page = read(html / "signals.html")
    missing = [name for name in SETTINGS if f'id="{name}"' not in settings_page]
    missing += [
        name
        for name in signals.__all__
        if f'id="flask_partialpay.host.signals.{name}"' not in signals_page
    ]
    assert not missing, f"no entry on the built site: {missing}"


def test_the_mail_page_lists_every_event() -> None:
    listed = set(re.findall(r"^\| `(\w+)` \|", read(DOCS / "mail.md"), re.MULTILINE))
    assert listed == set(EVENTS)


def test_the_readme_starts_with_the_two_set_up_commands() -> None:
    lines = read(README).splitlines()
    assert lines[:3] == ["# flask-partialpay", "", "```sh"]
    assert lines[3].startswith("make demo ") and lines[4].startswith("make test ")
    assert lines[5] == "```"


def heading_anchors(page: Path) -> set[str]:
    """The anchors GitHub (and MyST) give a Markdown page's headings."""
    anchors = set()
    for heading in re.findall(r"^#+ (.+)$", read(page), re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower())
        anchors.add(slug.replace(" ", "-"))
    return anchors


def relative_links(page: Path) -> list[tuple[str, str]]:
    """The (target, anchor) of each link of a page to a file of the repository."""
    return [
        (target, anchor)
        for target, anchor in LINK.findall(read(page))
        if not target.startswith(("http://", "https://"))
    ]


@pytest.mark.parametrize("page", ["README.md", "SECURITY.md"])
def test_each_link_of_the_front_pages_resolves(page: str) -> None:
    links = relative_links(ROOT / page)
    broken = [target for target, _ in links if not (ROOT / target).is_file()]
    broken += [
        f"{target}#{anchor}"
        for target, anchor in links
        if anchor and target.endswith(".md") and anchor not in heading_anchors(ROOT / target)
    ]
    assert not broken, f"broken links in {page}: {broken}"


def test_the_readme_links_every_page_of_the_documentation() -> None:
    linked = {target for target, _ in relative_links(README)}
    # docs/architecture.md and docs/changes.md include ARCHITECTURE.md and CHANGELOG.md.
    included = {"docs/architecture.md": "ARCHITECTURE.md", "docs/changes.md": "CHANGELOG.md"}
    pages = {f"docs/{page.name}" for page in [*DOCS.glob("*.md"), *DOCS.glob("*.rst")]}
    wanted = {included.get(page, page) for page in pages - {"docs/index.rst"}}
    wanted |= {"SECURITY.md", "LICENSE", "bench/RESULTS.md"}
    assert not wanted - linked, f"not linked from README.md: {sorted(wanted - linked)}"
