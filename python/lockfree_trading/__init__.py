"""lockfree-trading: a limit-order-book matching engine with a Rust core.

>>> from lockfree_trading import OrderBook, Side
>>> book = OrderBook("BTC-USD", tick_size="0.01", lot_size="0.001")
>>> book.submit(Side.SELL, quantity="1", price="100.25", timestamp=1).status
OrderStatus.NEW
"""

from __future__ import annotations

from ._core import (
    BatchResult,
    Depth,
    ExecutionReport,
    Level,
    LevelStats,
    Order,
    OrderBook,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Side,
    TimeInForce,
    Trade,
    __version__,
)
from .errors import DuplicateOrderId, InvalidConfig, InvalidOrder, OrderNotFound, TradingError

__all__ = [
    "BatchResult",
    "Depth",
    "DuplicateOrderId",
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
    "Side",
    "TimeInForce",
    "Trade",
    "TradingError",
    "__version__",
]
