//! The one error pipeline: every core `EngineError` becomes an instance of the matching
//! class from `lockfree_trading.errors` (all under `TradingError`).

use lft_engine::EngineError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

/// Wrapper that lets the core error cross into Python (orphan rule).
pub struct PyEngineError(pub EngineError);

impl From<EngineError> for PyEngineError {
    fn from(e: EngineError) -> Self {
        PyEngineError(e)
    }
}

/// The Python classes, looked up once (rejects are frequent in real flow).
static CLASSES: [PyOnceLock<Py<PyType>>; 4] =
    [PyOnceLock::new(), PyOnceLock::new(), PyOnceLock::new(), PyOnceLock::new()];
const NAMES: [&str; 4] = ["InvalidOrder", "DuplicateOrderId", "OrderNotFound", "InvalidConfig"];

fn class(py: Python<'_>, which: usize) -> PyResult<&Py<PyType>> {
    CLASSES[which].get_or_try_init(py, || {
        Ok(py.import("lockfree_trading.errors")?.getattr(NAMES[which])?.cast_into::<PyType>()?.unbind())
    })
}

impl From<PyEngineError> for PyErr {
    fn from(err: PyEngineError) -> PyErr {
        let (which, message) = match err.0 {
            EngineError::InvalidOrder(m) => (0, m),
            e @ EngineError::DuplicateOrderId(_) => (1, e.to_string()),
            e @ EngineError::OrderNotFound(_) => (2, e.to_string()),
            EngineError::InvalidConfig(m) => (3, m),
        };
        Python::attach(|py| match class(py, which) {
            Ok(cls) => PyErr::from_type(cls.bind(py).clone(), message),
            Err(import_error) => import_error,
        })
    }
}

/// Shorthand for an `InvalidOrder` raised from conversion code.
pub fn invalid(msg: impl Into<String>) -> PyErr {
    PyEngineError(EngineError::InvalidOrder(msg.into())).into()
}

/// Result type of binding functions that fail with engine errors.
pub type EngineResultPy<T> = Result<T, PyEngineError>;
