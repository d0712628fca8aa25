//! Statistics for Python: the `statistics` config section, period-close ticks, and the
//! closed rows drained from the engine as plain dicts (prices and quantities converted to
//! floats at the symbol's tick and lot size; the store and the frames take them from there).

use lft_engine::stats::{reject_reason_name, BookRow, StatsConfig, StatsPeriod, StatsRecord, WorkerRow};
use lft_engine::system::Request;
use lft_engine::{Decimal, Scale};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::gil::without_gil;
use crate::system::{config_error, get, stamp, PyTradingSystem};

/// The engine's statistics config from `{"periods": [[name, nanos], ...], ...}`.
pub(crate) fn stats_config(d: &Bound<'_, PyDict>) -> PyResult<StatsConfig> {
    let defaults = StatsConfig::default();
    let periods: Vec<(String, i64)> = get(d, "periods", Vec::new())?;
    let config = StatsConfig {
        periods: if periods.is_empty() {
            defaults.periods
        } else {
            periods.into_iter().map(|(name, nanos)| StatsPeriod { name, nanos }).collect()
        },
        depth_levels: get(d, "depth_levels", defaults.depth_levels)?,
        levels: get(d, "levels", defaults.levels)?,
        queue_capacity: get(d, "queue_capacity", defaults.queue_capacity)?,
    };
    config
        .validate()
        .map_err(|e| config_error(e.to_string().trim_start_matches("invalid config: ").to_string()))?;
    Ok(config)
}

/// The exact decimal the book would show, as a float; a count beyond what a decimal can
/// hold (aggregates) is multiplied as floats instead.
fn float(exact: lft_engine::EngineResult<Decimal>, count: i64, step: Decimal) -> f64 {
    use rust_decimal::prelude::ToPrimitive;
    exact.ok().and_then(|d| d.to_f64()).unwrap_or(count as f64 * factor(step))
}

fn price(scale: &Scale, ticks: i64) -> f64 {
    float(scale.try_price(ticks), ticks, scale.tick_size)
}

fn quantity(scale: &Scale, lots: i64) -> f64 {
    float(scale.try_quantity(lots), lots, scale.lot_size)
}

fn factor(d: Decimal) -> f64 {
    use rust_decimal::prelude::ToPrimitive;
    d.to_f64().unwrap_or(0.0)
}

fn book_dict<'py>(
    py: Python<'py>,
    r: &BookRow,
    scale: &Scale,
    symbol: &str,
    period: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let (tick, lot) = (factor(scale.tick_size), factor(scale.lot_size));
    let d = PyDict::new(py);
    let px = |t: Option<i64>| t.map(|t| price(scale, t));
    d.set_item("kind", "book")?;
    d.set_item("symbol", symbol)?;
    d.set_item("period", period)?;
    d.set_item("period_ns", r.length)?;
    d.set_item("start", r.start)?;
    d.set_item("complete", r.complete)?;
    d.set_item("covered_from", r.covered_from)?;
    d.set_item("covered_to", r.covered_to)?;
    d.set_item("open", px(r.open))?;
    d.set_item("high", px(r.high))?;
    d.set_item("low", px(r.low))?;
    d.set_item("close", px(r.close))?;
    d.set_item("volume", quantity(scale, r.volume))?;
    d.set_item("notional", r.notional as f64 * tick * lot)?;
    d.set_item("trades", r.trades)?;
    d.set_item("buy_volume", quantity(scale, r.buy_volume))?;
    d.set_item("sell_volume", quantity(scale, r.sell_volume))?;
    d.set_item("orders_added", r.orders_added)?;
    d.set_item("orders_cancelled", r.orders_cancelled)?;
    d.set_item("orders_modified", r.orders_modified)?;
    d.set_item("orders_expired", r.orders_expired)?;
    d.set_item("rejected", r.rejected_total())?;
    let rejects = PyDict::new(py);
    for (i, n) in r.rejected.iter().enumerate() {
        if *n > 0 {
            rejects.set_item(reject_reason_name(i).unwrap_or("other"), *n)?;
        }
    }
    d.set_item("rejects", rejects)?;
    d.set_item("messages", r.messages)?;
    d.set_item("best_bid", px(r.best_bid.map(|b| b.0)))?;
    d.set_item("bid_size", r.best_bid.map(|b| quantity(scale, b.1)))?;
    d.set_item("best_ask", px(r.best_ask.map(|a| a.0)))?;
    d.set_item("ask_size", r.best_ask.map(|a| quantity(scale, a.1)))?;
    d.set_item("spread_time", r.spread_time as f64 * tick)?;
    d.set_item("two_sided_ns", r.two_sided_ns)?;
    d.set_item("bid_size_time", r.bid_size_time as f64 * lot)?;
    d.set_item("bid_ns", r.bid_ns)?;
    d.set_item("ask_size_time", r.ask_size_time as f64 * lot)?;
    d.set_item("ask_ns", r.ask_ns)?;
    d.set_item("bid_depth", quantity(scale, r.bid_depth))?;
    d.set_item("ask_depth", quantity(scale, r.ask_depth))?;
    d.set_item("resting_orders", r.resting_orders)?;
    d.set_item("bid_levels", r.bid_levels)?;
    d.set_item("ask_levels", r.ask_levels)?;
    let levels = PyList::empty(py);
    for l in &r.levels {
        let x = PyDict::new(py);
        x.set_item("side", if l.side == lft_engine::Side::Buy { "buy" } else { "sell" })?;
        x.set_item("price", price(scale, l.price))?;
        x.set_item("orders_added", l.orders_added)?;
        x.set_item("orders_cancelled", l.orders_cancelled)?;
        x.set_item("orders_expired", l.orders_expired)?;
        x.set_item("orders_filled", l.orders_filled)?;
        x.set_item("quantity_executed", quantity(scale, l.quantity_executed))?;
        x.set_item("trades", l.trades)?;
        x.set_item("queue_wait_ns", l.queue_wait_ns)?;
        x.set_item("quantity", quantity(scale, l.quantity))?;
        x.set_item("order_count", l.order_count)?;
        levels.append(x)?;
    }
    d.set_item("levels", levels)?;
    Ok(d)
}

fn worker_dict<'py>(py: Python<'py>, r: &WorkerRow, period: &str) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("kind", "worker")?;
    d.set_item("worker", r.worker)?;
    d.set_item("period", period)?;
    d.set_item("period_ns", r.length)?;
    d.set_item("start", r.start)?;
    d.set_item("complete", r.complete)?;
    d.set_item("covered_from", r.covered_from)?;
    d.set_item("covered_to", r.covered_to)?;
    d.set_item("commands", r.commands)?;
    d.set_item("envelopes", r.envelopes)?;
    let l = &r.latency;
    d.set_item("latency_count", l.count)?;
    d.set_item("latency_mean_ns", l.mean)?;
    d.set_item("latency_p50_ns", l.p50)?;
    d.set_item("latency_p90_ns", l.p90)?;
    d.set_item("latency_p99_ns", l.p99)?;
    d.set_item("latency_p999_ns", l.p999)?;
    d.set_item("latency_max_ns", l.max)?;
    d.set_item("queue_depth_max", r.queue_depth_max)?;
    d.set_item("events_published", r.events_published)?;
    d.set_item("events_lost", r.events_lost)?;
    d.set_item("journal_bytes", r.journal_bytes)?;
    d.set_item("journal_records", r.journal_records)?;
    d.set_item("journal_syncs", r.journal_syncs)?;
    d.set_item("journal_sync_ns", r.journal_sync_ns)?;
    d.set_item("snapshots", r.snapshots)?;
    d.set_item("snapshot_capture_max_ns", r.snapshot_capture_max_ns)?;
    d.set_item("rows_dropped", r.rows_dropped)?;
    Ok(d)
}

#[pymethods]
impl PyTradingSystem {
    /// Closed statistics rows (oldest first, at most `max`), as dicts with `kind` "book" or
    /// "worker"; empty when statistics are off.
    #[pyo3(name = "drain_statistics", signature = (max = 100_000))]
    fn py_drain_statistics(&self, py: Python<'_>, max: usize) -> PyResult<Vec<Py<PyDict>>> {
        let system = &self.system;
        let rows = without_gil(py, || system.drain_statistics(max));
        let names: Vec<String> = system
            .statistics_config()
            .map(|c| c.periods.iter().map(|p| p.name.clone()).collect())
            .unwrap_or_default();
        let period = |i: u8| names.get(i as usize).map_or("?", String::as_str);
        rows.iter()
            .map(|r| {
                Ok(match r {
                    StatsRecord::Book(b) => {
                        let i = b.symbol as usize;
                        book_dict(py, b, &self.scales[i], &self.names[i], period(b.period))?.unbind()
                    }
                    StatsRecord::Worker(w) => worker_dict(py, w, period(w.period))?.unbind(),
                })
            })
            .collect()
    }

    /// Close every statistics period of `symbol` that ended by `now` (the worker's clock when
    /// None): a command through the symbol's queue and journal. Returns its reply.
    #[pyo3(name = "close_periods", signature = (symbol, now = None))]
    fn py_close_periods(
        &self,
        py: Python<'_>,
        symbol: &str,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let idx = self.index(symbol)?;
        let (ts, worker_time) = stamp(now)?;
        self.run(py, idx, Request::ClosePeriods { now: ts }, worker_time)
    }

    /// Statistics rows dropped because they were not drained in time.
    #[getter]
    fn statistics_rows_dropped(&self) -> u64 {
        self.system.statistics_rows_dropped()
    }

    /// The configured statistics periods as `(name, nanoseconds)`, or None when off.
    #[getter]
    fn statistics_periods(&self) -> Option<Vec<(String, i64)>> {
        self.system.statistics_config().map(|c| c.periods.iter().map(|p| (p.name.clone(), p.nanos)).collect())
    }
}
