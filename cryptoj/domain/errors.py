"""The base of every domain rule violation; each rule's own error sits next to the rule."""

from cryptoj.errors import CryptojError

__all__ = ["DomainError"]


class DomainError(CryptojError, ValueError):
    """A domain rule refused the input: the caller has to fix what it passed."""
