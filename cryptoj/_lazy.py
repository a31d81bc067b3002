"""Package re-exports that import their module on first use.

A package's `__init__` re-exports the names callers need, but importing, say, `cryptoj.store.cli` must
not load pandas, httpx and uvicorn just because the package mentions them: `cryptoj --version` would take
seconds. Each package maps its public names to the modules that define them and hands the map to
`lazy_exports`, which builds the module-level `__getattr__` and `__dir__` (PEP 562).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """`(__getattr__, __dir__)` for `package`, resolving each name in `exports` from its module once."""

    def __getattr__(name: str) -> object:
        module_name = exports.get(name)
        if module_name is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module_name), name)
        setattr(sys.modules[package], name, value)  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
