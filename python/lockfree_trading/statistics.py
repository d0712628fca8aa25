"""Statistics by period: the SQLite store, the background recorder and the reader.

The engine's workers keep the statistics of their own books (no lock on the order path)
and hand each closed period's rows to a bounded queue. The :class:`StatisticsRecorder`
thread started by :class:`~lockfree_trading.TradingSystem` drains that queue every
``statistics.flush_seconds`` into ``statistics.sqlite3`` (WAL mode, one transaction per
flush) and sends every symbol a period-close tick at each boundary, so quiet symbols get
their rows. :class:`Statistics` reads the store as pandas DataFrames.

A crash loses at most the rows not yet flushed: the periods still open, and the rows of
the last ``flush_seconds``. A row whose ``complete`` is 0 does not cover its whole period
(the system started after a recovery, or stopped, inside it); a later row for the same
period is added to it. The schema is documented in ``docs/statistics.md``.
"""

from __future__ import annotations

import datetime as _dt
import sqlite3
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Union

from .errors import CorruptData, InvalidConfig, StorageError, TradingError, UnknownSymbol

if TYPE_CHECKING:  # pragma: no cover
    from . import _core
    from .config import StatisticsSettings

__all__ = [
    "DB_NAME",
    "SCHEMA_VERSION",
    "Statistics",
    "StatisticsRecorder",
    "StatisticsStore",
]

#: File name of the database inside ``statistics.directory``.
DB_NAME = "statistics.sqlite3"
#: Version of the schema below (stored in the ``meta`` table).
SCHEMA_VERSION = 1

TimeLike = Union[None, int, str, _dt.datetime, Any]

# (column, SQL type, how two rows for the same key combine: the parts of a period split by a
# stop and a recovery)
_KEYS_BOOK = [("symbol", "TEXT", "key"), ("period", "TEXT", "key"), ("start_ns", "INTEGER", "key")]
BOOK_COLUMNS: list[tuple[str, str, str]] = [
    *_KEYS_BOOK,
    ("period_ns", "INTEGER", "last"),
    ("complete", "INTEGER", "complete"),
    ("covered_from", "INTEGER", "min"),
    ("covered_to", "INTEGER", "max"),
    ("open", "REAL", "first"),
    ("high", "REAL", "max"),
    ("low", "REAL", "min"),
    ("close", "REAL", "last_known"),
    ("volume", "REAL", "sum"),
    ("notional", "REAL", "sum"),
    ("trades", "INTEGER", "sum"),
    ("buy_volume", "REAL", "sum"),
    ("sell_volume", "REAL", "sum"),
    ("orders_added", "INTEGER", "sum"),
    ("orders_cancelled", "INTEGER", "sum"),
    ("orders_modified", "INTEGER", "sum"),
    ("orders_expired", "INTEGER", "sum"),
    ("rejected", "INTEGER", "sum"),
    ("messages", "INTEGER", "sum"),
    ("best_bid", "REAL", "last"),
    ("bid_size", "REAL", "last"),
    ("best_ask", "REAL", "last"),
    ("ask_size", "REAL", "last"),
    ("spread_time", "REAL", "sum"),
    ("two_sided_ns", "INTEGER", "sum"),
    ("bid_size_time", "REAL", "sum"),
    ("bid_ns", "INTEGER", "sum"),
    ("ask_size_time", "REAL", "sum"),
    ("ask_ns", "INTEGER", "sum"),
    ("bid_depth", "REAL", "last"),
    ("ask_depth", "REAL", "last"),
    ("resting_orders", "INTEGER", "last"),
    ("bid_levels", "INTEGER", "last"),
    ("ask_levels", "INTEGER", "last"),
]
LEVEL_COLUMNS: list[tuple[str, str, str]] = [
    *_KEYS_BOOK,
    ("side", "TEXT", "key"),
    ("price", "REAL", "key"),
    ("orders_added", "INTEGER", "sum"),
    ("orders_cancelled", "INTEGER", "sum"),
    ("orders_expired", "INTEGER", "sum"),
    ("orders_filled", "INTEGER", "sum"),
    ("quantity_executed", "REAL", "sum"),
    ("trades", "INTEGER", "sum"),
    ("queue_wait_ns", "INTEGER", "sum"),
    ("quantity", "REAL", "last"),
    ("order_count", "INTEGER", "last"),
]
REJECT_COLUMNS: list[tuple[str, str, str]] = [
    *_KEYS_BOOK,
    ("reason", "TEXT", "key"),
    ("count", "INTEGER", "sum"),
]
WORKER_COLUMNS: list[tuple[str, str, str]] = [
    ("worker", "INTEGER", "key"),
    ("period", "TEXT", "key"),
    ("start_ns", "INTEGER", "key"),
    ("period_ns", "INTEGER", "last"),
    ("complete", "INTEGER", "complete"),
    ("covered_from", "INTEGER", "min"),
    ("covered_to", "INTEGER", "max"),
    ("commands", "INTEGER", "sum"),
    ("envelopes", "INTEGER", "sum"),
    ("latency_count", "INTEGER", "sum"),
    ("latency_mean_ns", "REAL", "mean"),
    ("latency_p50_ns", "INTEGER", "larger"),
    ("latency_p90_ns", "INTEGER", "larger"),
    ("latency_p99_ns", "INTEGER", "larger"),
    ("latency_p999_ns", "INTEGER", "larger"),
    ("latency_max_ns", "INTEGER", "max"),
    ("queue_depth_max", "INTEGER", "max"),
    ("events_published", "INTEGER", "sum"),
    ("events_lost", "INTEGER", "sum"),
    ("journal_bytes", "INTEGER", "sum"),
    ("journal_records", "INTEGER", "sum"),
    ("journal_syncs", "INTEGER", "sum"),
    ("journal_sync_ns", "INTEGER", "sum"),
    ("snapshots", "INTEGER", "sum"),
    ("snapshot_capture_max_ns", "INTEGER", "max"),
    ("rows_dropped", "INTEGER", "sum"),
]
TABLES: dict[str, list[tuple[str, str, str]]] = {
    "book_bars": BOOK_COLUMNS,
    "level_stats": LEVEL_COLUMNS,
    "book_rejects": REJECT_COLUMNS,
    "worker_stats": WORKER_COLUMNS,
}


def _merge_expr(table: str, column: str, how: str) -> str:
    old, new = f"{table}.{column}", f"excluded.{column}"
    return {
        "sum": f"COALESCE({old}, 0) + COALESCE({new}, 0)",
        "first": f"COALESCE({old}, {new})",
        "last": new,
        "last_known": f"COALESCE({new}, {old})",
        "max": f"CASE WHEN {old} IS NULL THEN {new} WHEN {new} IS NULL THEN {old} ELSE MAX({old}, {new}) END",
        "min": f"CASE WHEN {old} IS NULL THEN {new} WHEN {new} IS NULL THEN {old} ELSE MIN({old}, {new}) END",
        # Whole once the two parts together cover the period.
        "complete": (
            f"CASE WHEN MIN({table}.covered_from, excluded.covered_from) <= {table}.start_ns "
            f"AND MAX({table}.covered_to, excluded.covered_to) >= {table}.start_ns + {table}.period_ns "
            "THEN 1 ELSE 0 END"
        ),
        "mean": (
            f"COALESCE(({old} * {table}.latency_count + {new} * excluded.latency_count) "
            f"/ NULLIF({table}.latency_count + excluded.latency_count, 0), 0)"
        ),
        "larger": f"CASE WHEN excluded.latency_count >= {table}.latency_count THEN {new} ELSE {old} END",
    }[how]


def _upsert_sql(table: str, columns: list[tuple[str, str, str]]) -> str:
    """INSERT of one row, combined column by column with a row already stored for the key
    (the caller deletes a row that is to be replaced first; see ``docs/statistics.md``)."""
    names = [c for c, _, _ in columns]
    keys = [c for c, _, how in columns if how == "key"]
    sets = [f"{c} = {_merge_expr(table, c, how)}" for c, _, how in columns if how != "key"]
    return (
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {', '.join(sets)}"
    )


def _schema_sql() -> list[str]:
    out = ["CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"]
    for table, columns in TABLES.items():
        cols = ", ".join(f"{c} {t}" + (" NOT NULL" if how == "key" else "") for c, t, how in columns)
        keys = ", ".join(c for c, _, how in columns if how == "key")
        out.append(f"CREATE TABLE IF NOT EXISTS {table} ({cols}, PRIMARY KEY ({keys}))")
        out.append(f"CREATE INDEX IF NOT EXISTS {table}_by_start ON {table} (period, start_ns)")
    return out


def _to_ns(t: TimeLike, what: str) -> Optional[int]:
    """Nanoseconds since the Unix epoch from None, int ns, an ISO string, a datetime (naive
    means UTC) or a pandas Timestamp."""
    if t is None:
        return None
    if isinstance(t, bool):
        raise InvalidConfig(f"{what}: expected a time, got {t!r}")
    if isinstance(t, int):
        return t
    value = getattr(t, "value", None)  # pandas.Timestamp
    if isinstance(value, int) and hasattr(t, "tz_localize"):
        return value
    if isinstance(t, str):
        try:
            t = _dt.datetime.fromisoformat(t)
        except ValueError:
            raise InvalidConfig(f"{what}: {t!r} is not an ISO date or time") from None
    if isinstance(t, _dt.datetime):
        if t.tzinfo is None:
            t = t.replace(tzinfo=_dt.timezone.utc)
        delta = t - _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
    raise InvalidConfig(
        f"{what}: expected int nanoseconds, an ISO string or a datetime, got {type(t).__name__}"
    )


class StatisticsStore:
    """The SQLite database of one statistics directory.

    Writes come from one thread (the recorder); reads may come from any thread (each read
    opens its own short-lived connection, so readers never block the writer in WAL mode).
    """

    def __init__(self, directory: Union[str, Path], *, readonly: bool = False) -> None:
        self.directory = Path(directory)
        self.path = self.directory / DB_NAME
        self.readonly = readonly
        self._upserts = {t: _upsert_sql(t, c) for t, c in TABLES.items()}
        self._conn: Optional[sqlite3.Connection] = None
        if readonly:
            if not self.path.exists():
                raise StorageError(f"{self.path}: no statistics database here (statistics.directory)")
            probe = self._connect()
            try:
                self._check(probe)
            finally:
                probe.close()
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StorageError(
                f"statistics.directory: cannot create {self.directory}: {e.strerror}"
            ) from None
        conn = self._connect()
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            with conn:
                for stmt in _schema_sql():
                    conn.execute(stmt)
                conn.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
        except sqlite3.DatabaseError as e:
            conn.close()
            raise self._error(e, "cannot open") from None
        try:
            self._check(conn)
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _connect(self) -> sqlite3.Connection:
        try:
            uri = f"file:{self.path}?mode=ro" if self.readonly else f"file:{self.path}"
            return sqlite3.connect(uri, uri=True, timeout=0.5, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as e:
            raise self._error(e, "cannot open") from None

    def _error(self, e: sqlite3.Error, doing: str) -> TradingError:
        text = str(e)
        if "not a database" in text or "malformed" in text or "corrupt" in text:
            return CorruptData(
                f"{self.path}: {doing} the statistics database: {text} "
                "(move the file away to start a new one)"
            )
        return StorageError(f"{self.path}: {doing} the statistics database: {text}")

    def _check(self, conn: sqlite3.Connection) -> None:
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.DatabaseError as e:
            raise self._error(e, "cannot read") from None
        if row is None or int(row[0]) != SCHEMA_VERSION:
            found = row[0] if row else "none"
            raise CorruptData(
                f"{self.path}: statistics schema version {found}, this release reads {SCHEMA_VERSION}"
            )

    # ------------------------------------------------------------------ writing

    def write(self, rows: Iterable[dict[str, Any]]) -> int:
        """Store drained rows in one transaction; returns the number of period rows."""
        conn = self._conn
        if conn is None:
            raise StorageError(f"{self.path}: opened read-only")
        n = 0
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for r in rows:
                    n += 1
                    if r["kind"] == "book":
                        self._write_book(conn, r)
                    else:
                        key = (r["worker"], r["period"], r["start"])
                        where = "worker = ? AND period = ? AND start_ns = ?"
                        if self._replaces(conn, "worker_stats", where, key, r):
                            conn.execute(f"DELETE FROM worker_stats WHERE {where}", key)
                        conn.execute(
                            self._upserts["worker_stats"], [_sql(r, c) for c, _, _ in WORKER_COLUMNS]
                        )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as e:
            raise self._error(e, "cannot write") from None
        return n

    @staticmethod
    def _replaces(
        conn: sqlite3.Connection, table: str, where: str, key: tuple[Any, ...], r: dict[str, Any]
    ) -> bool:
        """Whether `r` replaces the row stored for its key instead of adding to it: it does
        when both are complete, or when their coverage overlaps (the same commands run again,
        e.g. a simulation replayed into the same store). The two parts of a period split by a
        stop and a recovery cover disjoint times, and add up."""
        old = conn.execute(f"SELECT complete, covered_to FROM {table} WHERE {where}", key).fetchone()
        if old is None:
            return False
        return bool(old[0] and r["complete"]) or r["covered_from"] < old[1]

    def _write_book(self, conn: sqlite3.Connection, r: dict[str, Any]) -> None:
        key = (r["symbol"], r["period"], r["start"])
        where = "symbol = ? AND period = ? AND start_ns = ?"
        if self._replaces(conn, "book_bars", where, key, r):
            for table in ("book_bars", "level_stats", "book_rejects"):
                conn.execute(f"DELETE FROM {table} WHERE {where}", key)
        conn.execute(self._upserts["book_bars"], [_sql(r, c) for c, _, _ in BOOK_COLUMNS])
        for reason, count in r["rejects"].items():
            conn.execute(self._upserts["book_rejects"], (*key, reason, count))
        if r["levels"]:
            conn.executemany(
                self._upserts["level_stats"],
                [(*key, *(_sql(lv, c) for c, _, _ in LEVEL_COLUMNS[3:])) for lv in r["levels"]],
            )

    def apply_retention(self, keep_ns: dict[str, int]) -> int:
        """Delete rows of each listed period older than its retention, counted back from the
        newest row of that period (engine time). Returns the rows deleted."""
        conn = self._conn
        if conn is None or not keep_ns:
            return 0
        deleted = 0
        try:
            with conn:
                for period, keep in keep_ns.items():
                    for table in TABLES:
                        # Levels and rejects go with their bars (the bars' newest row counts).
                        newest = "worker_stats" if table == "worker_stats" else "book_bars"
                        cur = conn.execute(
                            f"DELETE FROM {table} WHERE period = ? AND start_ns < "
                            f"(SELECT MAX(start_ns) FROM {newest} WHERE period = ?) - ?",
                            (period, period, keep),
                        )
                        deleted += max(cur.rowcount, 0)
        except sqlite3.Error as e:
            raise self._error(e, "cannot apply retention to") from None
        return deleted

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # ------------------------------------------------------------------ reading

    def query(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run a read-only query on a connection of its own: (column names, rows)."""
        try:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=2.0)
        except sqlite3.Error as e:
            raise self._error(e, "cannot open") from None
        try:
            cur = conn.execute(sql, tuple(params))
            names = [d[0] for d in cur.description or ()]
            return names, cur.fetchall()
        except sqlite3.Error as e:
            raise self._error(e, "cannot read") from None
        finally:
            conn.close()


def _sql(row: dict[str, Any], column: str) -> Any:
    if column == "start_ns":
        return row["start"]
    v = row.get(column)
    return int(v) if isinstance(v, bool) else v


class StatisticsRecorder:
    """The background thread of a running system's statistics: drains closed rows into the
    store every ``flush_seconds``, applies retention, exports Parquet, and ticks every symbol
    at each boundary of the shortest period (``close_quiet_periods``). Errors of the store
    (a locked or full disk) are reported once on stderr and kept in :attr:`last_error`;
    rows wait (bounded by the engine's queue) and matching never stops."""

    def __init__(
        self, core: _core.TradingSystem, settings: StatisticsSettings, store: StatisticsStore
    ) -> None:
        from .config import parse_duration

        self._core = core
        self.symbols: list[str] = list(core.symbols)
        self.settings = settings
        self.store = store
        self._shortest_ns = settings.period_ns()[0][1]
        self._keep = {p: parse_duration(d) for p, d in settings.retention.items()}
        self._stop = threading.Event()
        self._lock = threading.Lock()  # one flush at a time (thread, flush(), stop())
        self._pending: list[dict[str, Any]] = []
        self._last_tick = 0
        self.rows_written = 0
        self.flushes = 0
        self.last_error: Optional[str] = None
        self._exporter = _ParquetExporter(store.directory) if settings.export == "parquet" else None
        self._thread = threading.Thread(target=self._run, name="lft-statistics", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        flush_every = self.settings.flush_seconds
        next_flush = time.monotonic() + flush_every
        while not self._stop.is_set():
            now_ns = time.time_ns()
            wait = next_flush - time.monotonic()
            if self.settings.close_quiet_periods:
                # Wake just after the next boundary of the shortest period.
                to_boundary = (self._shortest_ns - now_ns % self._shortest_ns) / 1e9 + 0.002
                wait = min(wait, to_boundary)
            if self._stop.wait(max(wait, 0.0)):
                break
            if self.settings.close_quiet_periods:
                self._tick()
            if time.monotonic() >= next_flush:
                self.flush()
                next_flush = time.monotonic() + flush_every

    def _tick(self) -> None:
        boundary = time.time_ns() // self._shortest_ns * self._shortest_ns
        if boundary <= self._last_tick:
            return
        self._last_tick = boundary
        for symbol in self._core.symbols:
            try:
                self._core.close_periods(symbol)
            except TradingError:
                pass  # closed or halted: nothing to close

    def flush(self) -> int:
        """Drain what the engine holds into the store now; returns the rows written."""
        with self._lock:
            self._pending.extend(self._core.drain_statistics())
            if not self._pending:
                return 0
            try:
                n = self.store.write(self._pending)
                if self._keep:
                    self.store.apply_retention(self._keep)
                if self._exporter is not None:
                    self._exporter.note(self._pending)
            except TradingError as e:
                if self.last_error is None:
                    print(f"lockfree-trading: statistics not stored (will retry): {e}", file=sys.stderr)
                self.last_error = str(e)
                # Keep them for the next try, within the engine's own queue bound.
                del self._pending[: max(0, len(self._pending) - self.settings.queue_capacity)]
                return 0
            self._pending.clear()
            self.last_error = None
            self.rows_written += n
            self.flushes += 1
            if self._exporter is not None:
                self._exporter.export_closed_days(self.store)
            return n

    def stop(self) -> None:
        """Stop the thread, then store what is left (call after the engine has shut down, so
        the rows it flushed at its stop are stored too)."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join()
        self.flush()
        if self._exporter is not None:
            try:
                self._exporter.export_all(self.store)
            except TradingError as e:
                print(f"lockfree-trading: statistics Parquet export failed: {e}", file=sys.stderr)
        self.store.close()


class _ParquetExporter:
    """One Parquet file per table, period and day (UTC, by period start):
    ``parquet/{table}/period={p}/date={YYYY-MM-DD}/part-0.parquet``. A day's file is written
    once a row of a later day exists, and at stop; a rewrite replaces it whole."""

    def __init__(self, directory: Path) -> None:
        try:
            import pyarrow  # type: ignore[import-untyped, unused-ignore]  # noqa: F401
        except ImportError:
            raise InvalidConfig(
                "statistics.export: parquet needs pyarrow: pip install 'lockfree-trading[parquet]'"
            ) from None
        self.root = directory / "parquet"
        self._touched: set[tuple[str, int]] = set()
        self._newest: dict[str, int] = {}

    def note(self, rows: list[dict[str, Any]]) -> None:
        for r in rows:
            day = r["start"] // 86_400_000_000_000
            self._touched.add((r["period"], day))
            self._newest[r["period"]] = max(self._newest.get(r["period"], day), day)

    def export_closed_days(self, store: StatisticsStore) -> None:
        for period, day in sorted(self._touched):
            if day < self._newest.get(period, day):
                self._export(store, period, day)
                self._touched.discard((period, day))

    def export_all(self, store: StatisticsStore) -> None:
        for period, day in sorted(self._touched):
            self._export(store, period, day)
        self._touched.clear()

    def _export(self, store: StatisticsStore, period: str, day: int) -> None:
        import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
        import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]

        lo, hi = day * 86_400_000_000_000, (day + 1) * 86_400_000_000_000
        date = _dt.datetime.fromtimestamp(day * 86_400, tz=_dt.timezone.utc).strftime("%Y-%m-%d")
        for table in TABLES:
            names, rows = store.query(
                f"SELECT * FROM {table} WHERE period = ? AND start_ns >= ? AND start_ns < ? "
                "ORDER BY start_ns",
                (period, lo, hi),
            )
            if not rows:
                continue
            target = self.root / table / f"period={period}" / f"date={date}"
            target.mkdir(parents=True, exist_ok=True)
            columns = {n: [r[i] for r in rows] for i, n in enumerate(names)}
            tmp = target / "part-0.parquet.tmp"
            pq.write_table(pa.table(columns), tmp)
            tmp.replace(target / "part-0.parquet")


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise ImportError(
            "statistics as DataFrames need pandas: pip install 'lockfree-trading[analysis]'"
        ) from None
    return pandas


class Statistics:
    """Read the statistics store as pandas DataFrames (index: the period start, a UTC
    DatetimeIndex). Attached to a running system, every read first drains what the
    engine holds, so the frames include every closed period."""

    def __init__(
        self,
        directory: Union[str, Path],
        *,
        periods: Optional[Sequence[str]] = None,
        recorder: Optional[StatisticsRecorder] = None,
    ) -> None:
        self.directory = Path(directory)
        self._recorder = recorder
        self._store = recorder.store if recorder is not None else StatisticsStore(directory, readonly=True)
        self.periods = list(periods) if periods is not None else self._stored_periods()

    def _stored_periods(self) -> list[str]:
        from .config import parse_duration

        _, rows = self._store.query(
            "SELECT DISTINCT period FROM book_bars UNION SELECT DISTINCT period FROM worker_stats"
        )
        return sorted((r[0] for r in rows), key=parse_duration)

    def flush(self) -> int:
        """Store what the engine holds now (a no-op when not attached to a running system)."""
        return self._recorder.flush() if self._recorder is not None else 0

    @property
    def last_error(self) -> Optional[str]:
        """The store's last write error (None once a write succeeds again)."""
        return self._recorder.last_error if self._recorder is not None else None

    def _period(self, period: str) -> str:
        from .config import duration_name, parse_duration

        name = duration_name(parse_duration(period, "period"))
        if self.periods and name not in self.periods:
            raise InvalidConfig(f"period {period!r} is not collected; the periods are {self.periods}")
        return name

    def _symbol(self, symbol: str) -> str:
        if self._recorder is not None and symbol not in self._recorder.symbols:
            raise UnknownSymbol(f"unknown symbol {symbol!r}; the system has {self._recorder.symbols}")
        return symbol

    def _rows(
        self, table: str, where: str, params: list[Any], start: TimeLike, end: TimeLike, order: str
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        self.flush()
        lo, hi = _to_ns(start, "start"), _to_ns(end, "end")
        if lo is not None:
            where += " AND start_ns >= ?"
            params.append(lo)
        if hi is not None:
            where += " AND start_ns < ?"
            params.append(hi)
        return self._store.query(f"SELECT * FROM {table} WHERE {where} ORDER BY {order}", params)

    @staticmethod
    def _frame(names: list[str], rows: list[tuple[Any, ...]]) -> Any:
        pd = _pandas()
        df = pd.DataFrame.from_records(rows, columns=names)
        df.index = pd.to_datetime(df.pop("start_ns"), unit="ns", utc=True)
        df.index.name = "start"
        if "complete" in df:
            df["complete"] = df["complete"].astype(bool)
        return df

    def bars(self, symbol: str, period: str, start: TimeLike = None, end: TimeLike = None) -> Any:
        """One row per period of `symbol`: OHLC, volume, VWAP, trade and order counts, best
        prices and spread at close, time-weighted spread and top-of-book sizes, depth, resting
        orders and levels at close (columns in ``docs/statistics.md``)."""
        p = self._period(period)
        names, rows = self._rows(
            "book_bars", "symbol = ? AND period = ?", [self._symbol(symbol), p], start, end, "start_ns"
        )
        df = self._frame(names, rows)
        nan = float("nan")
        df["vwap"] = (df["notional"] / df["volume"].where(df["volume"] > 0)).astype(float)
        df["spread"] = (df["best_ask"] - df["best_bid"]).astype(float)
        df["twa_spread"] = (df["spread_time"] / df["two_sided_ns"].where(df["two_sided_ns"] > 0)).astype(
            float
        )
        df["twa_bid_size"] = (df["bid_size_time"] / df["bid_ns"].where(df["bid_ns"] > 0)).astype(float)
        df["twa_ask_size"] = (df["ask_size_time"] / df["ask_ns"].where(df["ask_ns"] > 0)).astype(float)
        for c in ("open", "high", "low", "close", "best_bid", "best_ask", "bid_size", "ask_size"):
            df[c] = df[c].astype(float).fillna(nan)
        return df.drop(columns=["symbol", "period"])

    def levels(
        self,
        symbol: str,
        period: str,
        start: TimeLike = None,
        end: TimeLike = None,
        *,
        side: Optional[str] = None,
    ) -> Any:
        """One row per price level active in each period: orders added, cancelled, expired
        and filled, quantity executed, trades, mean queue wait of the filled orders, and the
        level's quantity and order count at its last change."""
        p = self._period(period)
        where, params = "symbol = ? AND period = ?", [self._symbol(symbol), p]
        if side is not None:
            where += " AND side = ?"
            params.append(str(side).lower())
        names, rows = self._rows("level_stats", where, params, start, end, "start_ns, side, price")
        df = self._frame(names, rows)
        df["mean_queue_wait_ns"] = (
            df["queue_wait_ns"] / df["orders_filled"].where(df["orders_filled"] > 0)
        ).astype(float)
        return df.drop(columns=["symbol", "period"])

    def rejects(self, symbol: str, period: str, start: TimeLike = None, end: TimeLike = None) -> Any:
        """Rejected commands and orders per period, one column per reason."""
        pd = _pandas()
        p = self._period(period)
        names, rows = self._rows(
            "book_rejects", "symbol = ? AND period = ?", [self._symbol(symbol), p], start, end, "start_ns"
        )
        df = self._frame(names, rows)
        if df.empty:
            return pd.DataFrame(index=df.index)
        return df.pivot_table(index=df.index, columns="reason", values="count", aggfunc="sum", fill_value=0)

    def system(self, period: str, start: TimeLike = None, end: TimeLike = None) -> Any:
        """One row per worker and period: commands, latency from enqueue to the worker's
        answer (p50, p90, p99, p99.9, max in ns), queue depth, events published and lost,
        journal bytes and fsyncs, snapshot captures."""
        p = self._period(period)
        names, rows = self._rows("worker_stats", "period = ?", [p], start, end, "start_ns, worker")
        return self._frame(names, rows).drop(columns=["period"])

    def to_arrow(self, table: str = "book_bars") -> Any:
        """A whole table as a pyarrow Table (``book_bars``, ``level_stats``, ``book_rejects``,
        ``worker_stats``)."""
        try:
            import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
        except ImportError:
            raise ImportError("to_arrow needs pyarrow: pip install 'lockfree-trading[parquet]'") from None
        names, rows = self._table(table)
        return pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})

    def to_polars(self, table: str = "book_bars") -> Any:
        """A whole table as a polars DataFrame."""
        try:
            import polars as pl  # type: ignore[import-not-found, unused-ignore]
        except ImportError:
            raise ImportError("to_polars needs polars: pip install polars") from None
        names, rows = self._table(table)
        return pl.DataFrame({n: [r[i] for r in rows] for i, n in enumerate(names)})

    def _table(self, table: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        if table not in TABLES:
            raise InvalidConfig(f"table {table!r}: expected one of {sorted(TABLES)}")
        self.flush()
        return self._store.query(f"SELECT * FROM {table} ORDER BY period, start_ns")

    def summary(self) -> dict[str, Any]:
        """Rows per table and period, and the time span stored."""
        self.flush()
        out: dict[str, Any] = {"directory": str(self.directory), "tables": {}}
        for table in TABLES:
            _, rows = self._store.query(
                f"SELECT period, COUNT(*), MIN(start_ns), MAX(start_ns) FROM {table} GROUP BY period"
            )
            out["tables"][table] = {r[0]: {"rows": r[1], "first": r[2], "last": r[3]} for r in rows}
        _, syms = self._store.query("SELECT DISTINCT symbol FROM book_bars ORDER BY symbol")
        out["symbols"] = [s[0] for s in syms]
        return out

    def _repr_html_(self) -> str:
        from html import escape

        s = self.summary()
        head = "<tr><th>table</th><th>period</th><th>rows</th><th>first</th><th>last</th></tr>"
        body = []
        for table, periods in s["tables"].items():
            for period, info in periods.items():
                first = _dt.datetime.fromtimestamp(info["first"] / 1e9, tz=_dt.timezone.utc).isoformat()
                last = _dt.datetime.fromtimestamp(info["last"] / 1e9, tz=_dt.timezone.utc).isoformat()
                body.append(
                    f"<tr><td>{escape(table)}</td><td>{escape(period)}</td><td>{info['rows']}</td>"
                    f"<td>{escape(first)}</td><td>{escape(last)}</td></tr>"
                )
        if not body:
            body.append('<tr><td colspan="5"><i>no rows yet</i></td></tr>')
        return (
            f"<div><b>Statistics</b> &middot; {escape(s['directory'])} &middot; "
            f"{len(s['symbols'])} symbols<table>{head}{''.join(body)}</table></div>"
        )

    def __repr__(self) -> str:
        return f"Statistics(directory={str(self.directory)!r}, periods={self.periods})"

    # ------------------------------------------------------------------ plots

    def plot_bars(
        self, symbol: str, period: str, start: TimeLike = None, end: TimeLike = None, ax: Any = None
    ) -> Any:
        """Price bars (open-close bodies, high-low wicks) with volume below; returns the
        price Axes."""
        plt = _pyplot()
        df = self.bars(symbol, period, start, end)
        df = df[df["trades"] > 0]
        if ax is None:
            _, (ax, vol) = plt.subplots(
                2, 1, sharex=True, figsize=(9, 5), gridspec_kw={"height_ratios": [3, 1]}
            )
        else:
            vol = ax.twinx()
        width = (df.index[1] - df.index[0]) * 0.7 if len(df) > 1 else _pandas().Timedelta(seconds=0.7)
        up = df["close"] >= df["open"]
        for mask, color in ((up, "tab:green"), (~up, "tab:red")):
            part = df[mask]
            ax.vlines(part.index, part["low"], part["high"], color=color, linewidth=1)
            ax.bar(
                part.index,
                (part["close"] - part["open"]).abs().where(lambda x: x > 0, other=1e-12),
                bottom=part[["open", "close"]].min(axis=1),
                width=width,
                color=color,
            )
        ax.set_title(f"{symbol} {period} bars")
        ax.set_ylabel("price")
        vol.bar(df.index, df["volume"], width=width, color="tab:gray")
        vol.set_ylabel("volume")
        return ax

    def plot_latency(self, period: str, start: TimeLike = None, end: TimeLike = None, ax: Any = None) -> Any:
        """Command latency percentiles (enqueue to answer) over time, per worker; returns the
        Axes."""
        plt = _pyplot()
        df = self.system(period, start, end)
        if ax is None:
            _, ax = plt.subplots(figsize=(9, 4))
        for worker, part in df.groupby("worker"):
            for col, style in (("latency_p50_ns", "-"), ("latency_p99_ns", "--"), ("latency_p999_ns", ":")):
                ax.plot(part.index, part[col] / 1e3, style, label=f"worker {worker} {col[8:-3]}")
        ax.set_yscale("log")
        ax.set_ylabel("latency (µs)")
        ax.set_title(f"command latency by {period}")
        ax.legend(fontsize="small")
        return ax


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plots need matplotlib: pip install 'lockfree-trading[analysis]'") from None
    return plt
