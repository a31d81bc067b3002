"""The root of every error CryptoJ raises, so callers (the CLI above all) can catch the library once."""

__all__ = ["ConfigurationError", "CryptojError"]


class CryptojError(Exception):
    """Base of every CryptoJ error. Its message never carries a secret."""


class ConfigurationError(CryptojError):
    """A setting is missing, malformed or unsafe: an operator has to fix the configuration."""
