"""Which way an order trades."""

from enum import StrEnum

__all__ = ["Side"]


class Side(StrEnum):
    """Order side, spelled as Coinbase spells it."""

    BUY = "BUY"  # pays quote currency, receives base
    SELL = "SELL"  # pays base currency, receives quote

    @property
    def opposite(self) -> "Side":
        """The side that trades against this one."""
        return Side.SELL if self is Side.BUY else Side.BUY
