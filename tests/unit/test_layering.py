"""Imports point one way (DESIGN.md): domain <- coinbase, store <- services <- flows, cli; the sandbox never uses
the services or the store."""

import ast
import sys
from pathlib import Path

import pytest

import cryptoj

PACKAGE_ROOT = Path(cryptoj.__file__).parent

# Which top-level cryptoj packages each package may import (besides itself and the shared root modules).
ALLOWED: dict[str, set[str]] = {
    "domain": set(),
    "coinbase": {"domain", "config"},
    "store": {"domain", "config"},
    "sandbox": {"domain", "coinbase"},
}
SHARED_ROOT_MODULES = {"errors", "_lazy"}
# The domain is pure: the standard library, itself and the shared error root. One exception, by file: the
# level-2 book keeps its sides in sortedcontainers, a pure-Python sorted dict (no I/O, no data frames).
DOMAIN_THIRD_PARTY: dict[str, set[str]] = {"book.py": {"sortedcontainers"}}


def _imported_modules(path: Path) -> set[str]:
    """Every absolute module name a file imports, at any depth (a function-level import counts too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _cryptoj_imports(path: Path) -> set[str]:
    """The top-level cryptoj packages or modules a file imports (`cryptoj.store.x` -> `store`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        found.update(name.split(".")[1] for name in names if name.startswith("cryptoj."))
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_layers_below_it(package: str) -> None:
    files = sorted((PACKAGE_ROOT / package).rglob("*.py"))
    assert files
    allowed = ALLOWED[package] | SHARED_ROOT_MODULES | {package}
    offenders = {
        f"{path.relative_to(PACKAGE_ROOT)} imports cryptoj.{name}"
        for path in files
        for name in _cryptoj_imports(path) - allowed
    }
    assert not offenders, sorted(offenders)


def test_the_domain_imports_only_the_standard_library_and_itself() -> None:
    files = sorted((PACKAGE_ROOT / "domain").rglob("*.py"))
    assert files
    offenders = set()
    for path in files:
        allowed = DOMAIN_THIRD_PARTY.get(path.name, set())
        for name in _imported_modules(path):
            top = name.split(".")[0]
            if top in sys.stdlib_module_names or top in allowed:
                continue
            if name.startswith("cryptoj.domain") or name == "cryptoj.errors":
                continue
            offenders.add(f"domain/{path.relative_to(PACKAGE_ROOT / 'domain')} imports {name}")
    assert not offenders, sorted(offenders)
