"""The project code a module runs: its import closure inside the repository, read from the
source (every ``import`` and ``from … import`` anywhere in a module, function bodies included,
and ``importlib.import_module("…")`` with a literal name), with the packages' ``__init__.py``
files that importing runs. Imports under ``if TYPE_CHECKING:`` never run and are skipped.

A stage's DVC deps are this closure (:mod:`leakaudit.core.dvcfile`); a trained model's
fingerprint hashes the closure of the code that trains it (``leakaudit.tmi.fleet``).
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Iterable
from functools import cache
from pathlib import Path


def module_file(name: str, root: Path) -> Path | None:
    """The file of module ``name`` under ``root`` (a package: its ``__init__.py``), if any."""
    base = root.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _package_of(path: Path, root: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts[:-1]
    return ".".join(parts)


@cache
def imported_names(path: Path, root: Path) -> tuple[str, ...]:
    """Every module name ``path`` may import (``from a import b`` gives ``a`` and ``a.b``:
    ``b`` may be a submodule), relative imports resolved."""
    tree = ast.parse(path.read_text(), str(path))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            skip |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    names: list[str] = []
    package = _package_of(path, root)
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".") if package else []
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            names += [base, *(f"{base}.{a.name}" for a in node.names if a.name != "*")]
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(
                node.func, "id", None)) == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            names.append(node.args[0].value)
    return tuple(dict.fromkeys(n for n in names if n))


def closure(modules: Iterable[str], root: Path, stop: Iterable[str] = ()) -> set[Path]:
    """The project files (under ``root``) that importing ``modules`` may run: the modules,
    their packages' ``__init__.py`` and everything they import, transitively. Modules in
    ``stop`` are neither included nor followed."""
    stop_files = {module_file(m, root) for m in stop} - {None}
    seen: set[Path] = set()
    todo = list(modules)
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # a.b.c runs a/__init__, a/b/__init__, a/b/c
            path = module_file(".".join(parts[:i]), root)
            if path is None or path in seen or path in stop_files:
                continue
            seen.add(path)
            todo += imported_names(path, root)
    return seen


def digest(files: Iterable[Path], root: Path) -> str:
    """A short SHA-256 of files' paths (relative to ``root``) and contents, in path order."""
    h = hashlib.sha256()
    for f in sorted(files):
        h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]
