//! `OrderBook` for Python: argument conversion, then the engine call; writes run with the GIL
//! released.
//!
//! The Python object owns the book's one `BookWriter` behind a `std::sync::Mutex`, because
//! any number of Python threads may call it (see `gil::with_writer`): concurrent writers
//! block each other (a contended lock spins briefly, then parks on a futex), and `order`,
//! `in` and `state_hash` take the same lock. Reads go to a `BookReader`, keep the GIL and
//! take no lock (wait-free or lock-free per method, see `BookReader`).

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use lft_engine::{
    BookConfig, BookImage, BookReader, BookWriter, EngineError, Modify, NewOrder, OrderType, Scale, Side,
    TimeInForce, Timestamp,
};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use crate::convert::{lots, opt_decimal, ticks, timestamp, to_py_decimal};
use crate::enums::{PyOrderType, PySide, PyTimeInForce};
use crate::errors::{EngineResultPy, PyEngineError};
use crate::gil::{with_writer, without_gil};
use crate::objects::{updates_of, PyDepth, PyExecutionReport, PyLevel, PyLevelStats, PyOrder, PyOrderUpdate};

/// The Python arguments of a new order, as given.
pub(crate) struct OrderArgs<'a, 'py> {
    pub side: &'a Bound<'py, PyAny>,
    pub quantity: &'a Bound<'py, PyAny>,
    pub price: Option<&'a Bound<'py, PyAny>>,
    pub order_type: Option<&'a Bound<'py, PyAny>>,
    pub time_in_force: Option<&'a Bound<'py, PyAny>>,
    pub order_id: Option<&'a Bound<'py, PyAny>>,
    pub post_only: bool,
    pub display_quantity: Option<&'a Bound<'py, PyAny>>,
    pub expire_time: Option<&'a Bound<'py, PyAny>>,
}

/// Convert a new order's arguments at the book's scale; ids default to `next_id()` (the
/// book's next generated id). Shared by `OrderBook.submit` and `TradingSystem.submit`.
pub(crate) fn parse_new_order(
    scale: &Scale,
    next_id: impl FnOnce() -> lft_engine::OrderId,
    a: OrderArgs<'_, '_>,
    timestamp: Timestamp,
) -> PyResult<NewOrder> {
    let side: Side = PySide::parse(a.side)?;
    let price = a.price.filter(|p| !p.is_none());
    let order_type = match a.order_type.filter(|t| !t.is_none()) {
        Some(t) => PyOrderType::parse(t)?,
        None if price.is_some() => OrderType::Limit,
        None => OrderType::Market,
    };
    let time_in_force = match a.time_in_force.filter(|t| !t.is_none()) {
        Some(t) => PyTimeInForce::parse(t)?,
        None if order_type == OrderType::Market => TimeInForce::Ioc,
        None => TimeInForce::Gtc,
    };
    let quantity = lots(scale, a.quantity, "quantity")?;
    let price = price.map(|p| ticks(scale, p)).transpose()?;
    let display_quantity = a
        .display_quantity
        .filter(|d| !d.is_none())
        .map(|d| lots(scale, d, "display_quantity"))
        .transpose()?;
    let expire_time = a
        .expire_time
        .filter(|e| !e.is_none())
        .map(|e| crate::convert::timestamp(e, "expire_time"))
        .transpose()?;
    let id = match a.order_id.filter(|i| !i.is_none()) {
        Some(i) => crate::convert::order_id(i)?,
        None => next_id(),
    };
    Ok(NewOrder {
        id,
        side,
        order_type,
        price,
        quantity,
        time_in_force,
        expire_time,
        post_only: a.post_only,
        display_quantity,
        timestamp,
    })
}

/// One symbol's limit order book.
#[pyclass(name = "OrderBook", module = "lockfree_trading._core", frozen)]
pub struct PyOrderBook {
    /// The only writer; Python threads take turns (the lock is taken with the GIL released).
    pub(crate) writer: Mutex<BookWriter>,
    /// Reads without a lock: wait-free best prices, `len` and `sequence` (and `depth_at`
    /// apart from its epoch pin); lock-free `depth` and `level`.
    pub(crate) book: BookReader,
    clock: Option<Py<PyAny>>,
}

fn system_now() -> Timestamp {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0)
}

/// The writer, unless a failed command poisoned it: its private structures answer
/// `order`, `in` and `state_hash`, and may be half-updated then.
fn unpoisoned(w: &mut BookWriter) -> lft_engine::EngineResult<&mut BookWriter> {
    match w.poisoned() {
        Some(reason) => Err(lft_engine::EngineError::BookPoisoned {
            symbol: w.symbol().to_string(),
            reason: reason.to_string(),
        }),
        None => Ok(w),
    }
}

impl PyOrderBook {
    pub(crate) fn scale(&self) -> Scale {
        *self.book.scale()
    }

    pub(crate) fn now(
        &self,
        py: Python<'_>,
        given: Option<&Bound<'_, PyAny>>,
        what: &str,
    ) -> PyResult<Timestamp> {
        match given {
            Some(t) if !t.is_none() => timestamp(t, what),
            _ => match &self.clock {
                Some(clock) => timestamp(&clock.bind(py).call0()?, "clock()"),
                None => Ok(system_now()),
            },
        }
    }

    fn report(
        &self,
        py: Python<'_>,
        r: EngineResultPy<lft_engine::ExecutionReport>,
    ) -> PyResult<Py<PyExecutionReport>> {
        Py::new(
            py,
            PyExecutionReport { report: r?, scale: self.scale(), command_sequence: None, symbol: None },
        )
    }
}

#[pymethods]
impl PyOrderBook {
    #[new]
    #[pyo3(signature = (symbol, tick_size = None, lot_size = None, *, clock = None, retain_empty_levels = 10000))]
    fn py_new(
        symbol: String,
        tick_size: Option<&Bound<'_, PyAny>>,
        lot_size: Option<&Bound<'_, PyAny>>,
        clock: Option<Py<PyAny>>,
        retain_empty_levels: usize,
    ) -> PyResult<Self> {
        let tick = opt_decimal(tick_size, "tick_size")?.unwrap_or(lft_engine::Decimal::new(1, 2));
        let lot = opt_decimal(lot_size, "lot_size")?.unwrap_or(lft_engine::Decimal::ONE);
        let mut config = BookConfig::new(symbol, tick, lot).map_err(PyEngineError)?;
        config.retain_empty_levels = retain_empty_levels;
        let clock = clock.filter(|c| !Python::attach(|py| c.is_none(py)));
        let writer = BookWriter::try_with_config(config).map_err(PyEngineError)?;
        Ok(PyOrderBook { book: writer.reader().clone(), writer: Mutex::new(writer), clock })
    }

    #[getter]
    fn symbol(&self) -> &str {
        self.book.symbol()
    }

    #[getter]
    fn tick_size<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py_decimal(py, self.book.scale().tick_size)
    }

    #[getter]
    fn lot_size<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py_decimal(py, self.book.scale().lot_size)
    }

    #[getter]
    fn best_bid<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.book.best_bid().map(|t| crate::convert::py_price(py, &self.scale(), t)).transpose()
    }

    #[getter]
    fn best_ask<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.book.best_ask().map(|t| crate::convert::py_price(py, &self.scale(), t)).transpose()
    }

    #[getter]
    fn sequence(&self) -> u64 {
        self.book.sequence()
    }

    #[pyo3(name = "submit", signature = (side, quantity, price = None, *, order_type = None, time_in_force = None, order_id = None, post_only = false, display_quantity = None, expire_time = None, timestamp = None))]
    #[allow(clippy::too_many_arguments)]
    fn py_submit(
        &self,
        py: Python<'_>,
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
    ) -> PyResult<Py<PyExecutionReport>> {
        let timestamp = self.now(py, timestamp, "timestamp")?;
        let order = parse_new_order(
            &self.scale(),
            || self.book.next_order_id(),
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
            timestamp,
        )?;
        let result = with_writer(py, &self.writer, |w| w.submit(&order));
        self.report(py, result)
    }

    /// With `missing_ok`, an order that is not resting (already traded, cancelled, expired,
    /// or never there) is the answer `False` instead of `OrderNotFound`, and a cancel that
    /// happened is `True` with no report built: the hot path of flow where misses are normal.
    #[pyo3(name = "cancel", signature = (order_id, *, timestamp = None, missing_ok = false))]
    fn py_cancel(
        &self,
        py: Python<'_>,
        order_id: &Bound<'_, PyAny>,
        timestamp: Option<&Bound<'_, PyAny>>,
        missing_ok: bool,
    ) -> PyResult<Py<PyAny>> {
        let id = crate::convert::order_id(order_id)?;
        let now = self.now(py, timestamp, "timestamp")?;
        let result = with_writer(py, &self.writer, |w| w.cancel(id, now));
        if missing_ok {
            let cancelled = not_found_is_none(result)?.is_some();
            return Ok(pyo3::types::PyBool::new(py, cancelled).to_owned().into_any().unbind());
        }
        Ok(self.report(py, result)?.into_any())
    }

    /// With `missing_ok`, an order that is not resting gives `None` instead of
    /// `OrderNotFound`.
    #[pyo3(name = "modify", signature = (order_id, quantity = None, price = None, *, timestamp = None, missing_ok = false))]
    fn py_modify(
        &self,
        py: Python<'_>,
        order_id: &Bound<'_, PyAny>,
        quantity: Option<&Bound<'_, PyAny>>,
        price: Option<&Bound<'_, PyAny>>,
        timestamp: Option<&Bound<'_, PyAny>>,
        missing_ok: bool,
    ) -> PyResult<Option<Py<PyExecutionReport>>> {
        let scale = self.scale();
        let m = Modify {
            id: crate::convert::order_id(order_id)?,
            quantity: quantity.filter(|q| !q.is_none()).map(|q| lots(&scale, q, "quantity")).transpose()?,
            price: price.filter(|p| !p.is_none()).map(|p| ticks(&scale, p)).transpose()?,
            timestamp: self.now(py, timestamp, "timestamp")?,
        };
        let result = with_writer(py, &self.writer, |w| w.modify(&m));
        if missing_ok {
            return not_found_is_none(result)?.map(|r| self.report(py, Ok(r))).transpose();
        }
        self.report(py, result).map(Some)
    }

    #[pyo3(name = "expire", signature = (now = None))]
    fn py_expire(&self, py: Python<'_>, now: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<Py<PyOrderUpdate>>> {
        let now = self.now(py, now, "now")?;
        let updates = with_writer(py, &self.writer, |w| w.expire(now))?;
        updates_of(py, &updates, &self.scale())
    }

    #[pyo3(name = "end_of_day", signature = (now = None))]
    fn py_end_of_day(
        &self,
        py: Python<'_>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Vec<Py<PyOrderUpdate>>> {
        let now = self.now(py, now, "now")?;
        let updates = with_writer(py, &self.writer, |w| w.end_of_day(now))?;
        updates_of(py, &updates, &self.scale())
    }

    #[pyo3(name = "depth_at")]
    fn py_depth_at<'py>(
        &self,
        py: Python<'py>,
        side: &Bound<'py, PyAny>,
        price: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let side = PySide::parse(side)?;
        let t = ticks(&self.scale(), price)?;
        crate::convert::py_quantity(py, &self.scale(), self.book.depth_at(side, t))
    }

    #[pyo3(name = "level")]
    fn py_level(
        &self,
        py: Python<'_>,
        side: &Bound<'_, PyAny>,
        price: &Bound<'_, PyAny>,
    ) -> PyResult<Option<Py<PyLevelStats>>> {
        let side = PySide::parse(side)?;
        let t = ticks(&self.scale(), price)?;
        self.book
            .level(side, t)
            .map(|snap| Py::new(py, PyLevelStats { snap, scale: self.scale() }))
            .transpose()
    }

    #[pyo3(name = "depth", signature = (n = 10))]
    fn py_depth(&self, py: Python<'_>, n: usize) -> PyResult<PyDepth> {
        let depth = self.book.depth(n);
        let scale = self.scale();
        let side = |levels: &[lft_engine::DepthLevel]| -> PyResult<Py<PyList>> {
            let objs: Vec<Py<PyLevel>> =
                levels.iter().map(|l| Py::new(py, PyLevel { level: *l, scale })).collect::<PyResult<_>>()?;
            Ok(PyList::new(py, objs)?.unbind())
        };
        Ok(PyDepth { bids: side(&depth.bids)?, asks: side(&depth.asks)? })
    }

    #[pyo3(name = "order")]
    fn py_order(&self, py: Python<'_>, order_id: &Bound<'_, PyAny>) -> PyResult<Option<Py<PyOrder>>> {
        let id = crate::convert::order_id(order_id)?;
        let view = with_writer(py, &self.writer, |w| unpoisoned(w).map(|w| w.order(id)))?;
        view.map(|view| Py::new(py, PyOrder { view, scale: self.scale() })).transpose()
    }

    #[pyo3(name = "state_hash")]
    fn py_state_hash(&self, py: Python<'_>) -> PyResult<u64> {
        Ok(with_writer(py, &self.writer, |w| unpoisoned(w).map(|w| w.state_hash()))?)
    }

    /// The book's whole state as bytes (the book image of `docs/snapshot-format.md`).
    /// The capture runs under the writer's lock, between commands; the encoding after it,
    /// with the GIL still released.
    #[pyo3(name = "snapshot")]
    fn py_snapshot<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let image = with_writer(py, &self.writer, |w| unpoisoned(w).map(|w| w.capture()))?;
        let bytes = without_gil(py, || image.encode());
        Ok(PyBytes::new(py, &bytes))
    }

    /// A book holding exactly the state `snapshot()` captured: symbol, tick and lot size,
    /// retention and order limit come from the bytes. It uses the default clock (a clock
    /// callable is not part of a snapshot). Raises `CorruptData` for bytes that are not a
    /// valid image, `TypeError` for anything but `bytes`.
    #[staticmethod]
    #[pyo3(name = "restore")]
    fn py_restore(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Self> {
        let data = data.cast::<PyBytes>().map_err(|_| {
            pyo3::exceptions::PyTypeError::new_err(format!(
                "OrderBook.restore() takes bytes, got {}",
                data.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
            ))
        })?;
        let bytes = data.as_bytes();
        let writer = without_gil(py, || {
            let image = BookImage::decode(bytes)?;
            BookWriter::restore(image.config()?, &image)
        })
        .map_err(PyEngineError)?;
        Ok(PyOrderBook { book: writer.reader().clone(), writer: Mutex::new(writer), clock: None })
    }

    /// Pickling (and `copy.copy` / `copy.deepcopy`): `OrderBook.restore(snapshot())`. The
    /// copy uses the default clock, whatever clock this book has.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let py = slf.py();
        let restore = py.get_type::<PyOrderBook>().getattr("restore")?;
        let bytes = slf.get().py_snapshot(py)?;
        Ok((restore, PyTuple::new(py, [bytes])?))
    }

    #[pyo3(name = "to_ticks")]
    fn py_to_ticks(&self, price: &Bound<'_, PyAny>) -> PyResult<i64> {
        ticks(&self.scale(), price)
    }

    #[pyo3(name = "to_lots")]
    fn py_to_lots(&self, quantity: &Bound<'_, PyAny>) -> PyResult<i64> {
        lots(&self.scale(), quantity, "quantity")
    }

    #[pyo3(name = "from_ticks")]
    fn py_from_ticks<'py>(&self, py: Python<'py>, ticks: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        crate::convert::py_price(py, &self.scale(), crate::convert::raw_count(ticks, "ticks")?)
    }

    #[pyo3(name = "from_lots")]
    fn py_from_lots<'py>(&self, py: Python<'py>, lots: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        crate::convert::py_quantity(py, &self.scale(), crate::convert::raw_count(lots, "lots")?)
    }

    fn __len__(&self) -> usize {
        self.book.len()
    }

    fn __contains__(&self, py: Python<'_>, order_id: &Bound<'_, PyAny>) -> PyResult<bool> {
        let Ok(id) = crate::convert::order_id(order_id) else { return Ok(false) };
        Ok(with_writer(py, &self.writer, |w| unpoisoned(w).map(|w| w.contains(id)))?)
    }

    fn __repr__(&self) -> String {
        let scale = self.scale();
        let (bid, ask) = self.book.top_of_book();
        let fmt = |p: Option<i64>| p.map_or("None".to_string(), |t| crate::convert::price_text(&scale, t));
        format!(
            "OrderBook({:?}, best_bid={}, best_ask={}, orders={})",
            self.book.symbol(),
            fmt(bid),
            fmt(ask),
            self.book.len()
        )
    }

    /// The top ten levels of each side as a table (for Jupyter).
    fn _repr_html_(&self) -> String {
        let depth = self.book.depth(10);
        crate::html::book_html("OrderBook", self.book.symbol(), self.book.len(), &self.scale(), &depth)
    }

    /// Cumulative depth chart of the top `levels` levels of each side
    /// (`lockfree_trading.analysis.plot_depth`); returns the matplotlib Axes.
    #[pyo3(name = "plot_depth", signature = (levels = 20, ax = None))]
    fn py_plot_depth<'py>(
        slf: &Bound<'py, Self>,
        levels: usize,
        ax: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        crate::analysis::call(slf.py(), "plot_depth", (slf, levels, ax))
    }
}

/// `OrderNotFound` as `None` (the `missing_ok` forms); every other error stays an error.
fn not_found_is_none<T>(result: EngineResultPy<T>) -> EngineResultPy<Option<T>> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(PyEngineError(EngineError::OrderNotFound(_))) => Ok(None),
        Err(e) => Err(e),
    }
}
