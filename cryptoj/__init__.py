"""CryptoJ Trader: spot trading on Coinbase Advanced Trade, scheduled by Prefect."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cryptoj-trader")
except PackageNotFoundError:  # pragma: no cover - only when run from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
