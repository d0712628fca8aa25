"""Exception hierarchy: every error the engine raises derives from :class:`TradingError`.

A command that raises changes nothing: the book, its sequence number and its statistics
are exactly as before the call.
"""

from __future__ import annotations

__all__ = ["DuplicateOrderId", "InvalidConfig", "InvalidOrder", "OrderNotFound", "TradingError"]


class TradingError(Exception):
    """Base class of all lockfree-trading errors."""


class InvalidOrder(TradingError, ValueError):
    """The command is malformed: price, quantity, flags, or a value out of range."""


class InvalidConfig(TradingError, ValueError):
    """A book or system parameter (tick size, lot size, config file) is unusable."""


class DuplicateOrderId(TradingError, ValueError):
    """A new order reused the id of an order that is still resting."""


class OrderNotFound(TradingError, KeyError):
    """Cancel or modify named an order that is not resting."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""
