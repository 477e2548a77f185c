"""Every function of the service that writes to MongoDB or posts to the ledger, found in the source.

A writer is the innermost function (or lambda) whose body calls a MongoDB write (`update_one`,
`insert_many`, a `bulk_write`, a namespaced `UpdateOne`/`InsertOne` for `write_together`, ...) or
posts a journal entry (`post`, `post_in`, `post_many_in`). It is named as Python names its code
object (`co_qualname`, with `<locals>` for a nested function), prefixed with its module, so the
same name identifies it in the source and on the stack of a running command
(`tests/services/audit/write_trail.py`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
# Where state lives: every service package, and the adapter writing the legacy wallets.
SOURCES = (ROOT / "app" / "services", ROOT / "app" / "adapters" / "legacy_wallet_bridge.py")
# The audit log itself: its writes are the records, not changes to record.
AUDIT_PACKAGE = ROOT / "app" / "services" / "audit"

WRITE_CALLS = frozenset(
    {
        "insert_one",
        "insert_many",
        "update_one",
        "update_many",
        "replace_one",
        "delete_one",
        "delete_many",
        "find_one_and_update",
        "find_one_and_replace",
        "find_one_and_delete",
        "bulk_write",
        "write_together",
        "InsertOne",
        "UpdateOne",
        "UpdateMany",
        "ReplaceOne",
        "DeleteOne",
        "DeleteMany",
        "post",
        "post_in",
        "post_many_in",
    }
)

Scope = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_files() -> Iterator[Path]:
    for source in SOURCES:
        files = sorted(source.rglob("*.py")) if source.is_dir() else [source]
        yield from (path for path in files if AUDIT_PACKAGE not in path.parents)


def writers() -> dict[str, list[str]]:
    """Every writer of the service: its name (`module:qualname`) and the writes it calls."""
    found: dict[str, list[str]] = {}
    for path in source_files():
        module = module_name(path)
        for qualname, calls in _writers_in(ast.parse(path.read_text(), str(path))):
            found.setdefault(f"{module}:{qualname}", []).extend(calls)
    return {name: sorted(set(calls)) for name, calls in sorted(found.items())}


def _writers_in(tree: ast.Module) -> Iterator[tuple[str, list[str]]]:
    calls: dict[str, list[str]] = {}

    def visit(node: ast.AST, scope: str | None, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, scope, f"{prefix}{child.name}.")
            elif isinstance(child, Scope):
                name = f"{prefix}{'<lambda>' if isinstance(child, ast.Lambda) else child.name}"
                visit(child, name, f"{name}.<locals>.")
            else:
                if scope is not None and isinstance(child, ast.Call) and _called(child) in WRITE_CALLS:
                    calls.setdefault(scope, []).append(_called(child) or "")
                visit(child, scope, prefix)

    visit(tree, None, "")
    yield from calls.items()


def _called(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    if isinstance(call.func, ast.Name):
        return call.func.id
    return None


RECORDING_CALLS = frozenset({"record", "prepare"})


def recorded_actions() -> tuple[set[str], set[str]]:
    """The actions the service records (`AuditLog.record`/`prepare`, `AuditChange`): the actions
    named whole, and the prefixes of those built from one (`f"seller_recovery.{action}"`)."""
    actions: set[str] = set()
    prefixes: set[str] = set()
    for path in source_files():
        tree = ast.parse(path.read_text(), str(path))
        constants = _module_strings(tree)
        for node in ast.walk(tree):
            argument = _action_argument(node)
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                actions.add(argument.value)
            elif isinstance(argument, ast.Name) and argument.id in constants:
                actions.add(constants[argument.id])
            elif isinstance(argument, ast.JoinedStr):
                head = argument.values[0]
                assert isinstance(head, ast.Constant), ast.unparse(argument)
                prefixes.add(str(head.value))
            elif argument is not None:
                raise AssertionError(f"{path}: an action the scan cannot read: {ast.unparse(argument)}")
    return actions, prefixes


def _action_argument(node: ast.AST) -> ast.expr | None:
    if not isinstance(node, ast.Call):
        return None
    called = _called(node)
    if called == "AuditChange":
        return node.args[0] if node.args else _keyword(node, "action")
    if (
        called in RECORDING_CALLS
        and isinstance(node.func, ast.Attribute)
        and "audit" in ast.unparse(node.func.value)
    ):
        return node.args[2] if len(node.args) > 2 else _keyword(node, "action")
    return None


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((keyword.value for keyword in call.keywords if keyword.arg == name), None)


def _module_strings(tree: ast.Module) -> dict[str, str]:
    return {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
