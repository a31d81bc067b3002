"""Every module under cryptoj/ states its public names in `__all__`, and every listed name exists.

Modules are found on disk at collection time and imported only inside each test, so one broken module
fails its own test instead of the whole collection. Nothing is skipped silently: the only modules left
out are Alembic's scripts, which Alembic runs itself and which are not importable on their own, and
`__main__` modules, whose import runs the program.
"""

import importlib
from pathlib import Path

import pytest

import cryptoj

PACKAGE_ROOT = Path(cryptoj.__file__).parent
# Alembic executes env.py and the revision scripts inside its own context; importing them directly fails.
NOT_IMPORTABLE = ("store/migrations/",)


def _module_names() -> list[str]:
    names = []
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        relative = path.relative_to(PACKAGE_ROOT).as_posix()
        if relative.startswith(NOT_IMPORTABLE) or path.name == "__main__.py":
            continue
        parts = ["cryptoj", *path.relative_to(PACKAGE_ROOT).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return names


MODULES = _module_names()


def test_the_walk_finds_the_known_modules() -> None:
    assert {"cryptoj", "cryptoj.config", "cryptoj.domain", "cryptoj.domain.orders"} <= set(MODULES)


@pytest.mark.parametrize("module_name", MODULES)
def test_every_name_in_all_exists(module_name: str) -> None:
    module = importlib.import_module(module_name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{module_name} states no __all__"
    assert all(isinstance(name, str) for name in exported), f"{module_name}.__all__ holds a non-string"
    missing = [name for name in exported if not hasattr(module, name)]
    assert not missing, f"{module_name}.__all__ lists names it does not define: {missing}"
    duplicates = {name for name in exported if list(exported).count(name) > 1}
    assert not duplicates, f"{module_name}.__all__ repeats {sorted(duplicates)}"
