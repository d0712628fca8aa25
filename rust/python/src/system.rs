//! `TradingSystem` for Python: the multi-symbol engine. Arguments are converted here, then
//! the command crosses to its symbol's worker with the GIL released; results come back as
//! the same objects `OrderBook` returns, plus the worker's command sequence number.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::Thread;
use std::time::{Duration, Instant};

use crossbeam_queue::SegQueue;
use lft_engine::system::{
    AckPolicy, FeedEvent, FeedKind, FsyncPolicy, JournalConfig, Notify, OnFull, Outcome, Pending, Refusal,
    Reply, Request, SnapshotConfig, SymbolSpec, SystemConfig, SystemReport, TradingSystem, NO_PRICE,
};
use lft_engine::{BookConfig, Modify, Scale};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::batch::{batch_columns, batch_result};
use crate::book::{parse_new_order, OrderArgs};
use crate::convert::{lots, opt_decimal, ticks, timestamp, to_py_uuid};
use crate::enums::{PyOrderStatus, PySide};
use crate::errors::PyEngineError;
use crate::gil::without_gil;
use crate::objects::{updates_of, PyDepth, PyExecutionReport, PyLevel, PyLevelStats};

/// Longest a blocking call waits with the GIL released before it checks for Ctrl-C.
const SIGNAL_SLICE: Duration = Duration::from_millis(100);

/// Tokens of filled asynchronous replies, and the one thread that waits for them.
struct Completions {
    queue: SegQueue<u64>,
    sleeping: AtomicBool,
    waiter: OnceLock<Thread>,
}

impl Completions {
    fn push(&self, token: u64) {
        self.queue.push(token);
        std::sync::atomic::fence(Ordering::SeqCst);
        if self.sleeping.load(Ordering::Relaxed) {
            if let Some(t) = self.waiter.get() {
                t.unpark();
            }
        }
    }

    /// Everything completed so far, waiting up to `timeout` for the first.
    fn wait(&self, timeout: Duration) -> Vec<u64> {
        let deadline = std::time::Instant::now() + timeout;
        let me = self.waiter.get_or_init(std::thread::current).id() == std::thread::current().id();
        loop {
            let mut out = Vec::new();
            while let Some(t) = self.queue.pop() {
                out.push(t);
            }
            if !out.is_empty() {
                return out;
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return out;
            }
            if me {
                self.sleeping.store(true, Ordering::Relaxed);
                std::sync::atomic::fence(Ordering::SeqCst);
                if self.queue.is_empty() {
                    std::thread::park_timeout(deadline - now);
                }
                self.sleeping.store(false, Ordering::Relaxed);
            } else {
                std::thread::sleep((deadline - now).min(Duration::from_micros(200)));
            }
        }
    }
}

/// Many symbols, each matched by its own worker thread.
#[pyclass(name = "TradingSystem", module = "lockfree_trading._core", frozen)]
pub struct PyTradingSystem {
    pub(crate) system: Arc<TradingSystem>,
    pub(crate) scales: Vec<Scale>,
    pub(crate) names: Vec<Arc<str>>,
    completions: Arc<Completions>,
    /// Hands a filled async reply's token to `completions` (built once, shared by all).
    notify: Notify,
    /// Symbol name -> index, for the per-call lookup.
    index_of: std::collections::HashMap<Arc<str>, u32>,
}

/// A reply that has not been collected yet (`submit_async`).
#[pyclass(name = "PendingReport", module = "lockfree_trading._core")]
pub struct PyPendingReport {
    pending: Option<Pending<Reply>>,
    done: Option<Reply>,
    scale: Scale,
    symbol: Arc<str>,
    #[pyo3(get)]
    token: u64,
}

/// Read-only view of one symbol's book (a `BookReader`): best prices, `sequence` and `len` are
/// wait-free; `depth` and `level` are lock-free; none of them waits for the worker or delays it.
#[pyclass(name = "BookView", module = "lockfree_trading._core", frozen)]
pub struct PyBookView {
    book: lft_engine::system::BookReader,
    scale: Scale,
}

/// One event of the system's feed.
#[pyclass(name = "Event", module = "lockfree_trading._core", frozen)]
pub struct PyEvent {
    event: FeedEvent,
    scale: Scale,
    symbol: Arc<str>,
}

/// A subscriber's position in the feed of every symbol.
#[pyclass(name = "Subscription", module = "lockfree_trading._core")]
pub struct PySubscription {
    sub: lft_engine::system::Subscription,
    scales: Vec<Scale>,
    names: Vec<Arc<str>>,
}

pub(crate) fn get<'py, T>(d: &Bound<'py, PyDict>, key: &str, default: T) -> PyResult<T>
where
    T: for<'a> FromPyObject<'a, 'py>,
    for<'a> <T as FromPyObject<'a, 'py>>::Error: Into<PyErr>,
{
    match d.get_item(key)? {
        Some(v) if !v.is_none() => v.extract::<T>().map_err(|e| {
            let e: PyErr = e.into();
            config_error(format!("{key}: {e}"))
        }),
        _ => Ok(default),
    }
}

pub(crate) fn config_error(msg: String) -> PyErr {
    PyEngineError(lft_engine::EngineError::InvalidConfig(msg)).into()
}

/// Build the engine's config from the plain dict `Config.to_engine_dict()` produces.
pub(crate) fn system_config(cfg: &Bound<'_, PyDict>) -> PyResult<(SystemConfig, Vec<Scale>)> {
    let engine = cfg.get_item("engine")?.map(|e| e.cast_into::<PyDict>()).transpose()?;
    let mut sc = SystemConfig::default();
    if let Some(e) = &engine {
        sc.threads = get(e, "threads", 0usize)?;
        sc.batch_size = get(e, "batch_size", sc.batch_size)?;
        sc.queue_capacity = get(e, "queue_capacity", sc.queue_capacity)?;
        sc.event_capacity = get(e, "event_capacity", sc.event_capacity)?;
        sc.pin_threads = get(e, "pin_threads", false)?;
        sc.on_full = match get(e, "on_full", "block".to_string())?.as_str() {
            "block" => OnFull::Block,
            "reject" => OnFull::Reject,
            other => {
                return Err(config_error(format!("engine.on_full: expected block or reject, got {other:?}")))
            }
        };
    }
    if let Some(j) = cfg.get_item("journal")?.filter(|j| !j.is_none()) {
        let j = j.cast_into::<PyDict>()?;
        let interval = Duration::from_millis(get(&j, "interval_ms", 10u64)?);
        sc.journal = Some(JournalConfig {
            directory: get::<String>(&j, "directory", "journal".into())?.into(),
            fsync: match get(&j, "fsync", "batch".to_string())?.as_str() {
                "always" => FsyncPolicy::Always,
                "batch" => FsyncPolicy::Batch,
                "interval" => FsyncPolicy::Interval(interval),
                "never" => FsyncPolicy::Never,
                other => {
                    return Err(config_error(format!(
                        "journal.fsync: expected always, batch, interval or never, got {other:?}"
                    )))
                }
            },
            ack: match get(&j, "ack", "after_fsync".to_string())?.as_str() {
                "after_write" => AckPolicy::AfterWrite,
                "after_fsync" => AckPolicy::AfterFsync,
                other => {
                    return Err(config_error(format!(
                        "journal.ack: expected after_write or after_fsync, got {other:?}"
                    )))
                }
            },
            segment_bytes: get(&j, "segment_bytes", 64u64 << 20)?,
            queue_capacity: get(&j, "queue_capacity", 4096usize)?,
        });
    }
    if let Some(sn) = cfg.get_item("snapshots")?.filter(|j| !j.is_none()) {
        let sn = sn.cast_into::<PyDict>()?;
        sc.snapshots = Some(SnapshotConfig {
            directory: get::<String>(&sn, "directory", "snapshots".into())?.into(),
            interval: get(&sn, "interval_seconds", None::<f64>)?
                .map(|x| {
                    Duration::try_from_secs_f64(x)
                        .map_err(|e| config_error(format!("snapshots.interval_seconds: {e}")))
                })
                .transpose()?,
            every_commands: get(&sn, "every_commands", None::<u64>)?,
            keep: get(&sn, "keep", 3usize)?,
            on_shutdown: get(&sn, "on_shutdown", true)?,
            compress: get(&sn, "compress", true)?,
        });
    }
    if let Some(st) = cfg.get_item("statistics")?.filter(|s| !s.is_none()) {
        sc.statistics = Some(crate::statistics::stats_config(&st.cast_into::<PyDict>()?)?);
    }
    let symbols = cfg
        .get_item("symbols")?
        .ok_or_else(|| config_error("symbols: missing".into()))?
        .cast_into::<PyList>()?;
    let mut scales = Vec::new();
    for (i, item) in symbols.iter().enumerate() {
        let s = item.cast_into::<PyDict>()?;
        let name: String = get(&s, "name", String::new())?;
        let tick = opt_decimal(s.get_item("tick_size")?.as_ref(), &format!("symbols[{i}].tick_size"))?
            .unwrap_or(lft_engine::Decimal::new(1, 2));
        let lot = opt_decimal(s.get_item("lot_size")?.as_ref(), &format!("symbols[{i}].lot_size"))?
            .unwrap_or(lft_engine::Decimal::ONE);
        let mut book = BookConfig::new(name, tick, lot).map_err(PyEngineError)?;
        book.retain_empty_levels = get(&s, "retain_empty_levels", book.retain_empty_levels)?;
        book.order_capacity = get(&s, "order_capacity", 0usize)?;
        book.max_orders = get(&s, "max_orders", None::<usize>)?;
        let scale = book.scale;
        let band = match (s.get_item("price_min")?, s.get_item("price_max")?) {
            (Some(lo), Some(hi)) if !lo.is_none() && !hi.is_none() => Some((
                ticks(&scale, &lo).map_err(|e| config_error(format!("symbols[{i}].price_band.min: {e}")))?,
                ticks(&scale, &hi).map_err(|e| config_error(format!("symbols[{i}].price_band.max: {e}")))?,
            )),
            _ => None,
        };
        sc.symbols.push(SymbolSpec {
            book,
            worker: get(&s, "worker", None::<usize>)?,
            price_band: band,
            weight: get(&s, "weight", 1.0f64)?,
        });
        scales.push(scale);
    }
    Ok((sc, scales))
}

pub(crate) fn refusal(py: Python<'_>, r: Refusal) -> PyErr {
    let seq = r.command_sequence;
    let err: PyErr = PyEngineError(r.error).into();
    // Where in the symbol's sequence the refused command fell (0: it never got there).
    let _ = err.value(py).setattr("command_sequence", seq);
    err
}

pub(crate) fn reply_object(
    py: Python<'_>,
    reply: Reply,
    scale: Scale,
    symbol: &Arc<str>,
) -> PyResult<Py<PyAny>> {
    let r: SystemReport = reply.map_err(|e| refusal(py, e))?;
    Ok(match r.outcome {
        // Expiry sweeps have no order of their own: their updates, as `OrderBook.expire` gives.
        Outcome::Report(report) if report.report.is_none() => {
            PyList::new(py, updates_of(py, &report.updates, &scale)?)?.into_any().unbind()
        }
        Outcome::Report(report) => Py::new(
            py,
            PyExecutionReport {
                report,
                scale,
                command_sequence: Some(r.command_sequence),
                symbol: Some(Arc::clone(symbol)),
            },
        )?
        .into_any(),
        Outcome::Batch(out) => Py::new(py, batch_result(py, out))?.into_any(),
        Outcome::StateHash(h) => h.into_pyobject(py)?.into_any().unbind(),
        // Python reads depth through the lock-free `BookView`; this query is the gateway's.
        Outcome::Depth(_) => py.None(),
        Outcome::Snapshot(t) => {
            let d = PyDict::new(py);
            d.set_item("symbol", symbol.to_string())?;
            d.set_item("command_sequence", r.command_sequence)?;
            d.set_item("path", t.path.display().to_string())?;
            d.set_item("bytes", t.bytes)?;
            d.set_item("resting_orders", t.resting_orders)?;
            d.set_item("capture_seconds", t.capture_ns as f64 * 1e-9)?;
            d.into_any().unbind()
        }
        Outcome::Commands(s) => {
            let d = PyDict::new(py);
            d.set_item("commands", s.commands)?;
            d.set_item("rejected", s.rejected)?;
            d.set_item("not_found", s.not_found)?;
            d.set_item("trades", s.trades)?;
            d.set_item("events", s.events)?;
            d.set_item("last_command_sequence", s.last_command_sequence)?;
            d.into_any().unbind()
        }
    })
}

impl PyTradingSystem {
    pub(crate) fn index(&self, symbol: &str) -> PyResult<u32> {
        match self.index_of.get(symbol) {
            Some(&i) => Ok(i),
            None => Err(PyEngineError(lft_engine::EngineError::UnknownSymbol(symbol.to_string())).into()),
        }
    }

    /// Send and wait with the GIL released.
    pub(crate) fn run(
        &self,
        py: Python<'_>,
        symbol: u32,
        request: Request,
        worker_time: bool,
    ) -> PyResult<Py<PyAny>> {
        let system = &self.system;
        let reply = without_gil(py, || system.execute(symbol, request, worker_time));
        reply_object(py, reply, self.scales[symbol as usize], &self.names[symbol as usize])
    }

    fn send_async(
        &self,
        py: Python<'_>,
        symbol: u32,
        request: Request,
        worker_time: bool,
        token: u64,
    ) -> PyResult<PyPendingReport> {
        let notify = Arc::clone(&self.notify);
        let system = &self.system;
        let pending = without_gil(py, || system.send(symbol, request, worker_time, Some((notify, token))))
            .map_err(|e| refusal(py, e))?;
        Ok(PyPendingReport {
            pending: Some(pending),
            done: None,
            scale: self.scales[symbol as usize],
            symbol: Arc::clone(&self.names[symbol as usize]),
            token,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn new_order_request(
        &self,
        symbol: u32,
        side: &Bound<'_, PyAny>,
        quantity: &Bound<'_, PyAny>,
        price: Option<&Bound<'_, PyAny>>,
        order_type: Option<&Bound<'_, PyAny>>,
        time_in_force: Option<&Bound<'_, PyAny>>,
        order_id: Option<&Bound<'_, PyAny>>,
        post_only: bool,
        display_quantity: Option<&Bound<'_, PyAny>>,
        expire_time: Option<&Bound<'_, PyAny>>,
        timestamp_arg: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<(Request, bool)> {
        let (ts, worker_time) = stamp(timestamp_arg)?;
        let book = self.system.book(symbol).map_err(PyEngineError)?;
        let order = parse_new_order(
            &self.scales[symbol as usize],
            || book.next_order_id(),
            OrderArgs {
                side,
                quantity,
                price,
                order_type,
                time_in_force,
                order_id,
                post_only,
                display_quantity,
                expire_time,
            },
            ts,
        )?;
        Ok((Request::New(order), worker_time))
    }
}

/// A given timestamp, or "let the worker stamp it".
pub(crate) fn stamp(given: Option<&Bound<'_, PyAny>>) -> PyResult<(i64, bool)> {
    match given.filter(|t| !t.is_none()) {
        Some(t) => Ok((timestamp(t, "timestamp")?, false)),
        None => Ok((0, true)),
    }
}

#[pymethods]
impl PyTradingSystem {
    /// Start the workers. `config` is the dict `Config.to_engine_dict()` returns.
    #[new]
    fn py_new(py: Python<'_>, config: &Bound<'_, PyDict>) -> PyResult<Self> {
        let (sc, scales) = system_config(config)?;
        let names: Vec<Arc<str>> =
            sc.symbols.iter().map(|s| Arc::<str>::from(s.book.symbol.as_str())).collect();
        let index_of = names.iter().enumerate().map(|(i, n)| (Arc::clone(n), i as u32)).collect();
        let system = without_gil(py, || TradingSystem::start(sc)).map_err(PyEngineError)?;
        let completions = Arc::new(Completions {
            queue: SegQueue::new(),
            sleeping: AtomicBool::new(false),
            waiter: OnceLock::new(),
        });
        let sink = Arc::clone(&completions);
        let notify: Notify = Arc::new(move |t| sink.push(t));
        Ok(PyTradingSystem { system: Arc::new(system), scales, names, completions, notify, index_of })
    }

    /// Configured symbols, in order.
    #[getter]
    fn symbols(&self) -> Vec<String> {
        self.names.iter().map(|n| n.to_string()).collect()
    }

    /// Worker index of each symbol.
    #[getter]
    fn assignment(&self) -> Vec<usize> {
        self.system.assignment().to_vec()
    }

    /// Number of worker threads.
    #[getter]
    fn worker_count(&self) -> usize {
        self.system.worker_count()
    }

    #[pyo3(name = "submit", signature = (symbol, side, quantity, price = None, *, order_type = None, time_in_force = None, order_id = None, post_only = false, display_quantity = None, expire_time = None, timestamp = None))]
    #[allow(clippy::too_many_arguments)]
    fn py_submit(
        &self,
        py: Python<'_>,
        symbol: &str,
        side: &Bound<'_, PyAny>,
        quantity: &Bound<'_, PyAny>,
        price: Option<&Bound<'_, PyAny>>,
        order_type: Option<&Bound<'_, PyAny>>,
        time_in_force: Option<&Bound<'_, PyAny>>,
        order_id: Option<&Bound<'_, PyAny>>,
        post_only: bool,
        display_quantity: Option<&Bound<'_, PyAny>>,
        expire_time: Option<&Bound<'_, PyAny>>,
        timestamp: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let idx = self.index(symbol)?;
        let (req, wt) = self.new_order_request(
            idx,
            side,
            quantity,
            price,
            order_type,
            time_in_force,
            order_id,
            post_only,
            display_quantity,
            expire_time,
            timestamp,
        )?;
        self.run(py, idx, req, wt)
    }

    #[pyo3(name = "submit_async", signature = (token, symbol, side, quantity, price = None, *, order_type = None, time_in_force = None, order_id = None, post_only = false, display_quantity = None, expire_time = None, timestamp = None))]
    #[allow(clippy::too_many_arguments)]
    fn py_submit_async(
        &self,
        py: Python<'_>,
        token: u64,
        symbol: &str,
        side: &Bound<'_, PyAny>,
        quantity: &Bound<'_, PyAny>,
        price: Option<&Bound<'_, PyAny>>,
        order_type: Option<&Bound<'_, PyAny>>,
        time_in_force: Option<&Bound<'_, PyAny>>,
        order_id: Option<&Bound<'_, PyAny>>,
        post_only: bool,
        display_quantity: Option<&Bound<'_, PyAny>>,
        expire_time: Option<&Bound<'_, PyAny>>,
        timestamp: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyPendingReport> {
        let idx = self.index(symbol)?;
        let (req, wt) = self.new_order_request(
            idx,
            side,
            quantity,
            price,
            order_type,
            time_in_force,
            order_id,
            post_only,
            display_quantity,
            expire_time,
            timestamp,
        )?;
        self.send_async(py, idx, req, wt, token)
    }

    #[pyo3(name = "cancel", signature = (symbol, order_id, *, timestamp = None))]
    fn py_cancel(
        &self,
        py: Python<'_>,
        symbol: &str,
        order_id: &Bound<'_, PyAny>,
        timestamp: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let idx = self.index(symbol)?;
        let id = crate::convert::order_id(order_id)?;
        let (ts, wt) = stamp(timestamp)?;
        self.run(py, idx, Request::Cancel { id, timestamp: ts }, wt)
    }

    #[pyo3(name = "modify", signature = (symbol, order_id, quantity = None, price = None, *, timestamp = None))]
    fn py_modify(
        &self,
        py: Python<'_>,
        symbol: &str,
        order_id: &Bound<'_, PyAny>,
        quantity: Option<&Bound<'_, PyAny>>,
        price: Option<&Bound<'_, PyAny>>,
        timestamp: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let idx = self.index(symbol)?;
        let scale = self.scales[idx as usize];
        let id = crate::convert::order_id(order_id)?;
        let quantity = quantity.filter(|q| !q.is_none()).map(|q| lots(&scale, q, "quantity")).transpose()?;
        let price = price.filter(|p| !p.is_none()).map(|p| ticks(&scale, p)).transpose()?;
        let (ts, wt) = stamp(timestamp)?;
        self.run(py, idx, Request::Modify(Modify { id, quantity, price, timestamp: ts }), wt)
    }

    /// Expire due GTD orders of one symbol; returns the execution report (updates only).
    #[pyo3(name = "expire", signature = (symbol, now = None))]
    fn py_expire(&self, py: Python<'_>, symbol: &str, now: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
        let idx = self.index(symbol)?;
        let (ts, wt) = stamp(now)?;
        self.run(py, idx, Request::Expire { now: ts }, wt)
    }

    /// End the trading day for one symbol: expire DAY orders and due GTD orders.
    #[pyo3(name = "end_of_day", signature = (symbol, now = None))]
    fn py_end_of_day(
        &self,
        py: Python<'_>,
        symbol: &str,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let idx = self.index(symbol)?;
        let (ts, wt) = stamp(now)?;
        self.run(py, idx, Request::EndOfDay { now: ts }, wt)
    }

    #[pyo3(name = "submit_batch", signature = (symbol, side, price, quantity, time_in_force = None, order_id = None, *, timestamp = None))]
    #[allow(clippy::too_many_arguments)]
    fn py_submit_batch(
        &self,
        py: Python<'_>,
        symbol: &str,
        side: &Bound<'_, PyAny>,
        price: &Bound<'_, PyAny>,
        quantity: &Bound<'_, PyAny>,
        time_in_force: Option<&Bound<'_, PyAny>>,
        order_id: Option<&Bound<'_, PyAny>>,
        timestamp: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let idx = self.index(symbol)?;
        let (ts, wt) = stamp(timestamp)?;
        let mut batch = batch_columns(side, price, quantity, time_in_force, order_id)?;
        batch.timestamp = ts;
        self.run(py, idx, Request::Batch(batch), wt)
    }

    /// Apply a workload stream (40-byte records) to the symbols they name (record symbol
    /// `k` goes to the k-th configured symbol), `chunk` commands per hand-off; every command
    /// runs as if sent alone. Returns totals per symbol.
    #[pyo3(name = "replay", signature = (records, *, chunk = 256))]
    fn py_replay(&self, py: Python<'_>, records: &[u8], chunk: usize) -> PyResult<Py<PyAny>> {
        let per_symbol = crate::workload::commands_by_symbol(records, self.names.len())?;
        let system = &self.system;
        let chunk = chunk.max(1);
        let totals = without_gil(py, || replay_through(system, per_symbol, chunk));
        let out = PyDict::new(py);
        for (i, t) in totals.into_iter().enumerate() {
            let d = PyDict::new(py);
            d.set_item("commands", t.commands)?;
            d.set_item("rejected", t.rejected)?;
            d.set_item("not_found", t.not_found)?;
            d.set_item("trades", t.trades)?;
            d.set_item("events", t.events)?;
            d.set_item("stopped", t.stopped)?;
            out.set_item(&*self.names[i], d)?;
        }
        Ok(out.into_any().unbind())
    }

    /// Read-only view of a symbol's book.
    fn book(&self, symbol: &str) -> PyResult<PyBookView> {
        let idx = self.index(symbol)?;
        Ok(PyBookView {
            book: self.system.book(idx).map_err(PyEngineError)?,
            scale: self.scales[idx as usize],
        })
    }

    /// Digest of a symbol's book state, answered by its worker after every command queued
    /// before this call (blocks until then, with the GIL released).
    #[pyo3(name = "state_hash")]
    fn py_state_hash(&self, py: Python<'_>, symbol: &str) -> PyResult<u64> {
        let idx = self.index(symbol)?;
        let system = &self.system;
        Ok(without_gil(py, || system.state_hash(idx)).map_err(PyEngineError)?)
    }

    /// Snapshot every book now (each at a consistent per-symbol sequence number); returns
    /// one dict per symbol once every file is durable.
    #[pyo3(name = "snapshot")]
    fn py_snapshot(&self, py: Python<'_>) -> PyResult<Vec<Py<PyAny>>> {
        let system = &self.system;
        let n = self.names.len() as u32;
        let pending = without_gil(py, || {
            (0..n).map(|s| system.send(s, Request::Snapshot, false, None)).collect::<Result<Vec<_>, _>>()
        })
        .map_err(|e| refusal(py, e))?;
        let mut out = Vec::new();
        for (i, p) in pending.into_iter().enumerate() {
            let reply = without_gil(py, || p.wait());
            out.push(reply_object(py, reply, self.scales[i], &self.names[i])?);
        }
        Ok(out)
    }

    /// What recovery found at start (None when there was nothing to recover).
    #[getter]
    fn recovery(&self, py: Python<'_>) -> PyResult<Option<Py<PyDict>>> {
        self.system.recovery().map(|r| crate::durability::report_dict(py, r)).transpose()
    }

    /// Journal and snapshot counters.
    fn durability_stats(&self, py: Python<'_>) -> PyResult<Py<PyDict>> {
        use std::sync::atomic::Ordering::Relaxed;
        let d = PyDict::new(py);
        let journal = PyList::empty(py);
        for c in self.system.journal_counters() {
            let j = PyDict::new(py);
            j.set_item("bytes_written", c.bytes_written.load(Relaxed))?;
            j.set_item("records", c.records.load(Relaxed))?;
            j.set_item("writes", c.writes.load(Relaxed))?;
            j.set_item("fsyncs", c.syncs.load(Relaxed))?;
            j.set_item("fsync_seconds", c.sync_ns.load(Relaxed) as f64 * 1e-9)?;
            j.set_item("fsync_max_seconds", c.sync_max_ns.load(Relaxed) as f64 * 1e-9)?;
            journal.append(j)?;
        }
        d.set_item("journal", journal)?;
        if let Some(c) = self.system.snapshot_counters() {
            let s = PyDict::new(py);
            s.set_item("written", c.written.load(Relaxed))?;
            s.set_item("bytes", c.bytes.load(Relaxed))?;
            s.set_item("capture_max_seconds", c.capture_max_ns.load(Relaxed) as f64 * 1e-9)?;
            s.set_item("write_seconds", c.write_ns.load(Relaxed) as f64 * 1e-9)?;
            s.set_item("segments_deleted", c.segments_deleted.load(Relaxed))?;
            d.set_item("snapshots", s)?;
        }
        Ok(d.unbind())
    }

    /// A subscription to every symbol's events, from the next one published.
    fn subscribe(&self) -> PySubscription {
        PySubscription {
            sub: self.system.subscribe(),
            scales: self.scales.clone(),
            names: self.names.clone(),
        }
    }

    /// Symbols halted by a worker failure: {symbol: reason}.
    fn halted(&self) -> Vec<(String, String)> {
        self.system.halted()
    }

    /// Per-worker statistics as dicts.
    fn worker_stats(&self, py: Python<'_>) -> PyResult<Vec<Py<PyDict>>> {
        self.system
            .worker_stats()
            .into_iter()
            .map(|w| {
                let d = PyDict::new(py);
                d.set_item(
                    "symbols",
                    w.symbols.iter().map(|&s| self.names[s as usize].to_string()).collect::<Vec<_>>(),
                )?;
                d.set_item("queued", w.queued)?;
                d.set_item("processed", w.processed)?;
                d.set_item("events_published", w.events_published)?;
                d.set_item("core", w.core)?;
                Ok(d.unbind())
            })
            .collect()
    }

    /// Tokens of `submit_async` replies that arrived, waiting up to `timeout` seconds.
    #[pyo3(name = "_wait_completions")]
    fn py_wait_completions(&self, py: Python<'_>, timeout: f64) -> Vec<u64> {
        let c = &self.completions;
        let timeout = Duration::from_secs_f64(timeout.clamp(0.0, 3600.0));
        without_gil(py, || c.wait(timeout))
    }

    /// Make the symbol's worker panic on its next command (tests of the halting path).
    #[pyo3(name = "_inject_panic")]
    fn py_inject_panic(&self, py: Python<'_>, symbol: &str) -> PyResult<Py<PyAny>> {
        let idx = self.index(symbol)?;
        self.run(py, idx, Request::InjectPanic, false)
    }

    #[getter]
    fn closed(&self) -> bool {
        self.system.is_closed()
    }

    /// Stop accepting, run and answer everything queued, join the workers. Idempotent.
    fn shutdown(&self, py: Python<'_>) {
        let system = &self.system;
        without_gil(py, || system.shutdown());
    }
}

/// Totals of a replay for one symbol.
#[derive(Default)]
struct ReplayTotals {
    commands: u64,
    rejected: u64,
    not_found: u64,
    trades: u64,
    events: u64,
    /// Why the rest of this symbol's stream was not run (halted symbol, closed system).
    stopped: Option<String>,
}

fn replay_through(
    system: &TradingSystem,
    per_symbol: Vec<Vec<lft_engine::Command>>,
    chunk: usize,
) -> Vec<ReplayTotals> {
    let mut totals: Vec<ReplayTotals> = per_symbol.iter().map(|_| ReplayTotals::default()).collect();
    let mut iters: Vec<_> = per_symbol.into_iter().map(|v| v.into_iter().peekable()).collect();
    // Round-robin over symbols, one chunk each, keeping a few hand-offs in flight per symbol.
    let mut in_flight: Vec<std::collections::VecDeque<Pending<Reply>>> =
        iters.iter().map(|_| std::collections::VecDeque::new()).collect();
    let collect = |t: &mut ReplayTotals, p: Pending<Reply>| match p.wait() {
        Ok(SystemReport { outcome: Outcome::Commands(s), .. }) => {
            t.commands += s.commands;
            t.rejected += s.rejected;
            t.not_found += s.not_found;
            t.trades += s.trades;
            t.events += s.events;
        }
        Ok(_) => {}
        Err(e) => t.stopped = Some(e.to_string()),
    };
    loop {
        let mut sent_any = false;
        for (i, it) in iters.iter_mut().enumerate() {
            if it.peek().is_none() || totals[i].stopped.is_some() {
                continue;
            }
            let part: Vec<_> = it.by_ref().take(chunk).collect();
            sent_any = true;
            if in_flight[i].len() >= 4 {
                let p = in_flight[i].pop_front().expect("non-empty");
                collect(&mut totals[i], p);
            }
            loop {
                match system.send(i as u32, Request::Commands(part.clone()), false, None) {
                    Ok(p) => in_flight[i].push_back(p),
                    // A full queue (policy `reject`) is backpressure: wait for room, retry.
                    Err(Refusal { error: lft_engine::EngineError::QueueFull { .. }, .. }) => {
                        match in_flight[i].pop_front() {
                            Some(p) => collect(&mut totals[i], p),
                            None => std::thread::sleep(Duration::from_micros(50)),
                        }
                        continue;
                    }
                    Err(e) => totals[i].stopped = Some(e.to_string()),
                }
                break;
            }
        }
        if !sent_any {
            break;
        }
    }
    for (i, q) in in_flight.into_iter().enumerate() {
        for p in q {
            collect(&mut totals[i], p);
        }
    }
    totals
}

#[pymethods]
impl PyPendingReport {
    /// Whether the reply has arrived.
    fn done(&mut self) -> bool {
        self.done.is_some() || self.pending.as_ref().is_some_and(|p| p.is_ready())
    }

    /// The report (or the command's error), waiting up to `timeout` seconds (forever if None).
    /// Raises `TimeoutError` if it has not arrived by then.
    #[pyo3(signature = (timeout = None))]
    fn result(&mut self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        if self.done.is_none() {
            let mut pending = self.pending.take().expect("a pending report holds its slot until done");
            let deadline = timeout.map(|t| Instant::now() + Duration::from_secs_f64(t.clamp(0.0, 1e9)));
            // Wait in slices with the GIL released; between slices, let Ctrl-C through.
            loop {
                let slice = deadline
                    .map_or(SIGNAL_SLICE, |d| d.saturating_duration_since(Instant::now()).min(SIGNAL_SLICE));
                let (got, back) = without_gil(py, move || (pending.wait_timeout(slice), pending));
                pending = back;
                if let Some(v) = got {
                    self.done = Some(v);
                    break;
                }
                if let Err(e) = py.check_signals() {
                    self.pending = Some(pending);
                    return Err(e);
                }
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    self.pending = Some(pending);
                    return Err(pyo3::exceptions::PyTimeoutError::new_err("the report has not arrived yet"));
                }
            }
        }
        let reply = self.done.clone().expect("set above");
        reply_object(py, reply, self.scale, &self.symbol)
    }
}

#[pymethods]
impl PyBookView {
    #[getter]
    fn symbol(&self) -> &str {
        self.book.symbol()
    }
    #[getter]
    fn best_bid<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.book.best_bid().map(|t| crate::convert::py_price(py, &self.scale, t)).transpose()
    }
    #[getter]
    fn best_ask<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.book.best_ask().map(|t| crate::convert::py_price(py, &self.scale, t)).transpose()
    }
    #[getter]
    fn sequence(&self) -> u64 {
        self.book.sequence()
    }
    fn __len__(&self) -> usize {
        self.book.len()
    }
    /// Up to `levels` aggregated levels per side, best first.
    #[pyo3(signature = (levels = 10))]
    fn depth(&self, py: Python<'_>, levels: usize) -> PyResult<PyDepth> {
        let d = self.book.depth(levels);
        let conv = |side: &[lft_engine::DepthLevel]| -> PyResult<Py<PyList>> {
            let items: PyResult<Vec<Py<PyLevel>>> =
                side.iter().map(|l| Py::new(py, PyLevel { level: *l, scale: self.scale })).collect();
            Ok(PyList::new(py, items?)?.unbind())
        };
        Ok(PyDepth { bids: conv(&d.bids)?, asks: conv(&d.asks)? })
    }
    /// Statistics of one price level (None if the level is unknown).
    fn level(&self, side: &Bound<'_, PyAny>, price: &Bound<'_, PyAny>) -> PyResult<Option<PyLevelStats>> {
        let side = crate::enums::PySide::parse(side)?;
        let price = ticks(&self.scale, price)?;
        Ok(self.book.level(side, price).map(|snap| PyLevelStats { snap, scale: self.scale }))
    }
    fn __repr__(&self) -> String {
        format!("BookView(symbol={:?}, orders={})", self.book.symbol(), self.book.len())
    }
    /// The top ten levels of each side as a table (for Jupyter), as `OrderBook`'s.
    fn _repr_html_(&self) -> String {
        let depth = self.book.depth(10);
        crate::html::book_html("BookView", self.book.symbol(), self.book.len(), &self.scale, &depth)
    }
    /// Cumulative depth chart of the top `levels` levels of each side
    /// (`lockfree_trading.analysis.plot_depth`); returns the matplotlib Axes.
    #[pyo3(signature = (levels = 20, ax = None))]
    fn plot_depth<'py>(
        slf: &Bound<'py, Self>,
        levels: usize,
        ax: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        crate::analysis::call(slf.py(), "plot_depth", (slf, levels, ax))
    }
}

impl PySubscription {
    fn wrap(&self, e: FeedEvent) -> PyEvent {
        PyEvent {
            event: e,
            scale: self.scales[e.symbol as usize],
            symbol: Arc::clone(&self.names[e.symbol as usize]),
        }
    }
}

#[pymethods]
impl PySubscription {
    /// Events available now (at most `max_events`), without waiting.
    #[pyo3(signature = (max_events = 4096))]
    fn poll(&mut self, max_events: usize) -> Vec<PyEvent> {
        let mut out = Vec::new();
        while out.len() < max_events {
            match self.sub.poll() {
                Some(e) => out.push(self.wrap(e)),
                None => break,
            }
        }
        out
    }

    /// The next event, waiting up to `timeout` seconds (forever if None) with the GIL
    /// released; None on timeout.
    #[pyo3(signature = (timeout = None))]
    fn next(&mut self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<PyEvent>> {
        let deadline = timeout.map(|t| Instant::now() + Duration::from_secs_f64(t.clamp(0.0, 1e9)));
        loop {
            let slice_end = Instant::now() + SIGNAL_SLICE;
            let until = deadline.map_or(slice_end, |d| d.min(slice_end));
            let sub = &mut self.sub;
            let got = without_gil(py, || {
                let backoff = crossbeam_utils::Backoff::new();
                loop {
                    if let Some(e) = sub.poll() {
                        return Some(e);
                    }
                    if Instant::now() >= until {
                        return None;
                    }
                    if backoff.is_completed() {
                        std::thread::sleep(Duration::from_micros(100));
                    } else {
                        backoff.snooze();
                    }
                }
            });
            if let Some(e) = got {
                return Ok(Some(self.wrap(e)));
            }
            // Between slices, let Ctrl-C through.
            py.check_signals()?;
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(None);
            }
        }
    }

    /// Events this subscriber missed because it fell more than a ring behind.
    #[getter]
    fn lost(&self) -> u64 {
        self.sub.lost()
    }
}

#[pymethods]
impl PyEvent {
    #[getter]
    fn symbol(&self) -> &str {
        &self.symbol
    }
    /// "trade", "order", "level", "rejected" or "halted".
    #[getter]
    fn kind(&self) -> &'static str {
        match self.event.kind {
            FeedKind::Trade => "trade",
            FeedKind::Order => "order",
            FeedKind::Level => "level",
            FeedKind::CommandRejected => "rejected",
            FeedKind::Halted => "halted",
        }
    }
    #[getter]
    fn command_sequence(&self) -> u64 {
        self.event.command_sequence
    }
    /// Book sequence number (0 for level, rejected and halted events).
    #[getter]
    fn sequence(&self) -> u64 {
        self.event.sequence
    }
    #[getter]
    fn timestamp(&self) -> i64 {
        self.event.timestamp
    }
    /// The order (the taker for trades); None for level events.
    #[getter]
    fn order_id<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match self.event.kind {
            FeedKind::Level => Ok(None),
            _ => to_py_uuid(py, self.event.order_id).map(Some),
        }
    }
    /// The maker of a trade; None otherwise.
    #[getter]
    fn maker_order_id<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match self.event.kind {
            FeedKind::Trade => to_py_uuid(py, self.event.other_id).map(Some),
            _ => Ok(None),
        }
    }
    #[getter]
    fn side(&self) -> Option<PySide> {
        matches!(self.event.kind, FeedKind::Trade | FeedKind::Order | FeedKind::Level)
            .then(|| self.event.side.into())
    }
    /// Status of an order event.
    #[getter]
    fn status(&self) -> Option<PyOrderStatus> {
        self.event.order_status().map(Into::into)
    }
    /// Reject reason of an order event, or the error of a rejected command.
    #[getter]
    fn reason(&self) -> Option<&'static str> {
        match self.event.kind {
            FeedKind::Order => match self.event.reason {
                1 => Some(lft_engine::RejectReason::PostOnlyWouldCross.as_str()),
                2 => Some(lft_engine::RejectReason::DuplicateOrderId.as_str()),
                3 => Some(lft_engine::RejectReason::OrderPoolFull.as_str()),
                _ => None,
            },
            FeedKind::CommandRejected => Some(match self.event.status {
                1 => "invalid order",
                2 => "duplicate order id",
                3 => "order not found",
                _ => "refused",
            }),
            _ => None,
        }
    }
    #[getter]
    fn price<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        if self.event.price == NO_PRICE {
            return Ok(None);
        }
        crate::convert::py_price(py, &self.scale, self.event.price).map(Some)
    }
    /// Trade quantity, filled quantity (order events) or visible quantity (level events).
    #[getter]
    fn quantity<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        crate::convert::py_quantity(py, &self.scale, self.event.quantity)
    }
    /// Open quantity of an order event.
    #[getter]
    fn remaining_quantity<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match self.event.kind {
            FeedKind::Order => crate::convert::py_quantity(py, &self.scale, self.event.remaining).map(Some),
            _ => Ok(None),
        }
    }
    /// Orders resting at the level (level events).
    #[getter]
    fn order_count(&self) -> Option<i64> {
        (self.event.kind == FeedKind::Level).then_some(self.event.remaining)
    }
    fn __repr__(&self) -> String {
        let e = &self.event;
        let price = if e.price == NO_PRICE {
            "None".to_string()
        } else {
            crate::convert::price_text(&self.scale, e.price)
        };
        format!(
            "Event(symbol={:?}, kind={}, command_sequence={}, sequence={}, price={}, quantity={})",
            &*self.symbol,
            self.kind(),
            e.command_sequence,
            e.sequence,
            price,
            crate::convert::quantity_text(&self.scale, e.quantity)
        )
    }
}
