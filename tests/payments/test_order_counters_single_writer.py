"""payments/orders.py is the only module that writes an order's columns.

An order's counters (``paid_minor``, ``reserved_minor``, ``refunded_minor``,
``overpaid_minor``), its closing, its completion by hand and its status must move together
and under the same locks; a second writer is how they drift apart. Every module of the
package is parsed, and each write to an :class:`OrderRecord` column outside
payments/orders.py is reported: an assignment (plain, augmented or ``setattr``) to a column
of something known to be an order, an ``update(OrderRecord)`` (or ``insert``, ``delete``,
``query(OrderRecord).update``), and creating an ``OrderRecord(...)``.

What is "known to be an order" is read from the source: a parameter or variable annotated
``OrderRecord``, a variable assigned (or looped over) from an expression that names
``OrderRecord`` or calls a function of the package declared to return one, and a
relationship to the order (``payment.order``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

import flask_partialpay
from flask_partialpay.db.base import PartialPayModel
from flask_partialpay.payments.models import OrderRecord

PACKAGE = Path(flask_partialpay.__file__).parent
MODEL = "OrderRecord"
#: The one writer, the model itself, and the migrations (which create the table).
ALLOWED = ("payments/orders.py", "payments/models.py", "migrations/")
COLUMNS = frozenset(attribute.key for attribute in sa.inspect(OrderRecord).column_attrs)
#: Relationships of other models that lead to an order (``Payment.order``).
ORDER_RELATIONSHIPS = frozenset(
    relationship.key
    for mapper in PartialPayModel.registry.mappers
    for relationship in mapper.relationships
    if relationship.mapper.class_ is OrderRecord
)
STATEMENTS = frozenset({"update", "insert", "delete"})


@dataclass(frozen=True)
class Write:
    module: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line}: {self.what}"


def _names_model(node: ast.AST | None) -> bool:
    """Whether ``node`` mentions the model (also in a string annotation)."""
    if node is None:
        return False
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and child.id == MODEL:
            return True
        if isinstance(child, ast.Attribute) and child.attr == MODEL:
            return True
        if (
            isinstance(child, ast.Constant)
            and isinstance(child.value, str)
            and MODEL in child.value
        ):
            return True
    return False


def _selects_model(node: ast.AST) -> bool:
    """``OrderRecord`` itself, or ``select(OrderRecord)`` and the methods chained to it."""
    if isinstance(node, ast.Name):
        return node.id == MODEL
    if not isinstance(node, ast.Call):
        return False
    if isinstance(node.func, ast.Attribute):
        return _selects_model(node.func.value)
    return _called_name(node) == "select" and bool(node.args) and _selects_model(node.args[0])


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def order_returning_functions(trees: Iterable[ast.AST]) -> frozenset[str]:
    """The names of the package's functions whose return annotation names the model."""
    return frozenset(
        node.name
        for tree in trees
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _names_model(node.returns)
    )


class _Scope:
    """The names known to hold an order in one function (or the module body)."""

    def __init__(self, returning_orders: frozenset[str], known: set[str] | None = None) -> None:
        self.returning_orders = returning_orders
        self.orders: set[str] = set(known or ())

    def is_order(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.orders
        if isinstance(node, ast.Attribute):
            return node.attr in ORDER_RELATIONSHIPS
        if isinstance(node, ast.Call):
            name = _called_name(node)
            if name == MODEL or name in self.returning_orders:
                return True
            # session.get(OrderRecord, ...), session.scalars(select(OrderRecord)...).one()
            return any(_selects_model(argument) for argument in node.args) or (
                isinstance(node.func, ast.Attribute) and self.is_order(node.func.value)
            )
        if isinstance(node, ast.Await):
            return self.is_order(node.value)
        return False

    def learn(self, target: ast.AST, value: ast.AST | None, annotation: ast.AST | None) -> None:
        if not (_names_model(annotation) or (value is not None and self.is_order(value))):
            return
        for node in ast.walk(target):
            if isinstance(node, ast.Name):
                self.orders.add(node.id)


def _writes_in(
    body: list[ast.stmt], scope: _Scope, module: str, returning_orders: frozenset[str]
) -> Iterator[Write]:
    for statement in body:
        yield from _writes_of_statement(statement, scope, module, returning_orders)


def _function_scope(
    function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda,
    returning_orders: frozenset[str],
) -> _Scope:
    arguments = function.args
    parameters = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    parameters += [p for p in (arguments.vararg, arguments.kwarg) if p is not None]
    return _Scope(returning_orders, {p.arg for p in parameters if _names_model(p.annotation)})


def _writes_of_statement(
    statement: ast.stmt, scope: _Scope, module: str, returning_orders: frozenset[str]
) -> Iterator[Write]:
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
        for decorator in statement.decorator_list:
            yield from _writes_of_expression(decorator, scope, module, returning_orders)
        inner = _function_scope(statement, returning_orders)
        yield from _writes_in(statement.body, inner, module, returning_orders)
        return
    if isinstance(statement, ast.ClassDef):
        yield from _writes_in(statement.body, _Scope(returning_orders), module, returning_orders)
        return
    # What the statement learns comes first: `account = lock(...); account.x = 1`.
    if isinstance(statement, ast.Assign):
        for target in statement.targets:
            scope.learn(target, statement.value, None)
    elif isinstance(statement, ast.AnnAssign):
        scope.learn(statement.target, statement.value, statement.annotation)
    elif isinstance(statement, ast.For | ast.AsyncFor):
        scope.learn(statement.target, statement.iter, None)
    elif isinstance(statement, ast.With | ast.AsyncWith):
        for item in statement.items:
            if item.optional_vars is not None:
                scope.learn(item.optional_vars, item.context_expr, None)
    targets: list[ast.expr] = []
    if isinstance(statement, ast.Assign):
        targets = list(statement.targets)
    elif isinstance(statement, ast.AugAssign | ast.AnnAssign):
        targets = [statement.target]
    for target in targets:
        for node in ast.walk(target):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in COLUMNS
                and scope.is_order(node.value)
            ):
                yield Write(module, node.lineno, f"assigns {ast.unparse(node)}")
    # Expressions of this statement, and the statements nested in it.
    for field_name, value in ast.iter_fields(statement):
        for child in value if isinstance(value, list) else [value]:
            if isinstance(child, ast.stmt):
                yield from _writes_of_statement(child, scope, module, returning_orders)
            elif isinstance(child, ast.excepthandler | ast.match_case):
                yield from _writes_in(child.body, scope, module, returning_orders)
            elif isinstance(child, ast.AST) and field_name != "targets":
                yield from _writes_of_expression(child, scope, module, returning_orders)


def _writes_of_expression(
    expression: ast.AST, scope: _Scope, module: str, returning_orders: frozenset[str]
) -> Iterator[Write]:
    for node in ast.walk(expression):
        if isinstance(node, ast.Lambda):
            inner = _function_scope(node, returning_orders)
            yield from _writes_of_expression(node.body, inner, module, returning_orders)
        if not isinstance(node, ast.Call):
            continue
        name = _called_name(node)
        if name == MODEL:
            yield Write(module, node.lineno, "creates an OrderRecord")
        elif name in STATEMENTS and node.args and _names_model(node.args[0]):
            yield Write(module, node.lineno, f"{name}(OrderRecord)")
        elif (
            name in STATEMENTS
            and isinstance(node.func, ast.Attribute)
            and _names_model(node.func.value)
        ):
            # session.query(OrderRecord).update(...), OrderRecord.__table__.update()
            yield Write(module, node.lineno, f"{ast.unparse(node.func)}(...)")
        elif name == "setattr" and node.args and scope.is_order(node.args[0]):
            column = node.args[1] if len(node.args) > 1 else None
            if not (isinstance(column, ast.Constant) and column.value not in COLUMNS):
                yield Write(module, node.lineno, f"{ast.unparse(node)}")


def writes_of_tree(
    tree: ast.Module, module: str, returning_orders: frozenset[str] = frozenset()
) -> list[Write]:
    found = set(_writes_in(tree.body, _Scope(returning_orders), module, returning_orders))
    return sorted(found, key=lambda write: (write.module, write.line, write.what))


def package_modules() -> dict[str, ast.Module]:
    return {
        path.relative_to(PACKAGE).as_posix(): ast.parse(path.read_text(encoding="utf-8"))
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def test_only_orders_writes_an_order() -> None:
    modules = package_modules()
    returning_orders = order_returning_functions(modules.values())
    writes = [
        write
        for module, tree in modules.items()
        if not module.startswith(ALLOWED)
        for write in writes_of_tree(tree, module, returning_orders)
    ]
    assert writes == [], "\n".join(
        ["OrderRecord written outside payments/orders.py:", *map(str, writes)]
    )


def test_the_one_writer_is_seen_writing() -> None:
    """The search finds the writes it must find: those of payments/orders.py itself."""
    modules = package_modules()
    returning_orders = order_returning_functions(modules.values())
    orders = writes_of_tree(modules["payments/orders.py"], "payments/orders.py", returning_orders)
    found = {write.what for write in orders}
    assert "creates an OrderRecord" in found
    assert "update(OrderRecord)" in found
    assert "assigns account.status" in found


def test_each_way_of_writing_an_order_is_found() -> None:
    source = """
def by_annotation(account: OrderRecord, other: "OrderRecord | None") -> None:
    account.reserved_minor = 1
    other.completed_by = "admin"

def by_value(session, payment, hold):
    found = session.get(OrderRecord, 1)
    found.refunded_minor += 5
    locked = lock_order(session, 1)
    locked.status = "completed"
    payment.order.overpaid_minor = 3
    setattr(locked, "closed_as", "cancelled")
    for each in session.scalars(select(OrderRecord)):
        each.paid_minor = 0
    session.execute(update(OrderRecord).values(paid_minor=0))
    session.query(OrderRecord).update({"paid_minor": 0})
    session.add(OrderRecord(reference="x"))
    hold.reference = "not an order"
    payment.status = "not an order either"
"""
    writes = writes_of_tree(ast.parse(source), "example.py", frozenset({"lock_order"}))
    assert [(write.line, write.what) for write in writes] == [
        (3, "assigns account.reserved_minor"),
        (4, "assigns other.completed_by"),
        (8, "assigns found.refunded_minor"),
        (10, "assigns locked.status"),
        (11, "assigns payment.order.overpaid_minor"),
        (12, "setattr(locked, 'closed_as', 'cancelled')"),
        (14, "assigns each.paid_minor"),
        (15, "update(OrderRecord)"),
        (16, "session.query(OrderRecord).update(...)"),
        (17, "creates an OrderRecord"),
    ]
