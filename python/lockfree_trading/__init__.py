"""lockfree-trading: a limit-order-book matching engine with a Rust core.

>>> from lockfree_trading import OrderBook, Side
>>> book = OrderBook("BTC-USD", tick_size="0.01", lot_size="0.001")
>>> book.submit(Side.SELL, quantity="1", price="100.25", timestamp=1).status
OrderStatus.NEW
"""

from __future__ import annotations

from ._core import (
    BatchResult,
    BookView,
    Depth,
    Event,
    ExecutionReport,
    Level,
    LevelStats,
    Order,
    OrderBook,
    OrderStatus,
    OrderType,
    OrderUpdate,
    PendingReport,
    Side,
    Subscription,
    TimeInForce,
    Trade,
    __version__,
)
from .config import Config
from .errors import (
    BookPoisoned,
    CorruptData,
    DuplicateOrderId,
    InvalidConfig,
    InvalidOrder,
    OrderNotFound,
    QueueFull,
    StorageError,
    SymbolHalted,
    SystemClosed,
    TradingError,
    UnknownSymbol,
)
from .system import EventSubscription, TradingSystem

__all__ = [
    "BatchResult",
    "BookPoisoned",
    "BookView",
    "Config",
    "CorruptData",
    "Depth",
    "DuplicateOrderId",
    "Event",
    "EventSubscription",
    "ExecutionReport",
    "InvalidConfig",
    "InvalidOrder",
    "Level",
    "LevelStats",
    "Order",
    "OrderBook",
    "OrderNotFound",
    "OrderStatus",
    "OrderType",
    "OrderUpdate",
    "PendingReport",
    "QueueFull",
    "Side",
    "StorageError",
    "Subscription",
    "SymbolHalted",
    "SystemClosed",
    "TimeInForce",
    "Trade",
    "TradingError",
    "TradingSystem",
    "UnknownSymbol",
    "__version__",
]
