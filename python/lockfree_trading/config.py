"""Configuration file loading (`config.yaml`): symbols and per-book settings.

Every problem is reported as :class:`~lockfree_trading.errors.InvalidConfig` naming the
key and what was wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from ._core import OrderBook
from .errors import InvalidConfig

__all__ = ["BookSettings", "Config", "SymbolConfig"]


def _decimal(value: object, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise InvalidConfig(f"{where}: expected a decimal number, got {value!r}")
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise InvalidConfig(f"{where}: {value!r} is not a decimal number") from None
    if not d.is_finite() or d <= 0:
        raise InvalidConfig(f"{where}: must be a finite number > 0, got {value!r}")
    return d


def _mapping(value: object, where: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidConfig(f"{where}: expected a mapping, got {type(value).__name__}")
    unknown = sorted(set(map(str, value)) - allowed)
    if unknown:
        raise InvalidConfig(
            f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )
    return {str(k): v for k, v in value.items()}


@dataclass(frozen=True)
class SymbolConfig:
    """One tradable instrument."""

    symbol: str
    tick_size: Decimal
    lot_size: Decimal


@dataclass(frozen=True)
class BookSettings:
    """Settings shared by every book."""

    retain_empty_levels: int = 10_000


@dataclass(frozen=True)
class Config:
    """The whole configuration file."""

    symbols: tuple[SymbolConfig, ...]
    book: BookSettings = field(default_factory=BookSettings)

    @classmethod
    def from_dict(cls, raw: object) -> Config:
        top = _mapping(raw, "config", {"symbols", "book"})
        entries = top.get("symbols")
        if not isinstance(entries, list) or not entries:
            raise InvalidConfig("symbols: expected a non-empty list of symbols")
        symbols = []
        seen: set[str] = set()
        for i, entry in enumerate(entries):
            where = f"symbols[{i}]"
            item = _mapping(entry, where, {"symbol", "tick_size", "lot_size"})
            name = item.get("symbol")
            if not isinstance(name, str) or not name.strip():
                raise InvalidConfig(f"{where}.symbol: expected a non-empty string, got {name!r}")
            if name in seen:
                raise InvalidConfig(f"{where}.symbol: {name!r} is configured twice")
            seen.add(name)
            symbols.append(
                SymbolConfig(
                    symbol=name,
                    tick_size=_decimal(item.get("tick_size", "0.01"), f"{where}.tick_size"),
                    lot_size=_decimal(item.get("lot_size", "1"), f"{where}.lot_size"),
                )
            )
        book_raw = _mapping(top.get("book", {}) or {}, "book", {"retain_empty_levels"})
        retain = book_raw.get("retain_empty_levels", 10_000)
        if isinstance(retain, bool) or not isinstance(retain, int) or retain < 0:
            raise InvalidConfig(f"book.retain_empty_levels: expected an integer >= 0, got {retain!r}")
        return cls(symbols=tuple(symbols), book=BookSettings(retain_empty_levels=retain))

    @classmethod
    def from_yaml(cls, path: str | Path) -> Config:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as e:
            raise InvalidConfig(f"cannot read config file {str(path)!r}: {e.strerror}") from None
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise InvalidConfig(f"{path}: not valid YAML: {e}") from None
        return cls.from_dict(raw)

    def make_book(self, symbol: str | None = None) -> OrderBook:
        """A fresh book for `symbol` (default: the first configured symbol)."""
        chosen = (
            self.symbols[0] if symbol is None else next((s for s in self.symbols if s.symbol == symbol), None)
        )
        if chosen is None:
            raise InvalidConfig(f"symbol {symbol!r} is not configured")
        return OrderBook(
            chosen.symbol,
            tick_size=chosen.tick_size,
            lot_size=chosen.lot_size,
            retain_empty_levels=self.book.retain_empty_levels,
        )
