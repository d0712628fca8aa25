"""`TradingSystem`: many symbols, each matched by its own worker thread.

Every method is thread-safe and releases the GIL while the engine works, so Python threads
submitting to different symbols run in parallel. Results are the same objects
:class:`~lockfree_trading.OrderBook` returns; reports also carry ``symbol`` and
``sequence`` (the worker's per-symbol command number).
"""

from __future__ import annotations

import itertools
import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from types import TracebackType
from typing import Any, Optional, Union

from . import _core
from .config import Config
from .errors import InvalidConfig
from .statistics import Statistics, StatisticsRecorder, StatisticsStore

__all__ = ["EventSubscription", "TradingSystem"]

ConfigLike = Union[Config, str, Path, dict[str, Any]]


def _load(config: ConfigLike) -> Config:
    if isinstance(config, Config):
        return config
    if isinstance(config, dict):
        return Config.from_dict(config)
    return Config.from_yaml(config)


class EventSubscription:
    """A callback fed from its own thread with every event of every symbol, in sequence
    order per symbol. A callback slower than the flow misses events (counted in ``lost``)
    rather than slowing the engine. Stop it with :meth:`close` (or use it as a context
    manager)."""

    def __init__(self, subscription: _core.Subscription, callback: Callable[[_core.Event], Any]) -> None:
        self._sub = subscription
        self._callback = callback
        self._stop = threading.Event()
        self.errors: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, name="lft-subscriber", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            first = self._sub.next(0.05)
            if first is None:
                continue
            for event in [first, *self._sub.poll()]:
                try:
                    self._callback(event)
                except BaseException as e:  # keep delivering; the caller can inspect errors
                    self.errors.append(e)

    @property
    def lost(self) -> int:
        """Events overwritten before the callback got to them."""
        return self._sub.lost

    def close(self, drain: bool = True) -> None:
        """Stop the thread; with ``drain``, first deliver what is already published."""
        self._stop.set()
        self._thread.join()
        if drain:
            for event in self._sub.poll(1 << 30):
                try:
                    self._callback(event)
                except BaseException as e:
                    self.errors.append(e)

    def __enter__(self) -> EventSubscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _drain(sub: _core.Subscription, timeout: Optional[float]) -> Iterator[_core.Event]:
    while True:
        event = sub.next(timeout)
        if event is None:
            return
        yield event
        yield from sub.poll()


class TradingSystem:
    """Many order books matched in parallel, configured from :class:`Config`.

    >>> from lockfree_trading import TradingSystem, Side
    >>> with TradingSystem({"symbols": [{"name": "BTC-USD"}], "engine": {"threads": 1}}) as s:
    ...     s.submit("BTC-USD", Side.SELL, quantity=1, price="100.00", timestamp=1).status
    OrderStatus.NEW
    """

    def __init__(self, config: ConfigLike) -> None:
        self.config = _load(config)
        stats = self.config.statistics
        # The store opens first: a database that cannot be used fails the start, before any
        # thread runs (later write errors are reported and retried, never fatal).
        store = StatisticsStore(stats.directory) if stats.enabled else None
        try:
            self._core = _core.TradingSystem(self.config.to_engine_dict())
        except BaseException:
            if store is not None:
                store.close()
            raise
        self._recorder = StatisticsRecorder(self._core, stats, store) if store is not None else None
        self._statistics: Optional[Statistics] = (
            Statistics(stats.directory, periods=list(stats.periods), recorder=self._recorder)
            if self._recorder is not None
            else None
        )
        if self._recorder is not None:
            # A system dropped without shutdown(), or still running at interpreter exit, still
            # stores its last rows (the recorder holds the engine, never this object).
            weakref.finalize(self, _stop_recording, self._core, self._recorder)
        if self._core.recovery is not None:
            print(f"lockfree-trading: {recovery_summary(self._core.recovery)}", file=sys.stderr)
        self._tokens = itertools.count(1)
        self._lock = threading.Lock()  # guards the futures table (Python side only)
        self._futures: dict[int, tuple[Future[Any], _core.PendingReport]] = {}
        self._early: set[int] = set()
        self._completer: Optional[threading.Thread] = None
        self._closed = False
        self._gateways: list[_core.Gateway] = []
        self._admins: list[_core.AdminServer] = []

    # ------------------------------------------------------------------ commands

    def submit(self, symbol: str, side: Any, quantity: Any, price: Any = None, **kwargs: Any) -> Any:
        """Submit a new order and wait for its report (same arguments as
        :meth:`OrderBook.submit`, plus the symbol)."""
        return self._core.submit(symbol, side, quantity, price, **kwargs)

    def submit_async(
        self, symbol: str, side: Any, quantity: Any, price: Any = None, **kwargs: Any
    ) -> Future[Any]:
        """Submit without waiting for the report: a :class:`concurrent.futures.Future` of
        the report (or of the command's error). Returns once the command is queued; with
        ``on_full: block`` and a full queue it first waits for room."""
        token = next(self._tokens)
        future: Future[Any] = Future()
        future.set_running_or_notify_cancel()
        self._ensure_completer()
        pending = self._core.submit_async(token, symbol, side, quantity, price, **kwargs)
        with self._lock:
            completer = self._completer
            if token in self._early:
                self._early.discard(token)
                ready = True
            elif completer is None or not completer.is_alive():
                ready = True  # the completer has already finished (shutdown): answer here
            else:
                self._futures[token] = (future, pending)
                ready = False
        if ready:
            self._resolve(future, pending)
        return future

    def cancel(self, symbol: str, order_id: Any, *, timestamp: Any = None) -> Any:
        """Cancel a resting order."""
        return self._core.cancel(symbol, order_id, timestamp=timestamp)

    def modify(
        self, symbol: str, order_id: Any, quantity: Any = None, price: Any = None, *, timestamp: Any = None
    ) -> Any:
        """Change a resting order's quantity and/or price (see :meth:`OrderBook.modify`)."""
        return self._core.modify(symbol, order_id, quantity, price, timestamp=timestamp)

    def expire(self, symbol: str, now: Any = None) -> Any:
        """Expire the symbol's due GTD orders; returns their updates."""
        return self._core.expire(symbol, now)

    def end_of_day(self, symbol: str, now: Any = None) -> Any:
        """End the trading day for the symbol: DAY orders and due GTD orders expire; returns
        their updates."""
        return self._core.end_of_day(symbol, now)

    def submit_batch(self, symbol: str, side: Any, price: Any, quantity: Any, **kwargs: Any) -> Any:
        """Columnar new orders for one symbol (see :meth:`OrderBook.submit_batch`)."""
        return self._core.submit_batch(symbol, side, price, quantity, **kwargs)

    def replay(self, records: Any, *, chunk: int = 256) -> dict[str, dict[str, int]]:
        """Run a workload stream (numpy records from :mod:`lockfree_trading.workload`, or
        their bytes) through the system: record symbol ``k`` goes to the k-th configured
        symbol. Returns per-symbol totals; ``stopped`` says why a symbol's stream did not
        run to the end (halted symbol, closed system), else None."""
        raw = records if isinstance(records, (bytes, bytearray, memoryview)) else records.tobytes()
        result: dict[str, dict[str, int]] = self._core.replay(bytes(raw), chunk=chunk)
        return result

    # ------------------------------------------------------------------ durability

    def snapshot(self) -> list[dict[str, Any]]:
        """Snapshot every book now, each at a consistent per-symbol command sequence number
        (the worker pauses only to copy the book in memory; the file is written, compressed
        and synced on the snapshot thread). Returns once every file is durable: one dict
        per symbol (``path``, ``command_sequence``, ``bytes``, ``resting_orders``,
        ``capture_seconds``). Needs ``snapshots.enabled``."""
        result: list[dict[str, Any]] = self._core.snapshot()
        return result

    @property
    def recovery(self) -> Optional[dict[str, Any]]:
        """What recovery did at start (symbols, snapshot used, commands replayed, orders,
        seconds, notes), or None if the journal and snapshot directories held nothing."""
        result: Optional[dict[str, Any]] = self._core.recovery
        return result

    def durability_stats(self) -> dict[str, Any]:
        """Journal counters per worker (bytes, records, fsyncs and their latency) and the
        snapshot writer's (files, bytes, longest capture pause, segments deleted)."""
        result: dict[str, Any] = self._core.durability_stats()
        return result

    # ------------------------------------------------------------------ reading

    @property
    def statistics(self) -> Statistics:
        """The statistics store of this system as DataFrames (``statistics.enabled: true``);
        every read first stores what the engine has closed."""
        if self._statistics is None:
            raise InvalidConfig(
                "statistics are not enabled (set statistics.enabled: true in the config; "
                "live per-level counters are always on: book(symbol).level(side, price))"
            )
        return self._statistics

    def close_periods(self, symbol: Optional[str] = None, now: Any = None) -> None:
        """Close the statistics periods that ended by `now` (default: each worker's clock)
        for one symbol or all: a command through each symbol's queue and journal. The
        background thread does this at every boundary (``statistics.close_quiet_periods``);
        call it with the stream's own end time after replaying simulated timestamps."""
        for name in [symbol] if symbol is not None else self.symbols:
            self._core.close_periods(name, now)

    def start_gateway(self) -> _core.Gateway:
        """Start the FIX 4.4 acceptor of `config.gateway` on this system (docs/fix.md);
        stop it with `.stop()` (shutdown() stops it too)."""
        settings = self.config.gateway.to_engine_dict()
        if settings.get("state_directory") is None and self.config.journal.enabled:
            settings["state_directory"] = str(Path(self.config.journal.directory) / "fix-sessions")
        gw = _core.Gateway(self._core, settings)
        self._gateways.append(gw)
        return gw

    def start_admin(self) -> _core.AdminServer:
        """Start the HTTP admin API of `config.admin` on this system (docs/admin.md): health,
        symbols, books as JSON and Prometheus metrics, with the per-session counters of the
        gateway started last by `start_gateway`, if any. Stop it with `.stop()` (shutdown()
        stops it too). It only reads atomics and book readers: it never delays a worker."""
        settings = self.config.admin.to_engine_dict()
        gateway = self._gateways[-1] if self._gateways else None
        server = _core.AdminServer(self._core, settings, gateway)
        self._admins.append(server)
        return server

    def book(self, symbol: str) -> _core.BookView:
        """Read-only view of a symbol's book. ``best_bid``, ``best_ask``, ``sequence`` and
        ``len`` are wait-free (as of the worker's last completed command); ``depth`` and
        ``level`` are lock-free (they retry only if the worker began another update of what
        they were reading). No read waits for the worker or delays it."""
        return self._core.book(symbol)

    def state_hash(self, symbol: str) -> int:
        """Digest of a symbol's book (orders, priorities, sequence), computed by its worker
        after every command queued before this call; blocks until then. Equal to
        ``OrderBook.state_hash()`` of a book that ran the same commands."""
        return self._core.state_hash(symbol)

    def events(self, timeout: Optional[float] = None) -> Iterator[_core.Event]:
        """Every event from this call on (the subscription starts here, not at the first
        ``next()``), as an iterator that stops after ``timeout`` seconds without an event
        (never, if None). Create it before the commands whose events you want."""
        return _drain(self._core.subscribe(), timeout)

    def subscribe(self, callback: Optional[Callable[[_core.Event], Any]] = None) -> Any:
        """With a callback: call it from a background thread for every event (returns an
        :class:`EventSubscription`). Without: a :class:`Subscription` to poll."""
        sub = self._core.subscribe()
        if callback is None:
            return sub
        return EventSubscription(sub, callback)

    @property
    def symbols(self) -> list[str]:
        return self._core.symbols

    @property
    def assignment(self) -> dict[str, int]:
        """Worker of each symbol."""
        return dict(zip(self._core.symbols, self._core.assignment))

    @property
    def worker_count(self) -> int:
        return self._core.worker_count

    def worker_stats(self) -> list[dict[str, Any]]:
        return self._core.worker_stats()

    def halted(self) -> dict[str, str]:
        """Symbols stopped by a worker failure, with the reason."""
        return dict(self._core.halted())

    @property
    def closed(self) -> bool:
        return self._core.closed

    # ------------------------------------------------------------------ lifecycle

    def shutdown(self) -> None:
        """Stop accepting, run and answer everything already queued, join the workers.
        Idempotent."""
        for gw in self._gateways:
            gw.stop()
        for admin in self._admins:
            admin.stop()
        self._core.shutdown()
        self._closed = True
        if self._recorder is not None:
            self._recorder.stop()
        completer = self._completer
        if completer is not None and completer is not threading.current_thread():
            completer.join()

    close = shutdown

    def __enter__(self) -> TradingSystem:
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "running"
        return f"TradingSystem(symbols={self.symbols}, workers={self.worker_count}, {state})"

    # ------------------------------------------------------------------ futures

    def _ensure_completer(self) -> None:
        if self._completer is None:
            with self._lock:
                if self._completer is None and not self._closed:
                    # The thread holds only a weak reference, so an abandoned system can still
                    # be collected (which shuts its workers down).
                    t = threading.Thread(
                        target=_complete_loop, args=(weakref.ref(self),), name="lft-futures", daemon=True
                    )
                    self._completer = t
                    t.start()

    @staticmethod
    def _resolve(future: Future[Any], pending: _core.PendingReport) -> None:
        try:
            future.set_result(pending.result())
        except BaseException as e:  # the command's error, or anything unexpected: never lost
            future.set_exception(e)


def _stop_recording(core: _core.TradingSystem, recorder: StatisticsRecorder) -> None:
    core.shutdown()
    recorder.stop()


def recovery_summary(r: dict[str, Any]) -> str:
    """One line (plus notes) saying what recovery did."""
    from_snapshots = sum(1 for s in r["symbols"] if s["snapshot"])
    line = (
        f"recovered {len(r['symbols'])} symbol(s) ({from_snapshots} from snapshots), "
        f"{r['resting_orders']} resting order(s), {r['commands_replayed']} journal command(s) replayed "
        f"from {r['segments']} segment(s) in {r['seconds']:.3f} s"
    )
    return "\n".join([line, *(f"  note: {n}" for n in r["notes"])])


def _complete_loop(system_ref: weakref.ReferenceType[TradingSystem]) -> None:
    """Complete `submit_async` futures as their tokens arrive; ends after shutdown once
    every registered future is resolved, or when the system is collected."""
    while True:
        system = system_ref()
        if system is None:
            return
        tokens = system._core._wait_completions(0.05)
        for token in tokens:
            with system._lock:
                entry = system._futures.pop(token, None)
                if entry is None:
                    system._early.add(token)
            if entry is not None:
                TradingSystem._resolve(*entry)
        with system._lock:
            if system._closed and not system._futures and not tokens:
                return
        del system
