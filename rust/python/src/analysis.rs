//! The DataFrame and plot methods of the result objects: each calls its function in the
//! Python module `lockfree_trading.analysis`, the one place pandas and matplotlib are
//! imported (lazily; a missing one raises `ImportError` naming the `[analysis]` extra).
//! Also the named-tuple protocol of `Level`, `Trade` and `LevelStats`.

use pyo3::call::PyCallArgs;
use pyo3::prelude::*;

/// `lockfree_trading.analysis.<name>(*args)`.
pub(crate) fn call<'py, A: PyCallArgs<'py>>(
    py: Python<'py>,
    name: &str,
    args: A,
) -> PyResult<Bound<'py, PyAny>> {
    py.import("lockfree_trading.analysis")?.getattr(name)?.call1(args)
}

/// Makes a result class behave as a `collections.namedtuple` of its getters, in this order:
/// `_fields`, `len`, indexing (ints, negative ints, slices), iteration (so `tuple(x)` and
/// unpacking) and `_asdict()`. With the class registered as a `collections.abc.Sequence`
/// (the package's `__init__` does), `pandas.DataFrame(list_of_them)` names its columns.
macro_rules! named_tuple {
    ($ty:ident, [$($field:ident),+ $(,)?]) => {
        #[pymethods]
        impl $ty {
            /// The field names, as in `collections.namedtuple`.
            #[classattr]
            fn _fields(py: Python<'_>) -> PyResult<Py<pyo3::types::PyTuple>> {
                Ok(pyo3::types::PyTuple::new(py, [$(stringify!($field)),+])?.unbind())
            }
            fn __len__(&self) -> usize {
                [$(stringify!($field)),+].len()
            }
            fn __getitem__<'py>(slf: &Bound<'py, Self>, index: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
                Self::_values(slf)?.into_any().get_item(index)
            }
            fn __iter__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, pyo3::types::PyIterator>> {
                Self::_values(slf)?.into_any().try_iter()
            }
            /// The fields as a plain dict (`Decimal` values stay `Decimal`).
            fn _asdict<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
                let py = slf.py();
                let out = pyo3::types::PyDict::new(py);
                $(out.set_item(pyo3::intern!(py, stringify!($field)), slf.getattr(pyo3::intern!(py, stringify!($field)))?)?;)+
                Ok(out)
            }
        }

        impl $ty {
            /// The getters' values, in field order.
            fn _values<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, pyo3::types::PyTuple>> {
                let py = slf.py();
                pyo3::types::PyTuple::new(py, [$(slf.getattr(pyo3::intern!(py, stringify!($field)))?),+])
            }
        }
    };
}
pub(crate) use named_tuple;
