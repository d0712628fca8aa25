//! The single place where the binding releases the GIL around engine work. Only plain Rust
//! data crosses: no Python object, epoch guard or borrowed Python reference.

use pyo3::marker::Ungil;
use pyo3::Python;

/// Run `work` with the GIL released (other Python threads run meanwhile).
#[inline]
pub fn without_gil<T, F>(py: Python<'_>, work: F) -> T
where
    F: Ungil + FnOnce() -> T,
    T: Ungil,
{
    py.detach(work)
}
