"""Package re-exports stay lazy: the CLI starts without loading the heavy libraries behind them."""

import importlib
import subprocess
import sys

import pytest

LAZY_PACKAGES = ["cryptoj.coinbase", "cryptoj.sandbox", "cryptoj.store"]


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_public_name_has_a_lazy_export_and_resolves(package: str) -> None:
    module = importlib.import_module(package)
    assert set(module.__all__) == set(module._EXPORTS)
    for name in module.__all__:
        assert getattr(module, name) is getattr(importlib.import_module(module._EXPORTS[name]), name)
    assert set(module.__all__) <= set(dir(module))


def test_an_unknown_name_is_an_attribute_error_naming_the_package() -> None:
    module = importlib.import_module("cryptoj.store")
    with pytest.raises(AttributeError, match=r"'cryptoj\.store' has no attribute 'NoSuchThing'"):
        _ = module.NoSuchThing


def test_importing_the_cli_loads_no_database_dataframe_or_server_library() -> None:
    probe = (
        "import sys, cryptoj.cli; "
        "print(','.join(m for m in ('pandas', 'sqlalchemy', 'uvicorn', 'websockets', 'prefect') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == ""
