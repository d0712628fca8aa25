//! Result objects. They keep engine integers and convert to Decimal/UUID only when an
//! attribute is read, so building a report costs little.

use lft_engine::{DepthLevel, ExecutionReport, LevelSnapshot, OrderUpdate, OrderView, Scale, Trade};
use pyo3::prelude::*;

use crate::analysis::named_tuple;
use crate::convert::{price_text, py_price, py_quantity, quantity_text, to_py_uuid};
use crate::enums::{PyOrderStatus, PySide, PyTimeInForce};
use crate::html;

/// One execution.
#[pyclass(name = "Trade", module = "lockfree_trading._core", frozen)]
pub struct PyTrade {
    pub trade: Trade,
    pub scale: Scale,
}

#[pymethods]
impl PyTrade {
    #[getter]
    fn sequence(&self) -> u64 {
        self.trade.sequence
    }
    #[getter]
    fn price<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py_price(py, &self.scale, self.trade.price)
    }
    #[getter]
    fn quantity<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py_quantity(py, &self.scale, self.trade.quantity)
    }
    #[getter]
    fn maker_order_id<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py_uuid(py, self.trade.maker_order_id)
    }
    #[getter]
    fn taker_order_id<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py_uuid(py, self.trade.taker_order_id)
    }
    #[getter]
    fn taker_side(&self) -> PySide {
        self.trade.taker_side.into()
    }
    #[getter]
    fn timestamp(&self) -> i64 {
        self.trade.timestamp
    }
    fn __repr__(&self) -> String {
        format!(
            "Trade(sequence={}, price={}, quantity={}, maker={}, taker={}, taker_side={})",
            self.trade.sequence,
            price_text(&self.scale, self.trade.price),
            quantity_text(&self.scale, self.trade.quantity),
            lft_engine::format_id(self.trade.maker_order_id),
            lft_engine::format_id(self.trade.taker_order_id),
            PySide::from(self.trade.taker_side).__str__(),
        )
    }
}
named_tuple!(PyTrade, [sequence, price, quantity, maker_order_id, taker_order_id, taker_side, timestamp]);

/// Shared getters of anything that wraps an `OrderUpdate`.
fn update_repr(kind: &str, u: &OrderUpdate, scale: &Scale) -> String {
    format!(
        "{kind}(order_id={}, side={}, status={}, filled_quantity={}, remaining_quantity={}, sequence={})",
        lft_engine::format_id(u.order_id),
        PySide::from(u.side).__str__(),
        PyOrderStatus::from(u.status).__str__(),
        quantity_text(scale, u.filled_quantity),
        quantity_text(scale, u.remaining_quantity),
        u.sequence,
    )
}

macro_rules! update_getters {
    ($ty:ident, $field:ident) => {
        #[pymethods]
        impl $ty {
            #[getter]
            fn order_id<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                to_py_uuid(py, self.$field().order_id)
            }
            #[getter]
            fn side(&self) -> PySide {
                self.$field().side.into()
            }
            #[getter]
            fn status(&self) -> PyOrderStatus {
                self.$field().status.into()
            }
            #[getter]
            fn price<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
                self.$field().price.map(|p| py_price(py, &self.scale, p)).transpose()
            }
            #[getter]
            fn filled_quantity<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                py_quantity(py, &self.scale, self.$field().filled_quantity)
            }
            #[getter]
            fn remaining_quantity<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                py_quantity(py, &self.scale, self.$field().remaining_quantity)
            }
            #[getter]
            fn reject_reason(&self) -> Option<&'static str> {
                self.$field().reject_reason.map(|r| r.as_str())
            }
            #[getter]
            fn sequence(&self) -> u64 {
                self.sequence_number()
            }
            /// Book sequence number of this order's update event.
            #[getter]
            fn event_sequence(&self) -> u64 {
                self.$field().sequence
            }
            #[getter]
            fn timestamp(&self) -> i64 {
                self.$field().timestamp
            }
            fn __repr__(&self) -> String {
                self.repr()
            }
        }
    };
}

/// A status change of one order.
#[pyclass(name = "OrderUpdate", module = "lockfree_trading._core", frozen)]
pub struct PyOrderUpdate {
    pub update: OrderUpdate,
    pub scale: Scale,
}

impl PyOrderUpdate {
    fn inner(&self) -> &OrderUpdate {
        &self.update
    }
    fn sequence_number(&self) -> u64 {
        self.update.sequence
    }
    fn repr(&self) -> String {
        update_repr("OrderUpdate", &self.update, &self.scale)
    }
}
update_getters!(PyOrderUpdate, inner);

/// Stands in for the order update of reports that have none (expiry sweeps).
static NO_UPDATE: OrderUpdate = OrderUpdate {
    sequence: 0,
    order_id: 0,
    side: lft_engine::Side::Buy,
    status: lft_engine::OrderStatus::New,
    filled_quantity: 0,
    remaining_quantity: 0,
    price: None,
    reject_reason: None,
    timestamp: 0,
};

/// The outcome of one command.
#[pyclass(name = "ExecutionReport", module = "lockfree_trading._core", frozen)]
pub struct PyExecutionReport {
    pub report: ExecutionReport,
    pub scale: Scale,
    /// Set for reports from a `TradingSystem`: the worker's per-symbol command number.
    pub command_sequence: Option<u64>,
    /// Set for reports from a `TradingSystem`.
    pub symbol: Option<std::sync::Arc<str>>,
}

impl PyExecutionReport {
    fn inner(&self) -> &OrderUpdate {
        self.report.report.as_ref().unwrap_or(&NO_UPDATE)
    }
    /// A system report's command number; a book report's event sequence number.
    fn sequence_number(&self) -> u64 {
        self.command_sequence.unwrap_or(self.inner().sequence)
    }
    fn repr(&self) -> String {
        let mut s = update_repr("ExecutionReport", self.inner(), &self.scale);
        s.pop();
        s.push_str(&format!(", trades={}, updates={})", self.report.trades.len(), self.report.updates.len()));
        s
    }
}
update_getters!(PyExecutionReport, inner);

/// Trades as Python objects.
pub fn trades_of(py: Python<'_>, report: &ExecutionReport, scale: &Scale) -> PyResult<Vec<Py<PyTrade>>> {
    report.trades.iter().map(|t| Py::new(py, PyTrade { trade: *t, scale: *scale })).collect()
}

/// Updates as Python objects.
pub fn updates_of(
    py: Python<'_>,
    updates: &[OrderUpdate],
    scale: &Scale,
) -> PyResult<Vec<Py<PyOrderUpdate>>> {
    updates.iter().map(|u| Py::new(py, PyOrderUpdate { update: *u, scale: *scale })).collect()
}

/// One aggregated level of a depth view.
#[pyclass(name = "Level", module = "lockfree_trading._core", frozen)]
pub struct PyLevel {
    pub level: DepthLevel,
    pub scale: Scale,
}

#[pymethods]
impl PyLevel {
    #[getter]
    fn price<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py_price(py, &self.scale, self.level.price)
    }
    #[getter]
    fn quantity<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py_quantity(py, &self.scale, self.level.quantity)
    }
    #[getter]
    fn order_count(&self) -> u64 {
        self.level.order_count
    }
    fn __repr__(&self) -> String {
        format!(
            "Level(price={}, quantity={}, order_count={})",
            price_text(&self.scale, self.level.price),
            quantity_text(&self.scale, self.level.quantity),
            self.level.order_count
        )
    }
}
named_tuple!(PyLevel, [price, quantity, order_count]);

/// Both sides of a depth view.
#[pyclass(name = "Depth", module = "lockfree_trading._core", frozen)]
pub struct PyDepth {
    #[pyo3(get)]
    pub bids: Py<pyo3::types::PyList>,
    #[pyo3(get)]
    pub asks: Py<pyo3::types::PyList>,
}

#[pymethods]
impl PyDepth {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("Depth(bids={}, asks={})", self.bids.bind(py).repr()?, self.asks.bind(py).repr()?))
    }
    /// Both sides as a pandas DataFrame (`lockfree_trading.analysis.depth_frame`).
    fn to_frame<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        crate::analysis::call(slf.py(), "depth_frame", (slf,))
    }
    fn _repr_html_(&self, py: Python<'_>) -> PyResult<String> {
        let cells = |side: &Py<pyo3::types::PyList>| -> PyResult<Vec<html::LevelCells>> {
            side.bind(py)
                .iter()
                .map(|item| {
                    let level = item.cast::<PyLevel>()?;
                    let level = level.get();
                    Ok(html::LevelCells::new(&level.scale, &level.level))
                })
                .collect()
        };
        let (bids, asks) = (cells(&self.bids)?, cells(&self.asks)?);
        Ok(format!(
            "<div><b>Depth</b> &middot; {} bid levels &middot; {} ask levels{}</div>",
            bids.len(),
            asks.len(),
            html::depth_table(&bids, &asks)
        ))
    }
}

/// Statistics of one price level.
#[pyclass(name = "LevelStats", module = "lockfree_trading._core", frozen)]
pub struct PyLevelStats {
    pub snap: LevelSnapshot,
    pub scale: Scale,
}

#[pymethods]
impl PyLevelStats {
    #[getter]
    fn side(&self) -> PySide {
        self.snap.side.into()
    }
    #[getter]
    fn price<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py_price(py, &self.scale, self.snap.price)
    }
    #[getter]
    fn quantity<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py_quantity(py, &self.scale, self.snap.quantity)
    }
    #[getter]
    fn order_count(&self) -> u64 {
        self.snap.order_count
    }
    #[getter]
    fn orders_added(&self) -> u64 {
        self.snap.orders_added
    }
    #[getter]
    fn orders_cancelled(&self) -> u64 {
        self.snap.orders_cancelled
    }
    #[getter]
    fn orders_expired(&self) -> u64 {
        self.snap.orders_expired
    }
    #[getter]
    fn orders_filled(&self) -> u64 {
        self.snap.orders_filled
    }
    #[getter]
    fn quantity_executed<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py_quantity(py, &self.scale, self.snap.quantity_executed)
    }
    #[getter]
    fn trade_count(&self) -> u64 {
        self.snap.trade_count
    }
    #[getter]
    fn queue_wait_ns(&self) -> u64 {
        self.snap.queue_wait_ns
    }
    #[getter]
    fn first_activity(&self) -> Option<i64> {
        self.snap.first_activity
    }
    #[getter]
    fn last_activity(&self) -> Option<i64> {
        self.snap.last_activity
    }
    fn __repr__(&self) -> String {
        let s = &self.snap;
        format!(
            "LevelStats(side={}, price={}, quantity={}, order_count={}, orders_added={}, orders_cancelled={}, \
             orders_expired={}, orders_filled={}, quantity_executed={}, trade_count={}, queue_wait_ns={})",
            PySide::from(s.side).__str__(),
            price_text(&self.scale, s.price),
            quantity_text(&self.scale, s.quantity),
            s.order_count,
            s.orders_added,
            s.orders_cancelled,
            s.orders_expired,
            s.orders_filled,
            quantity_text(&self.scale, s.quantity_executed),
            s.trade_count,
            s.queue_wait_ns
        )
    }
    /// The fields as a plain dict, the getters' values (`Decimal`s stay `Decimal`).
    fn to_dict<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        Self::_asdict(slf)
    }
    fn _repr_html_(&self) -> String {
        let s = &self.snap;
        let opt = |t: Option<i64>| t.map_or_else(|| "None".to_string(), |t| t.to_string());
        let side = PySide::from(s.side).__str__();
        html::fields_html(
            &format!("LevelStats {side} {}", price_text(&self.scale, s.price)),
            &[
                ("side", side.to_string()),
                ("price", price_text(&self.scale, s.price)),
                ("quantity", quantity_text(&self.scale, s.quantity)),
                ("order_count", s.order_count.to_string()),
                ("orders_added", s.orders_added.to_string()),
                ("orders_cancelled", s.orders_cancelled.to_string()),
                ("orders_expired", s.orders_expired.to_string()),
                ("orders_filled", s.orders_filled.to_string()),
                ("quantity_executed", quantity_text(&self.scale, s.quantity_executed)),
                ("trade_count", s.trade_count.to_string()),
                ("queue_wait_ns", s.queue_wait_ns.to_string()),
                ("first_activity", opt(s.first_activity)),
                ("last_activity", opt(s.last_activity)),
            ],
        )
    }
}
named_tuple!(
    PyLevelStats,
    [
        side,
        price,
        quantity,
        order_count,
        orders_added,
        orders_cancelled,
        orders_expired,
        orders_filled,
        quantity_executed,
        trade_count,
        queue_wait_ns,
        first_activity,
        last_activity,
    ]
);

/// A resting order.
#[pyclass(name = "Order", module = "lockfree_trading._core", frozen)]
pub struct PyOrder {
    pub view: OrderView,
    pub scale: Scale,
}

#[pymethods]
impl PyOrder {
    #[getter]
    fn order_id<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py_uuid(py, self.view.id)
    }
    #[getter]
    fn side(&self) -> PySide {
        self.view.side.into()
    }
    #[getter]
    fn price<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py_price(py, &self.scale, self.view.price)
    }
    #[getter]
    fn quantity<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py_quantity(py, &self.scale, self.view.quantity)
    }
    #[getter]
    fn remaining_quantity<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py_quantity(py, &self.scale, self.view.remaining_quantity)
    }
    #[getter]
    fn visible_quantity<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py_quantity(py, &self.scale, self.view.visible_quantity)
    }
    #[getter]
    fn filled_quantity<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py_quantity(py, &self.scale, self.view.filled_quantity)
    }
    #[getter]
    fn time_in_force(&self) -> PyTimeInForce {
        self.view.time_in_force.into()
    }
    #[getter]
    fn expire_time(&self) -> Option<i64> {
        self.view.expire_time
    }
    #[getter]
    fn post_only(&self) -> bool {
        self.view.post_only
    }
    #[getter]
    fn display_quantity<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.view.display_quantity.map(|d| py_quantity(py, &self.scale, d)).transpose()
    }
    #[getter]
    fn timestamp(&self) -> i64 {
        self.view.timestamp
    }
    fn __repr__(&self) -> String {
        format!(
            "Order(order_id={}, side={}, price={}, remaining_quantity={}, filled_quantity={})",
            lft_engine::format_id(self.view.id),
            PySide::from(self.view.side).__str__(),
            price_text(&self.scale, self.view.price),
            quantity_text(&self.scale, self.view.remaining_quantity),
            quantity_text(&self.scale, self.view.filled_quantity),
        )
    }
}

#[pymethods]
impl PyExecutionReport {
    #[getter]
    fn trades(&self, py: Python<'_>) -> PyResult<Vec<Py<PyTrade>>> {
        trades_of(py, &self.report, &self.scale)
    }
    #[getter]
    fn updates(&self, py: Python<'_>) -> PyResult<Vec<Py<PyOrderUpdate>>> {
        updates_of(py, &self.report.updates, &self.scale)
    }
    /// The symbol, for reports from a `TradingSystem` (None from an `OrderBook`).
    #[getter]
    fn symbol(&self) -> Option<&str> {
        self.symbol.as_deref()
    }
    /// The worker's per-symbol command number (None from an `OrderBook`).
    #[getter]
    fn command_sequence(&self) -> Option<u64> {
        self.command_sequence
    }
    /// The trades as a pandas DataFrame (`lockfree_trading.analysis.trades_frame`).
    fn trades_frame<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        crate::analysis::call(slf.py(), "trades_frame", (slf,))
    }
}
