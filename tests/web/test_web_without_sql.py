"""The pages read and write through the capability packages, never with SQL of their own.

Every module under flask_partialpay/web is read (not imported): none may import
SQLAlchemy or Flask-SQLAlchemy, call a method of a session (``session.execute(...)``,
``state.session.refresh(...)``), run a statement (``.execute``, ``.scalars``, ``.scalar``,
``.paginate``) or use a model's ``.query``. Handing the session to a service
(``lifecycle.succeed(state.session, ...)``) is how a view asks for work, and is allowed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "flask_partialpay" / "web"
DATABASE_LIBRARIES = ("sqlalchemy", "flask_sqlalchemy")
RUNS_A_STATEMENT = {"execute", "scalars", "scalar", "paginate"}


def _is_session(node: ast.expr) -> bool:
    """``session``, ``anything.session`` or ``anything.session()``."""
    if isinstance(node, ast.Call):
        node = node.func
    return (isinstance(node, ast.Name) and node.id == "session") or (
        isinstance(node, ast.Attribute) and node.attr == "session"
    )


def sql_in(source: str) -> list[str]:
    """Where ``source`` talks to the database itself, one line each."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = [node.module or ""]
        else:
            modules = []
        for module in modules:
            if module.split(".")[0] in DATABASE_LIBRARIES:
                found.append(f"line {node.lineno}: imports {module}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method = node.func.attr
            if _is_session(node.func.value):
                found.append(f"line {node.lineno}: calls session.{method}()")
            elif method in RUNS_A_STATEMENT:
                found.append(f"line {node.lineno}: calls .{method}()")
        if isinstance(node, ast.Attribute) and node.attr == "query":
            found.append(f"line {node.lineno}: uses .query")
    return found


def web_modules() -> list[Path]:
    return sorted(WEB.rglob("*.py"))


def test_the_web_modules_are_found() -> None:
    names = {path.name for path in web_modules()}
    assert {"admin.py", "admin_orders.py", "wallet.py", "access.py", "shopper.py"} <= names


@pytest.mark.parametrize("path", web_modules(), ids=lambda path: str(path.relative_to(WEB)))
def test_no_web_module_issues_sql(path: Path) -> None:
    assert sql_in(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "source",
    [
        "from sqlalchemy import select",
        "import sqlalchemy as sa",
        "from flask_sqlalchemy import SQLAlchemy",
        "rows = current_partialpay.session.scalars(query)",
        "session.execute(query)",
        "state.session.refresh(payment)",
        "db.session().add(row)",
        "page = state.db.paginate(query)",
        "total = connection.scalar(query)",
        "orders = OrderRecord.query.all()",
    ],
)
def test_the_check_sees_sql(source: str) -> None:
    assert sql_in(source) != []


@pytest.mark.parametrize(
    "source",
    [
        "lifecycle.succeed(state.session, payment, confirmed_by=admin_id)",
        "payment = payment_by_public_id(current_partialpay.session, public_id)",
        "text = request.args.get('q', '')",
        "query = request.args.get('q', '').strip()",
    ],
)
def test_the_check_lets_a_view_hand_the_session_to_a_service(source: str) -> None:
    assert sql_in(source) == []
