"""The domain package: pure (no I/O library on import) and re-exporting its modules' public names."""

import json
import subprocess
import sys

FORBIDDEN = (
    "httpx",
    "sqlalchemy",
    "sqlmodel",
    "prefect",
    "websockets",
    "psycopg",
    "pandas",
    "cryptoj.coinbase",
    "cryptoj.store",
    "cryptoj.services",
)


def test_importing_the_domain_loads_no_io_library() -> None:
    code = "import json, sys, cryptoj.domain; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    loaded = json.loads(result.stdout)
    offenders = [m for m in loaded if m.startswith(FORBIDDEN)]
    assert offenders == []
    assert "cryptoj.domain.paper" in loaded


def test_the_package_re_exports_every_public_name_of_its_modules() -> None:
    import importlib

    import cryptoj.domain

    modules = (
        "side",
        "errors",
        "money",
        "book",
        "orders",
        "products",
        "positions",
        "risk",
        "paper",
        "strategy",
        "walk",
    )
    names = {name for m in modules for name in importlib.import_module(f"cryptoj.domain.{m}").__all__}
    assert names == set(cryptoj.domain.__all__)
