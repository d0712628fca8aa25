//! The single place where the binding releases the GIL around engine work. What crosses is
//! owned Rust data or immutable Python memory (the buffer of a `bytes` object, which no
//! thread can change): never a Python object, never a mutable buffer (numpy columns are
//! copied first), never an epoch guard.

use std::sync::Mutex;

use lft_engine::{BookWriter, EngineResult};
use pyo3::marker::Ungil;
use pyo3::Python;

use crate::errors::PyEngineError;

/// Run `work` with the GIL released (other Python threads run meanwhile).
#[inline]
pub fn without_gil<T, F>(py: Python<'_>, work: F) -> T
where
    F: Ungil + FnOnce() -> T,
    T: Ungil,
{
    py.detach(work)
}

/// Run `work` on a book's writer: the GIL is released first, then the writer's mutex is
/// taken, so Python threads sharing one `OrderBook` wait for each other without holding
/// the GIL. The mutex is `std::sync::Mutex` (a futex: an uncontended lock is one
/// compare-and-swap, a contended one spins briefly, then parks the thread in the kernel).
///
/// The writer poisons itself when a command panics (it refuses further writes with
/// `BookPoisoned`), so a poisoned mutex, which only a panic in `work` outside the writer's
/// methods could cause, still holds a consistent writer and is used as is.
#[inline]
pub fn with_writer<T, F>(py: Python<'_>, writer: &Mutex<BookWriter>, work: F) -> Result<T, PyEngineError>
where
    F: Ungil + Send + FnOnce(&mut BookWriter) -> EngineResult<T>,
    T: Ungil + Send,
{
    without_gil(py, || {
        let mut w = writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        work(&mut w).map_err(PyEngineError)
    })
}
