//! Offline tools over the journal and snapshot directories, for the CLI: `recover --verify`
//! (rebuild every book, change nothing), `journal inspect` and `journal dump`.

use std::path::Path;

use lft_engine::journal::record::Journaled;
use lft_engine::journal::recovery::{recover, Mode, RecoveryReport};
use lft_engine::journal::segment::{is_unfinished_segment, list_segments, scan_segment};
use lft_engine::{Command, OrderType};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::errors::PyEngineError;
use crate::gil::without_gil;

/// The recovery report as a dict.
pub(crate) fn report_dict(py: Python<'_>, r: &RecoveryReport) -> PyResult<Py<PyDict>> {
    let d = PyDict::new(py);
    let symbols = PyList::empty(py);
    let mut orders = 0usize;
    for s in &r.symbols {
        let e = PyDict::new(py);
        e.set_item("symbol", &s.symbol)?;
        e.set_item("snapshot", s.snapshot.as_ref().map(|p| p.display().to_string()))?;
        e.set_item("snapshot_sequence", s.snapshot_sequence)?;
        e.set_item("commands_replayed", s.commands_replayed)?;
        e.set_item("command_sequence", s.command_sequence)?;
        e.set_item("resting_orders", s.resting_orders)?;
        e.set_item("state_hash", s.state_hash)?;
        orders += s.resting_orders;
        symbols.append(e)?;
    }
    d.set_item("symbols", symbols)?;
    d.set_item("segments", r.segments)?;
    d.set_item("commands_replayed", r.commands_replayed)?;
    d.set_item("resting_orders", orders)?;
    d.set_item("seconds", r.seconds)?;
    d.set_item("notes", r.notes.clone())?;
    Ok(d.unbind())
}

/// Rebuild every book from the directories `config` names, verifying every snapshot's CRC
/// and state hash, and change nothing. Returns the recovery report.
#[pyfunction]
#[pyo3(name = "verify_recovery")]
pub fn py_verify_recovery(py: Python<'_>, config: &Bound<'_, PyDict>) -> PyResult<Py<PyDict>> {
    let (sc, _) = crate::system::system_config(config)?;
    sc.validate().map_err(PyEngineError)?;
    let books: Vec<_> = sc.symbols.iter().map(|s| s.book.clone()).collect();
    let r = without_gil(py, || recover(&books, sc.journal.as_ref(), sc.snapshots.as_ref(), Mode::Verify))
        .map_err(PyEngineError)?;
    report_dict(py, &r.report)
}

/// Segments of a journal directory: per segment its run, worker, records, first and last
/// sequence numbers, and what is wrong with it.
#[pyfunction]
#[pyo3(name = "journal_inspect")]
pub fn py_journal_inspect(py: Python<'_>, directory: &str) -> PyResult<Vec<Py<PyDict>>> {
    let dir = Path::new(directory);
    let segments = list_segments(dir).map_err(PyEngineError)?;
    let mut out = Vec::new();
    for (id, path) in segments {
        let d = PyDict::new(py);
        d.set_item("file", path.display().to_string())?;
        d.set_item("run", id.run)?;
        d.set_item("worker", id.worker)?;
        d.set_item("index", id.index)?;
        match without_gil(py, || scan_segment(&path)) {
            Ok(scan) => {
                d.set_item(
                    "symbols",
                    scan.header.symbols.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
                )?;
                d.set_item("records", scan.records.len())?;
                d.set_item("bytes", scan.file_len)?;
                d.set_item("first_sequence", scan.records.first().map(|(_, r)| r.stream_sequence))?;
                d.set_item("last_sequence", scan.records.last().map(|(_, r)| r.stream_sequence))?;
                let mut errors = Vec::new();
                if scan.torn {
                    errors.push(format!(
                        "torn tail at byte {}: {} bytes of an unfinished append",
                        scan.good_until,
                        scan.file_len - scan.good_until
                    ));
                }
                if let Some(why) = scan.corrupt {
                    errors.push(format!("damaged record at byte {}: {why}", scan.good_until));
                }
                d.set_item("errors", errors)?;
            }
            Err(e) => {
                d.set_item("records", 0)?;
                let why = if is_unfinished_segment(&path).unwrap_or(false) {
                    format!(
                        "{e}: a crash came while this segment was being created (it holds no record); \
                         recovery removes it if it is the last of its stream"
                    )
                } else {
                    e.to_string()
                };
                d.set_item("errors", vec![why])?;
            }
        }
        out.push(d.unbind());
    }
    Ok(out)
}

/// Every readable record of `symbol` in a journal directory, in replay order, as dicts
/// (`command_sequence`, `timestamp`, `command`: a readable form in ticks and lots).
#[pyfunction]
#[pyo3(name = "journal_dump", signature = (directory, symbol = None, limit = None))]
pub fn py_journal_dump(
    py: Python<'_>,
    directory: &str,
    symbol: Option<&str>,
    limit: Option<usize>,
) -> PyResult<Vec<Py<PyDict>>> {
    let dir = Path::new(directory);
    let segments = list_segments(dir).map_err(PyEngineError)?;
    let mut out = Vec::new();
    for (_, path) in segments {
        let scan = match without_gil(py, || scan_segment(&path)) {
            Ok(scan) => scan,
            // A segment a crash left inside its header holds no record to show.
            Err(_) if is_unfinished_segment(&path).unwrap_or(false) => continue,
            Err(e) => return Err(PyEngineError(e).into()),
        };
        for (offset, r) in &scan.records {
            let name = scan.header.symbols.get(r.symbol as usize).map_or("?", |s| s.name.as_str());
            if symbol.is_some_and(|s| s != name) {
                continue;
            }
            if limit.is_some_and(|l| out.len() >= l) {
                return Ok(out);
            }
            let d = PyDict::new(py);
            d.set_item("file", path.display().to_string())?;
            d.set_item("offset", offset)?;
            d.set_item("symbol", name)?;
            d.set_item("stream_sequence", r.stream_sequence)?;
            d.set_item("command_sequence", r.command_sequence)?;
            d.set_item("timestamp", r.timestamp)?;
            d.set_item("command", r.what.describe())?;
            fields(&d, &r.what)?;
            out.push(d.unbind());
        }
    }
    Ok(out)
}

/// The record's fields in engine units (ticks, lots, nanoseconds), for tools and tests that
/// replay a journal themselves.
fn fields(d: &Bound<'_, PyDict>, what: &Journaled) -> PyResult<()> {
    match what {
        Journaled::Command(Command::New(o)) => {
            d.set_item("kind", "new")?;
            d.set_item("order_id", o.id)?;
            d.set_item("side", o.side as u8)?;
            d.set_item("order_type", if o.order_type == OrderType::Limit { "LIMIT" } else { "MARKET" })?;
            d.set_item("time_in_force", o.time_in_force.as_str())?;
            d.set_item("price", o.price)?;
            d.set_item("quantity", o.quantity)?;
            d.set_item("expire_time", o.expire_time)?;
            d.set_item("post_only", o.post_only)?;
            d.set_item("display_quantity", o.display_quantity)?;
        }
        Journaled::Command(Command::Cancel { id, .. }) => {
            d.set_item("kind", "cancel")?;
            d.set_item("order_id", *id)?;
        }
        Journaled::Command(Command::Modify(m)) => {
            d.set_item("kind", "modify")?;
            d.set_item("order_id", m.id)?;
            d.set_item("quantity", m.quantity)?;
            d.set_item("price", m.price)?;
        }
        Journaled::Command(Command::Expire { .. }) => d.set_item("kind", "expire")?,
        Journaled::Command(Command::EndOfDay { .. }) => d.set_item("kind", "end_of_day")?,
        Journaled::Batch(b) => {
            d.set_item("kind", "batch")?;
            d.set_item("sides", b.side.clone())?;
            d.set_item("prices", b.price.clone())?;
            d.set_item("quantities", b.quantity.clone())?;
            d.set_item("time_in_force_codes", b.time_in_force.clone())?;
            d.set_item("order_ids", b.order_id.clone())?;
        }
        Journaled::Halted => d.set_item("kind", "halted")?,
        Journaled::ClosePeriods { .. } => d.set_item("kind", "close_periods")?,
    }
    Ok(())
}
