//! Workload generator and stream replay for Python (benchmarks, soak tests).

use std::str::FromStr;

use lft_engine::{Command, EngineError, ExecutionReport, Modify, NewOrder, Side, TimeInForce};
use lft_workload::{generate, GeneratorConfig, Kind, Scenario, RECORD_LEN};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::book::PyOrderBook;
use crate::errors::invalid;
use crate::gil::{with_writer, without_gil};

/// Generate `count` records as raw little-endian bytes (40 per record); the Python side
/// views them as a numpy structured array.
#[pyfunction]
#[pyo3(name = "generate_workload", signature = (scenario, count, seed = 42, symbols = 1, uniform = false))]
pub fn py_generate_workload(
    py: Python<'_>,
    scenario: &str,
    count: usize,
    seed: u64,
    symbols: u16,
    uniform: bool,
) -> PyResult<Py<PyBytes>> {
    let scenario = Scenario::from_str(scenario).map_err(invalid)?;
    if symbols == 0 {
        return Err(invalid("symbols must be >= 1"));
    }
    let mut cfg = GeneratorConfig::new(scenario, seed);
    cfg.symbols = symbols;
    cfg.uniform_activity = uniform;
    let bytes = without_gil(py, || {
        let records = generate(cfg, count);
        let mut out = Vec::with_capacity(16 + records.len() * RECORD_LEN);
        lft_workload::write_stream(&mut out, &records).expect("writing to memory cannot fail");
        out
    });
    Ok(PyBytes::new(py, &bytes[lft_workload::HEADER_LEN..]).unbind())
}

/// Outcome counts of a replayed stream.
#[pyclass(name = "ReplayStats", module = "lockfree_trading._core", frozen, get_all)]
pub struct PyReplayStats {
    /// Commands applied.
    pub commands: u64,
    /// Commands the book refused (e.g. cancels of orders that already traded).
    pub rejected: u64,
    /// Of those, refused because the order they name was not resting: a cancel or modify
    /// that lost the race to a fill (the workload sends these on purpose).
    pub not_found: u64,
    /// Trades printed.
    pub trades: u64,
    /// Events emitted (trades and order updates).
    pub events: u64,
}

#[pymethods]
impl PyReplayStats {
    fn __repr__(&self) -> String {
        format!(
            "ReplayStats(commands={}, rejected={}, not_found={}, trades={}, events={})",
            self.commands, self.rejected, self.not_found, self.trades, self.events
        )
    }
}

/// Symbol index and engine command of one raw 40-byte record.
fn record_command(raw: &[u8]) -> (u16, Command) {
    let i64_at = |i: usize| i64::from_le_bytes(raw[i..i + 8].try_into().expect("8 bytes"));
    let symbol = u16::from_le_bytes([raw[4], raw[5]]);
    let id = i64_at(8) as u64 as u128;
    let side = if raw[1] == 0 { Side::Buy } else { Side::Sell };
    let (price, quantity, ts) = (i64_at(16), i64_at(24), i64_at(32));
    let command = match raw[0] {
        k if k == Kind::New as u8 => {
            let tif = if raw[2] == 1 { TimeInForce::Ioc } else { TimeInForce::Gtc };
            Command::New(NewOrder::limit(id, side, price, quantity, ts).with_tif(tif))
        }
        k if k == Kind::Cancel as u8 => Command::Cancel { id, timestamp: ts },
        _ => Command::Modify(Modify { id, quantity: Some(quantity), price: Some(price), timestamp: ts }),
    };
    (symbol, command)
}

fn check_stream(records: &[u8]) -> PyResult<()> {
    if records.len() % RECORD_LEN != 0 {
        return Err(invalid(format!(
            "stream length {} is not a multiple of {RECORD_LEN} bytes",
            records.len()
        )));
    }
    Ok(())
}

/// A stream's commands split by symbol, each symbol's in stream order.
pub(crate) fn commands_by_symbol(records: &[u8], symbols: usize) -> PyResult<Vec<Vec<Command>>> {
    check_stream(records)?;
    let mut out: Vec<Vec<Command>> = (0..symbols).map(|_| Vec::new()).collect();
    for raw in records.chunks_exact(RECORD_LEN) {
        let (symbol, command) = record_command(raw);
        let slot = out.get_mut(symbol as usize).ok_or_else(|| {
            invalid(format!("the stream names symbol #{symbol} but the system has {symbols} symbols"))
        })?;
        slot.push(command);
    }
    Ok(out)
}

#[pymethods]
impl PyOrderBook {
    /// Apply a workload stream (raw 40-byte records, e.g. `array.tobytes()`) in order, with
    /// the GIL released. Records of other symbols than `symbol` are skipped.
    #[pyo3(name = "replay", signature = (records, *, symbol = 0))]
    fn py_replay(&self, py: Python<'_>, records: &[u8], symbol: u16) -> PyResult<PyReplayStats> {
        check_stream(records)?;
        let stats = with_writer(py, &self.writer, |book| {
            let mut report = ExecutionReport::default();
            let mut stats = PyReplayStats { commands: 0, rejected: 0, not_found: 0, trades: 0, events: 0 };
            for raw in records.chunks_exact(RECORD_LEN) {
                let (sym, command) = record_command(raw);
                if sym != symbol {
                    continue;
                }
                let result = match &command {
                    Command::New(o) => book.submit_into(o, &mut report),
                    Command::Cancel { id, timestamp } => book.cancel_into(*id, *timestamp, &mut report),
                    Command::Modify(m) => book.modify_into(m, &mut report),
                    _ => unreachable!("streams hold new, cancel and modify only"),
                };
                stats.commands += 1;
                match result {
                    Ok(()) => {
                        stats.trades += report.trades.len() as u64;
                        stats.events += (report.trades.len() + report.updates.len() + 1) as u64;
                    }
                    Err(e @ EngineError::BookPoisoned { .. }) => return Err(e),
                    Err(e) => {
                        stats.rejected += 1;
                        stats.not_found += u64::from(matches!(e, EngineError::OrderNotFound(_)));
                    }
                }
            }
            Ok(stats)
        })?;
        Ok(stats)
    }
}
