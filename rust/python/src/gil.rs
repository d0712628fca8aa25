//! The single place where the binding releases the GIL around engine work. What crosses is
//! owned Rust data or immutable Python memory (the buffer of a `bytes` object, which no
//! thread can change): never a Python object, never a mutable buffer (numpy columns are
//! copied first), never an epoch guard.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;

use lft_engine::{BookWriter, EngineError, EngineResult};
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
/// A panic inside the engine never reaches Python as a `PanicException`: it is caught here
/// and raised as `BookPoisoned` with the panic's message. The writer poisons itself when a
/// command panics (it refuses every later write with `BookPoisoned`); the panic is caught
/// inside the lock, so the mutex itself is never poisoned.
#[inline]
pub fn with_writer<T, F>(py: Python<'_>, writer: &Mutex<BookWriter>, work: F) -> Result<T, PyEngineError>
where
    F: Ungil + Send + FnOnce(&mut BookWriter) -> EngineResult<T>,
    T: Ungil + Send,
{
    without_gil(py, || {
        let mut w = writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match catch_unwind(AssertUnwindSafe(|| work(&mut w))) {
            Ok(result) => result.map_err(PyEngineError),
            Err(panic) => Err(PyEngineError(EngineError::BookPoisoned {
                symbol: w.symbol().to_string(),
                reason: format!("a command panicked: {}", panic_message(&*panic)),
            })),
        }
    })
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("panic")
}
