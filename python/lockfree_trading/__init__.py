"""lockfree-trading: a limit-order-book matching engine with a Rust core.

>>> from lockfree_trading import OrderBook, Side
>>> book = OrderBook("BTC-USD", tick_size="0.01", lot_size="0.001")
>>> book.submit(Side.SELL, quantity="1", price="100.25", timestamp=1).status
OrderStatus.NEW
"""

from __future__ import annotations

from collections.abc import Sequence as _Sequence

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
from .statistics import Statistics
from .system import EventSubscription, TradingSystem

# Level, Trade and LevelStats behave as named tuples (`_fields`, `len`, indexing, iteration,
# `_asdict()`); registered as sequences, `pandas.DataFrame(depth.bids)` names its columns
# after their fields. DataFrames and plots: `lockfree_trading.analysis` (the [analysis] extra).
for _named in (Level, Trade, LevelStats):
    _Sequence.register(_named)
del _named

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
    "Statistics",
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
