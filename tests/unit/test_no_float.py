"""No ``float`` in any money path: no float literal, no ``float(...)``, no ``float`` annotation.

The whole package is checked, not only ``money.py``: an amount passes through models, forms,
views and gateways, and a single binary float anywhere on the way can lose a cent.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "flask_partialpay"

# Floats that provably never touch an amount, as (path inside the package, stripped source
# line) -> why. Keep this empty if you can; an entry that no longer matches fails the suite.


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    kind: str
    source: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind}: {self.source}"


def _names_float(annotation: ast.expr) -> bool:
    """Whether an annotation mentions ``float``, also inside a string annotation."""
    for node in ast.walk(annotation):
        if isinstance(node, ast.Name) and node.id == "float":
            return True
        if isinstance(node, ast.Attribute) and node.attr == "float":
            return True  # builtins.float
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                inner = ast.parse(node.value, mode="eval").body
            except SyntaxError:
                continue
            if _names_float(inner):
                return True
    return False


def _annotations(tree: ast.AST) -> list[ast.expr]:
    found: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            arguments = node.args
            every_argument = [
                *arguments.posonlyargs,
                *arguments.args,
                *arguments.kwonlyargs,
                *(argument for argument in (arguments.vararg, arguments.kwarg) if argument),
            ]
            found.extend(a.annotation for a in every_argument if a.annotation is not None)
            if node.returns is not None:
                found.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            found.append(node.annotation)
    return found


def find_float_uses(source: str, path: str = "<string>") -> list[Finding]:
    """Every float literal, ``float(...)`` call and ``float`` annotation in ``source``."""
    tree = ast.parse(source, filename=path)
    lines = source.splitlines()

    def finding(node: ast.AST, kind: str) -> Finding:
        line = getattr(node, "lineno", 0)
        text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        return Finding(path, line, kind, text)

    findings: list[Finding] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, (float, complex)):
            findings.append(finding(node, f"{type(node.value).__name__} literal {node.value!r}"))
        elif isinstance(node, ast.Call) and (
            (isinstance(node.func, ast.Name) and node.func.id == "float")
            or (isinstance(node.func, ast.Attribute) and node.func.attr == "float")
        ):
            findings.append(finding(node, "call to float()"))
    for annotation in _annotations(tree):
        if _names_float(annotation):
            findings.append(finding(annotation, "float in an annotation"))
    return sorted(findings, key=lambda item: (item.line, item.kind))


def package_float_uses() -> list[Finding]:
    findings: list[Finding] = []
    for file in sorted(PACKAGE.rglob("*.py")):
        relative = file.relative_to(PACKAGE).as_posix()
        findings.extend(find_float_uses(file.read_text(encoding="utf-8"), relative))
    return findings


# Floats that are not money, each with the reason; an entry that no longer matches fails.
ALLOWED: dict[tuple[str, str], str] = {
    (
        "host/config.py",
        "close = difflib.get_close_matches(name, SETTINGS, n=1, cutoff=0.8)",
    ): "difflib's similarity cutoff for suggesting a setting name; no amount is involved",
}


def test_no_float_anywhere_in_the_package() -> None:
    assert (PACKAGE / "core" / "money.py").is_file(), f"nothing to check at {PACKAGE}"

    violations = [
        finding for finding in package_float_uses() if (finding.path, finding.source) not in ALLOWED
    ]

    assert not violations, "float in a money path:\n" + "\n".join(
        f"flask_partialpay/{violation}" for violation in violations
    )


def test_every_allowed_float_is_still_there() -> None:
    found = {(finding.path, finding.source) for finding in package_float_uses()}
    stale = [entry for entry in ALLOWED if entry not in found]
    assert not stale, f"remove these entries from ALLOWED, the float is gone: {stale}"


def test_checker_reports_a_literal_a_call_and_an_annotation() -> None:
    source = "x = 1.5\nfloat(y)\ndef f(a: float) -> None: ...\n"

    findings = find_float_uses(source, "sample.py")

    assert len(findings) == 3, findings
    assert [(finding.line, finding.kind) for finding in findings] == [
        (1, "float literal 1.5"),
        (2, "call to float()"),
        (3, "float in an annotation"),
    ]
    assert str(findings[0]) == "sample.py:1: float literal 1.5: x = 1.5"


def test_checker_finds_float_hidden_in_annotations_and_builtins() -> None:
    source = (
        "import builtins\n"
        "rate: float | None = None\n"
        "def g(*args: 'float', **kwargs: list[float]) -> 'dict[str, float]': ...\n"
        "async def h(*, b: Optional[float]) -> None: ...\n"
        "builtins.float('2')\n"
        "z = 3e2\n"
        "w = 1j\n"
    )

    findings = find_float_uses(source)

    assert [(finding.line, finding.kind) for finding in findings] == [
        (2, "float in an annotation"),
        (3, "float in an annotation"),
        (3, "float in an annotation"),
        (3, "float in an annotation"),
        (4, "float in an annotation"),
        (5, "call to float()"),
        (6, "float literal 300.0"),
        (7, "complex literal 1j"),
    ]


def test_checker_accepts_decimal_code_that_only_refuses_floats() -> None:
    source = (
        "from decimal import Decimal\n"
        "price = Decimal('10.50')\n"
        "count: int = 3\n"
        "flag = True\n"
        "def check(value: Decimal | int | str) -> bool:\n"
        "    '''Refuse 10.5: a float cannot hold most prices.'''\n"
        "    return not isinstance(value, float)\n"
    )

    assert find_float_uses(source) == []
