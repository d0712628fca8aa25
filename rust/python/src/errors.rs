//! The one error pipeline: every core `EngineError` becomes an instance of the matching
//! class from `lockfree_trading.errors` (all under `TradingError`).

use lft_engine::EngineError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyString, PyType};

/// Wrapper that lets the core error cross into Python (orphan rule).
pub struct PyEngineError(pub EngineError);

impl From<EngineError> for PyEngineError {
    fn from(e: EngineError) -> Self {
        PyEngineError(e)
    }
}

/// The Python classes, looked up once (rejects are frequent in real flow).
static CLASSES: [PyOnceLock<Py<PyType>>; 11] = [const { PyOnceLock::new() }; 11];
const NAMES: [&str; 11] = [
    "InvalidOrder",
    "DuplicateOrderId",
    "OrderNotFound",
    "InvalidConfig",
    "UnknownSymbol",
    "QueueFull",
    "SymbolHalted",
    "SystemClosed",
    "BookPoisoned",
    "CorruptData",
    "StorageError",
];

fn class(py: Python<'_>, which: usize) -> PyResult<&Py<PyType>> {
    CLASSES[which].get_or_try_init(py, || {
        Ok(py.import("lockfree_trading.errors")?.getattr(NAMES[which])?.cast_into::<PyType>()?.unbind())
    })
}

impl From<PyEngineError> for PyErr {
    fn from(err: PyEngineError) -> PyErr {
        let (which, message) = match err.0 {
            EngineError::InvalidOrder(m) => (0, m),
            e @ EngineError::DuplicateOrderId(_) => (1, e.message()),
            e @ EngineError::OrderNotFound(_) => (2, e.message()),
            EngineError::InvalidConfig(m) => (3, m),
            e @ EngineError::UnknownSymbol(_) => (4, e.to_string()),
            e @ EngineError::QueueFull { .. } => (5, e.to_string()),
            e @ EngineError::SymbolHalted { .. } => (6, e.to_string()),
            e @ EngineError::SystemClosed => (7, e.to_string()),
            e @ EngineError::BookPoisoned { .. } => (8, e.to_string()),
            EngineError::CorruptData(m) => (9, m),
            EngineError::Storage(m) => (10, m),
        };
        Python::attach(|py| {
            // Built here rather than lazily: a caught reject would be normalised (the class
            // called with the message) anyway, and the lazy path boxes a closure first.
            let made = class(py, which).and_then(|cls| cls.bind(py).call1((PyString::new(py, &message),)));
            match made {
                Ok(instance) => PyErr::from_value(instance),
                Err(e) => e,
            }
        })
    }
}

/// Shorthand for an `InvalidOrder` raised from conversion code.
pub fn invalid(msg: impl Into<String>) -> PyErr {
    PyEngineError(EngineError::InvalidOrder(msg.into())).into()
}

/// Result type of binding functions that fail with engine errors.
pub type EngineResultPy<T> = Result<T, PyEngineError>;
