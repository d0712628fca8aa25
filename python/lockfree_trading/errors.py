"""Exception hierarchy: every error the engine raises derives from :class:`TradingError`.

A command that raises changes nothing: the book, its sequence number and its statistics
are exactly as before the call.
"""

from __future__ import annotations

__all__ = [
    "BookPoisoned",
    "CorruptData",
    "DuplicateOrderId",
    "InvalidConfig",
    "InvalidOrder",
    "OrderNotFound",
    "QueueFull",
    "StorageError",
    "SymbolHalted",
    "SystemClosed",
    "TradingError",
    "UnknownSymbol",
]


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


class UnknownSymbol(TradingError, KeyError):
    """The trading system has no symbol of that name."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class QueueFull(TradingError):
    """The symbol's worker queue is full and ``engine.on_full`` is ``reject``: nothing was
    enqueued; retry later or slow down."""


class SymbolHalted(TradingError):
    """The symbol's worker failed on an earlier command; the symbol takes no more commands
    (the other symbols carry on). The message says what failed."""


class SystemClosed(TradingError):
    """The trading system is shutting down or has shut down."""


class BookPoisoned(TradingError):
    """A command failed inside the book's writer (an internal error, reported with its
    message); the book refuses every further write and stays readable. Build a new book
    (or restart the system) to go on."""


class CorruptData(TradingError, ValueError):
    """Stored data (a snapshot or a journal record) failed a check: bad magic, unsupported
    version, wrong CRC32C, truncated or inconsistent. The message names the file or the
    byte offset. Nothing was changed."""


class StorageError(TradingError, OSError):
    """Reading or writing the journal or snapshot directory failed; the message names the
    file and the operating system's reason."""
