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

static ERRORS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyType>> {
    let module =
        ERRORS.get_or_try_init(py, || py.import("lockfree_trading.errors").map(|m| m.into_any().unbind()))?;
    Ok(module.bind(py).getattr(name)?.cast_into::<PyType>()?)
}

impl From<PyEngineError> for PyErr {
    fn from(err: PyEngineError) -> PyErr {
        let (name, message) = match &err.0 {
            EngineError::InvalidOrder(m) => ("InvalidOrder", m.clone()),
            EngineError::DuplicateOrderId(_) => ("DuplicateOrderId", err.0.to_string()),
            EngineError::OrderNotFound(_) => ("OrderNotFound", err.0.to_string()),
            EngineError::InvalidConfig(m) => ("InvalidConfig", m.clone()),
        };
        Python::attach(|py| match class(py, name) {
            Ok(cls) => PyErr::from_type(cls, message),
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
