"""What a browser test leaves behind: screenshots of its steps and axe-core findings."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# axe-core impacts that fail a test; "minor" and "moderate" ones are only reported.
BLOCKING_IMPACTS = frozenset({"serious", "critical"})
# The extension's pages: the shopper's under /partialpay, the admin's under /partialpay/admin.
EXTENSION_PREFIX = "/partialpay/"


def artifact_name(test_name: str) -> str:
    """A file or directory name for a test: its name, parameters included."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name).strip("_")


class Screenshots:
    """Full-page screenshots of a test's steps, numbered in the order they were taken."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.count = 0
        shutil.rmtree(directory, ignore_errors=True)

    def __call__(self, page: Any, step: str) -> Path:
        """Save ``page`` as ``nn-step.png``."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.count += 1
        slug = re.sub(r"[^a-z0-9]+", "-", step.lower()).strip("-")
        path = self.directory / f"{self.count:02d}-{slug}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


def page_kind(url: str) -> str:
    """A page's path with its identifiers (order numbers, tokens) replaced by ``<id>``:
    one check per kind of page, not per order."""
    segments = urlsplit(url).path.split("/")
    return "/".join("<id>" if any(c.isdigit() for c in s) else s for s in segments)


@dataclass(frozen=True)
class Violation:
    page: str
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]

    def __str__(self) -> str:
        where = "; ".join(self.targets)
        return f"{self.page}: [{self.impact}] {self.rule} ({self.help}) at {where}"


@dataclass
class Accessibility:
    """Runs axe-core on each distinct extension page a test visits, and reports it.

    ``check(page)`` once per kind of page (and ``state``, for a page seen in two states,
    such as a form with its errors); ``assert_clean()`` at the end of the test.
    """

    report_path: Path
    # Per page: axe-core's "violations" and "incomplete" (to be reviewed by a person).
    checked: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)

    def check(self, page: Any, state: str = "", *, host_page_with: str = "") -> list[Violation]:
        """``host_page_with``: a host page checked for the extension template it includes
        (the cart's "Use wallet balance" box, a landing page's Buy block)."""
        from axe_playwright_python.sync_playwright import Axe

        kind = page_kind(page.url)
        if host_page_with:
            kind = f"{kind} (with {host_page_with})"
        else:
            assert kind.startswith(EXTENSION_PREFIX), f"{kind} is not an extension page"
        key = f"{kind} [{state}]" if state else kind
        if key in self.checked:
            return []
        page.wait_for_load_state("load")
        response = Axe().run(page).response
        found = response["violations"]
        self.checked[key] = {"violations": found, "needs_review": response["incomplete"]}
        new = [
            Violation(
                page=key,
                rule=item["id"],
                impact=item.get("impact") or "unknown",
                help=item["help"],
                targets=tuple(" ".join(map(str, node["target"])) for node in item["nodes"]),
            )
            for item in found
        ]
        self.violations.extend(new)
        self._write()
        return new

    def _write(self) -> None:
        def brief(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [
                {
                    "rule": item["id"],
                    "impact": item.get("impact"),
                    "help": item["help"],
                    "nodes": [
                        {"target": node["target"], "html": node["html"]} for node in item["nodes"]
                    ],
                }
                for item in items
            ]

        report = {
            page: {kind: brief(items) for kind, items in results.items()}
            for page, results in self.checked.items()
        }
        self.report_path.parent.mkdir(parents=True, exist_ok=True)
        self.report_path.write_text(json.dumps(report, indent=2), encoding="utf-8")

    def assert_clean(self) -> None:
        """No serious or critical violation on any page checked."""
        blocking = [v for v in self.violations if v.impact in BLOCKING_IMPACTS]
        assert not blocking, "axe-core found serious or critical violations:\n" + "\n".join(
            map(str, blocking)
        )
