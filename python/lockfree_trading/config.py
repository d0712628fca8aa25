"""Configuration (`config.yaml`), validated with pydantic.

Every problem is reported as :class:`~lockfree_trading.errors.InvalidConfig` whose message
names the key (``engine.queue_capacity``, ``symbols[BTC-USD].tick_size``: a symbol by its
name where it has one) and says what was wrong. Unknown keys are errors, so a typo never
silently falls back to a default; a near miss is answered with "did you mean". A YAML
syntax error gives the file, line and column.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import typing
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal, Optional, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ._core import OrderBook
from .errors import InvalidConfig

__all__ = [
    "AdminSettings",
    "BookSettings",
    "Config",
    "EngineSettings",
    "GatewaySession",
    "GatewaySettings",
    "JournalSettings",
    "MemorySettings",
    "PriceBand",
    "SnapshotSettings",
    "StatisticsSettings",
    "SymbolConfig",
]


def _positive_decimal(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise ValueError(f"expected a decimal number, got {value!r}")
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal number") from None
    if not d.is_finite() or d <= 0:
        raise ValueError(f"must be a finite number > 0, got {value!r}")
    return d


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class PriceBand(_Strict):
    """Inclusive range of accepted limit prices; orders outside it are refused."""

    min: Decimal
    max: Decimal

    @field_validator("min", "max", mode="before")
    @classmethod
    def _decimal(cls, v: object) -> Decimal:
        return _positive_decimal(v)

    @model_validator(mode="after")
    def _ordered(self) -> PriceBand:
        if self.max < self.min:
            raise ValueError(f"max ({self.max}) must not be below min ({self.min})")
        return self


class SymbolConfig(_Strict):
    """One tradable instrument."""

    name: str = Field(min_length=1)
    tick_size: Decimal = Decimal("0.01")
    lot_size: Decimal = Decimal("1")
    price_band: Optional[PriceBand] = None
    #: Pin the symbol to this worker (0-based); by default the system balances by ``weight``.
    worker: Optional[int] = Field(default=None, ge=0)
    #: Expected share of the flow, for automatic balancing.
    weight: float = Field(default=1.0, gt=0)
    #: Overrides ``memory.order_pool_capacity`` for this symbol.
    order_pool_capacity: Optional[int] = Field(default=None, ge=0, le=1 << 31)

    @model_validator(mode="before")
    @classmethod
    def _symbol_alias(cls, data: Any) -> Any:
        # `symbol:` is accepted for `name:` (the key earlier versions used).
        if isinstance(data, dict) and "symbol" in data and "name" not in data:
            data = {("name" if k == "symbol" else k): v for k, v in data.items()}
        return data

    @field_validator("tick_size", "lot_size", mode="before")
    @classmethod
    def _decimal(cls, v: object) -> Decimal:
        return _positive_decimal(v)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v

    @property
    def symbol(self) -> str:
        """The name (alias kept for code written against earlier versions)."""
        return self.name


class EngineSettings(_Strict):
    """Worker threads and their queues."""

    #: Worker threads; ``auto`` means one per core minus one (at least one).
    threads: Union[int, Literal["auto"]] = "auto"
    batch_size: int = Field(default=64, ge=1, le=1_000_000)
    queue_capacity: int = Field(default=65_536, ge=2, le=1 << 30)
    on_full: Literal["block", "reject"] = "block"
    pin_threads: bool = False
    #: Events each worker's broadcast ring keeps for subscribers.
    event_capacity: int = Field(default=65_536, ge=2, le=1 << 30)

    @field_validator("threads", mode="before")
    @classmethod
    def _threads(cls, v: object) -> Union[int, str]:
        if v == "auto":
            return "auto"
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"must be a whole number >= 1 or 'auto', got {v!r}")
        return v

    def worker_threads(self) -> int:
        """The number of workers ``threads`` asks for (``auto`` resolved here)."""
        if self.threads == "auto":
            # The cores this process may use (affinity), as Rust's `available_parallelism`.
            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
            return max(1, (cores or 2) - 1)
        return int(self.threads)


class MemorySettings(_Strict):
    """Per-symbol order pools."""

    #: Resting orders each book reserves room for at start.
    order_pool_capacity: int = Field(default=100_000, ge=0, le=1 << 31)
    #: Whether a pool may grow past its capacity. When it may not, the part of an order that
    #: would rest in a full pool is refused with reason "the book's order pool is full":
    #: status REJECTED if nothing traded, CANCELED if part of it traded first (those trades
    #: stand). Never a crash.
    pool_growth: bool = True


class BookSettings(_Strict):
    """Settings shared by every book."""

    retain_empty_levels: int = Field(default=10_000, ge=0)


class SnapshotSettings(_Strict):
    """Snapshots of every book: automatic by time and/or command count, on demand
    (``TradingSystem.snapshot()``) and at clean shutdown. Recovery starts from the newest
    snapshot of each symbol that reads whole, then replays the journal after it."""

    enabled: bool = False
    #: Directory of the snapshot files (relative paths: from the working directory).
    directory: str = "snapshots"
    #: Snapshot every book that changed this often (None: not by time).
    interval_seconds: Optional[float] = Field(default=60.0, gt=0)
    #: Snapshot a book after this many commands (None: not by count).
    every_commands: Optional[int] = Field(default=None, ge=1)
    #: Snapshots kept per symbol; older ones, and journal segments every kept snapshot has
    #: passed, are deleted.
    keep: int = Field(default=3, ge=1, le=1000)
    #: Snapshot every book at clean shutdown.
    on_shutdown: bool = True
    #: LZ4-compress the files.
    compress: bool = True


class JournalSettings(_Strict):
    """The command journal: every command a worker runs, in order, written by a separate
    thread with group commit (matching never waits for the disk)."""

    enabled: bool = False
    #: Directory of the segment files (relative paths: from the working directory).
    directory: str = "journal"
    #: When segments are synced: ``always`` (after every worker hand-off), ``batch`` (group
    #: commit: once per write of everything queued), ``interval`` (every ``interval_ms``),
    #: ``never`` (left to the operating system).
    fsync: Literal["always", "batch", "interval", "never"] = "batch"
    #: For ``fsync: interval``.
    interval_ms: int = Field(default=10, ge=1, le=60_000)
    #: When replies and events are released: ``after_fsync`` (never before the command is
    #: on stable storage) or ``after_write`` (once written to the OS; survives a process
    #: crash, not an OS crash or power loss).
    ack: Literal["after_write", "after_fsync"] = "after_fsync"
    #: Size at which a segment file rolls over.
    segment_bytes: int = Field(default=64 << 20, ge=4096, le=1 << 40)
    #: Worker hand-offs the journal thread may have queued before a worker waits.
    queue_capacity: int = Field(default=4096, ge=2, le=1 << 20)

    @model_validator(mode="after")
    def _ack_needs_sync(self) -> JournalSettings:
        if self.enabled and self.ack == "after_fsync" and self.fsync == "never":
            raise ValueError(
                "ack: after_fsync needs fsync always, batch or interval (with fsync: never "
                "nothing is ever known to be on disk); use ack: after_write or another fsync"
            )
        return self


_UNITS_NS = {
    "ns": 1,
    "us": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
}


def parse_duration(value: object, what: str = "duration") -> int:
    """A duration as nanoseconds: ``"500ms"``, ``"1s"``, ``"1m"``, ``"1h"``, ``"1d"``, or a
    number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f"{what}: expected a duration like 1s, 1m, 1h or a number of seconds, got {value!r}")
    if isinstance(value, (int, float)):
        ns = round(value * 1_000_000_000)
    elif isinstance(value, str):
        text = value.strip().lower()
        digits = text.rstrip("abcdefghijklmnopqrstuvwxyz")
        unit = text[len(digits) :] or "s"
        if unit not in _UNITS_NS or not digits:
            raise ValueError(
                f"{what}: {value!r} is not a duration "
                "(a number and one of ns, us, ms, s, m, h, d: 1s, 1m, 1h)"
            )
        try:
            amount = Decimal(digits)
        except InvalidOperation:
            raise ValueError(f"{what}: {value!r} is not a duration") from None
        ns = int(amount * _UNITS_NS[unit])
    else:
        raise ValueError(f"{what}: expected a duration like 1s, 1m, 1h, got {value!r}")
    if ns <= 0:
        raise ValueError(f"{what}: {value!r} must be longer than zero")
    return ns


def duration_name(ns: int) -> str:
    """The shortest exact name of a duration: 1s, 1m, 1h, 1d, 250ms."""
    for unit in ("d", "h", "m", "s", "ms", "us"):
        if ns % _UNITS_NS[unit] == 0:
            return f"{ns // _UNITS_NS[unit]}{unit}"
    return f"{ns}ns"


class StatisticsSettings(_Strict):
    """Statistics by period (README "Statistics"; schema in docs/statistics.md): kept by each
    worker for its own books, stored in SQLite by a background thread."""

    enabled: bool = False
    #: Periods, e.g. ``[1s, 1m, 1h]``: aligned to clock boundaries of the engine's
    #: timestamps; each a whole multiple of the shortest.
    periods: tuple[str, ...] = ("1s", "1m")
    #: Directory of the SQLite database ``statistics.sqlite3`` (and the Parquet export).
    directory: str = "stats"
    #: How often the background thread drains closed rows into the database and sends the
    #: period-close ticks.
    flush_seconds: float = Field(default=1.0, gt=0, le=3600)
    #: How long rows of each period are kept, e.g. ``{1s: 1d, 1m: 30d}`` (by engine time,
    #: from the newest row of that period); periods not listed are kept.
    retention: dict[str, str] = Field(default_factory=dict)
    #: Levels per side summed into each row's closing depth.
    depth_levels: int = Field(default=5, ge=1, le=1000)
    #: Store one row per price level active in a period.
    levels: bool = True
    #: Send each symbol a period-close tick at every boundary of the shortest period (wall
    #: clock), so quiet symbols get their rows; the tick goes through the queue and the
    #: journal like every command. Off for streams with their own (simulated) timestamps.
    close_quiet_periods: bool = True
    #: ``parquet``: also write one Parquet file per table, period and day (needs pyarrow).
    export: Optional[Literal["parquet"]] = None
    #: Closed rows the engine holds for the background thread; rows beyond are dropped and
    #: counted (``rows_dropped``), matching never waits.
    queue_capacity: int = Field(default=1 << 16, ge=16, le=1 << 24)

    @field_validator("periods", mode="before")
    @classmethod
    def _periods(cls, v: object) -> tuple[str, ...]:
        if isinstance(v, (str, int, float)):
            v = [v]
        if not isinstance(v, (list, tuple)) or not v:
            raise ValueError("expected a list of durations like [1s, 1m, 1h]")
        names = []
        for i, p in enumerate(v):
            names.append(duration_name(parse_duration(p, f"[{i}]")))
        ns = [parse_duration(n) for n in names]
        for i in range(1, len(ns)):
            if ns[i] <= ns[i - 1]:
                raise ValueError(
                    f"[{i}]: {names[i]} must be longer than {names[i - 1]} (shortest first, once each)"
                )
            if ns[i] % ns[0]:
                raise ValueError(
                    f"[{i}]: {names[i]} is not a whole multiple of the shortest period {names[0]} "
                    "(longer periods are built from the shortest's rows)"
                )
        return tuple(names)

    @field_validator("retention", mode="before")
    @classmethod
    def _retention(cls, v: object) -> dict[str, str]:
        if v is None:
            return {}
        if not isinstance(v, dict):
            raise ValueError("expected a mapping of period to duration, e.g. {1s: 1d, 1m: 30d}")
        out = {}
        for k, d in v.items():
            key = duration_name(parse_duration(k, f"{k}"))
            out[key] = duration_name(parse_duration(d, f"{k}"))
        return out

    @model_validator(mode="after")
    def _retention_periods(self) -> StatisticsSettings:
        for k in self.retention:
            if k not in self.periods:
                raise ValueError(f"retention.{k}: not one of the configured periods {list(self.periods)}")
        return self

    def period_ns(self) -> list[tuple[str, int]]:
        """The periods as ``(name, nanoseconds)``, shortest first."""
        return [(p, parse_duration(p)) for p in self.periods]

    def to_engine_dict(self) -> dict[str, Any]:
        """The engine's part of the section."""
        return {
            "periods": self.period_ns(),
            "depth_levels": self.depth_levels,
            "levels": self.levels,
            "queue_capacity": self.queue_capacity,
        }


class GatewaySession(_Strict):
    """One FIX session that may log on."""

    #: The client's SenderCompID (49).
    sender_comp_id: str = Field(min_length=1, max_length=64)
    #: Ours: the client's TargetCompID (56).
    target_comp_id: str = Field(default="LFT", min_length=1, max_length=64)
    #: Password (554) the client must send at Logon (None: none asked).
    password: Optional[str] = None
    #: HeartBtInt (108) accepted, seconds: [min, max].
    heartbeat_range: tuple[int, int] = (1, 120)

    @model_validator(mode="after")
    def _range(self) -> GatewaySession:
        lo, hi = self.heartbeat_range
        if not 1 <= lo <= hi <= 3600:
            raise ValueError(f"heartbeat_range: {list(self.heartbeat_range)} must be 1 <= min <= max <= 3600")
        return self


class GatewaySettings(_Strict):
    """The FIX 4.4 acceptor started by the daemon (docs/fix.md)."""

    enabled: bool = False
    #: host:port; loopback unless you say otherwise.
    listen: str = "127.0.0.1:9878"
    #: The sessions that may log on.
    sessions: tuple[GatewaySession, ...] = ()
    #: Bytes of one message at most; a longer declared length closes the connection.
    max_message_bytes: int = Field(default=64 * 1024, ge=256, le=16 << 20)
    #: Fields of one message at most.
    max_fields: int = Field(default=512, ge=16, le=100_000)
    #: Open connections at most.
    max_connections: int = Field(default=64, ge=1, le=100_000)
    #: A connection must log on within this (slowloris).
    logon_timeout_seconds: float = Field(default=5.0, gt=0, le=3600)
    #: Messages per second one session may send; beyond, it is logged out.
    max_messages_per_second: int = Field(default=100_000, ge=1)
    #: Where sessions' sequence numbers are kept across restarts (default: `fix-sessions`
    #: in the journal's directory when the journal is on; otherwise not kept).
    state_directory: Optional[str] = None

    @model_validator(mode="after")
    def _sessions(self) -> GatewaySettings:
        if self.enabled and not self.sessions:
            raise ValueError("sessions: an enabled gateway needs at least one session")
        seen = set()
        for i, s in enumerate(self.sessions):
            key = (s.sender_comp_id, s.target_comp_id)
            if key in seen:
                raise ValueError(f"sessions[{i}]: {key} is configured twice")
            seen.add(key)
        return self

    def to_engine_dict(self) -> dict[str, Any]:
        """The plain dict the Rust gateway is built from."""
        d = self.model_dump(exclude={"enabled"})
        d["sessions"] = [dict(x) for x in d["sessions"]]
        return d


class AdminSettings(_Strict):
    """The HTTP admin API started by the daemon: ``/health``, ``/symbols``,
    ``/book/{symbol}``, ``/metrics`` (docs/admin.md)."""

    enabled: bool = False
    #: host:port; loopback unless you say otherwise.
    listen: str = "127.0.0.1:8080"
    #: Open connections at most; more are accepted and closed at once.
    max_connections: int = Field(default=32, ge=1, le=10_000)
    #: Bytes of one request head (request line and header fields) at most; beyond: 431.
    max_head_bytes: int = Field(default=8192, ge=256, le=1 << 20)
    #: Header fields of one request at most; beyond: 431.
    max_headers: int = Field(default=64, ge=1, le=10_000)
    #: A connection must send a whole request head within this of opening or of its previous
    #: response, and read each response within it; otherwise it is closed (slowloris).
    request_timeout_seconds: float = Field(default=5.0, gt=0, le=3600)
    #: Requests one keep-alive connection may make; the last is answered with Connection: close.
    max_requests_per_connection: int = Field(default=1000, ge=1, le=1_000_000)
    #: Largest ``depth`` ``/book/{symbol}`` accepts.
    max_depth: int = Field(default=1000, ge=1, le=100_000)

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        host, sep, port = v.rpartition(":")
        bracketed = host.startswith("[") and host.endswith("]")
        try:
            ip = ipaddress.ip_address(host[1:-1] if bracketed else host)
        except ValueError:
            ip = None
        if not sep or ip is None or (ip.version == 6) != bracketed or not port.isdigit() or int(port) > 65535:
            raise ValueError(f"{v!r} is not host:port (an IP address and a port: 127.0.0.1:8080, [::1]:8080)")
        return v

    def to_engine_dict(self) -> dict[str, Any]:
        """The plain dict the Rust admin server is built from."""
        return self.model_dump(exclude={"enabled"})


class Config(_Strict):
    """The whole configuration file."""

    symbols: tuple[SymbolConfig, ...]
    engine: EngineSettings = Field(default_factory=EngineSettings)
    memory: MemorySettings = Field(default_factory=MemorySettings)
    book: BookSettings = Field(default_factory=BookSettings)
    snapshots: SnapshotSettings = Field(default_factory=SnapshotSettings)
    journal: JournalSettings = Field(default_factory=JournalSettings)
    statistics: StatisticsSettings = Field(default_factory=StatisticsSettings)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    admin: AdminSettings = Field(default_factory=AdminSettings)

    @field_validator("symbols")
    @classmethod
    def _some_symbols(cls, v: tuple[SymbolConfig, ...]) -> tuple[SymbolConfig, ...]:
        if not v:
            raise ValueError("at least one symbol is needed")
        return v

    @model_validator(mode="after")
    def _cross_checks(self) -> Config:
        seen: dict[str, int] = {}
        for i, s in enumerate(self.symbols):
            if s.name in seen:
                raise ValueError(f"symbols[{i}].name: {s.name!r} is already symbols[{seen[s.name]}]")
            seen[s.name] = i
            workers = min(self.engine.worker_threads(), len(self.symbols))
            if s.worker is not None and s.worker >= workers:
                raise ValueError(
                    f"symbols[{s.name}].worker: {s.worker} is out of range: the system runs {workers} "
                    f"worker(s) (engine.threads = {self.engine.threads}, at most one per symbol)"
                )
        return self

    # ------------------------------------------------------------------ loading

    @classmethod
    def from_dict(cls, raw: object) -> Config:
        """Validate a parsed YAML document; raises :class:`InvalidConfig` naming the key."""
        if not isinstance(raw, dict):
            raise InvalidConfig(f"config: expected a mapping at the top level, got {type(raw).__name__}")
        try:
            return cls.model_validate(raw)
        except ValidationError as e:
            raise InvalidConfig(_explain(e, raw)) from None

    @classmethod
    def from_yaml(cls, path: Union[str, Path]) -> Config:
        """Read and validate a YAML file."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as e:
            raise InvalidConfig(f"cannot read config file {str(path)!r}: {e.strerror}") from None
        except UnicodeDecodeError as e:
            raise InvalidConfig(f"config file {str(path)!r} is not UTF-8 text (byte {e.start})") from None
        try:
            raw = yaml.safe_load(text)
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
            context = e.context
            if context and e.context_mark is not None and mark is not e.context_mark:
                context += f" started at line {e.context_mark.line + 1}"
            what = ", ".join(p for p in (context, e.problem) if p) or "syntax error"
            raise InvalidConfig(f"{where}: not valid YAML: {what}") from None
        except yaml.YAMLError as e:
            raise InvalidConfig(f"{path}: not valid YAML: {e}") from None
        return cls.from_dict(raw)

    # ------------------------------------------------------------------ use

    def symbol(self, name: Optional[str] = None) -> SymbolConfig:
        """A configured symbol (default: the first)."""
        if name is None:
            return self.symbols[0]
        for s in self.symbols:
            if s.name == name:
                return s
        raise InvalidConfig(f"symbol {name!r} is not configured")

    def make_book(self, symbol: Optional[str] = None) -> OrderBook:
        """A fresh stand-alone book for `symbol` (default: the first configured symbol)."""
        chosen = self.symbol(symbol)
        return OrderBook(
            chosen.name,
            tick_size=chosen.tick_size,
            lot_size=chosen.lot_size,
            retain_empty_levels=self.book.retain_empty_levels,
        )

    def to_engine_dict(self) -> dict[str, Any]:
        """The plain dict the Rust ``TradingSystem`` is built from."""
        symbols = []
        for s in self.symbols:
            capacity = (
                s.order_pool_capacity
                if s.order_pool_capacity is not None
                else self.memory.order_pool_capacity
            )
            symbols.append(
                {
                    "name": s.name,
                    "tick_size": str(s.tick_size),
                    "lot_size": str(s.lot_size),
                    "retain_empty_levels": self.book.retain_empty_levels,
                    "order_capacity": capacity,
                    "max_orders": None if self.memory.pool_growth else capacity,
                    "worker": s.worker,
                    "weight": s.weight,
                    "price_min": str(s.price_band.min) if s.price_band else None,
                    "price_max": str(s.price_band.max) if s.price_band else None,
                }
            )
        e = self.engine
        j, sn = self.journal, self.snapshots
        # Every key of the two sections but `enabled` goes to the engine as it is.
        journal = j.model_dump(exclude={"enabled"}) if j.enabled else None
        snapshots = sn.model_dump(exclude={"enabled"}) if sn.enabled else None
        statistics = self.statistics.to_engine_dict() if self.statistics.enabled else None
        return {
            "journal": journal,
            "snapshots": snapshots,
            "statistics": statistics,
            "symbols": symbols,
            "engine": {
                "threads": e.worker_threads(),
                "batch_size": e.batch_size,
                "queue_capacity": e.queue_capacity,
                "on_full": e.on_full,
                "pin_threads": e.pin_threads,
                "event_capacity": e.event_capacity,
            },
        }


def _where(loc: tuple[Union[int, str], ...], raw: object = None) -> str:
    """`symbols[BTC-USD].tick_size`: list items by their `name` (or `symbol`, or
    `sender_comp_id`) where the input has one, else by index."""
    out = ""
    node = raw
    for part in loc:
        if isinstance(part, int):
            item = node[part] if isinstance(node, (list, tuple)) and 0 <= part < len(node) else None
            label = _item_label(item)
            out += f"[{label}]" if label is not None else f"[{part}]"
            node = item
        else:
            out += ("." if out else "") + str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out or "config"


def _item_label(item: object) -> Optional[str]:
    if not isinstance(item, dict):
        return None
    for key in ("name", "symbol", "sender_comp_id"):
        value = item.get(key)
        if isinstance(value, str) and value.strip() and not any(c in value for c in "[]."):
            return value
    return None


def _model_at(loc: tuple[Union[int, str], ...]) -> Optional[type[BaseModel]]:
    """The settings model that the key at `loc` belongs to (for "did you mean")."""
    model: Optional[type[BaseModel]] = Config
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part)
        model = _inner_model(field.annotation) if field is not None else None
    return model


def _inner_model(annotation: object) -> Optional[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _did_you_mean(loc: tuple[Union[int, str], ...]) -> str:
    if not loc or not isinstance(loc[-1], str):
        return ""
    model = _model_at(loc[:-1])
    if model is None:
        return ""
    known = list(model.model_fields)
    close = difflib.get_close_matches(loc[-1], known, n=1, cutoff=0.6)
    if close:
        return f": did you mean {close[0]!r}?"
    return f" (known keys: {', '.join(known)})"


def _explain(e: ValidationError, raw: object = None) -> str:
    """One line per problem, each naming its key."""
    lines = []
    for err in e.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if p not in ("function-after[_ordered(), PriceBand]",))
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key" + _did_you_mean(loc)
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        key = _where(loc, raw)
        # Cross-field checks name their key inside the message.
        if msg.startswith("symbols[") and key == "config":
            lines.append(msg)
        else:
            lines.append(f"{key}: {msg}")
    return "; ".join(lines)
