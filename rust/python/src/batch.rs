//! Columnar batch entry point: numpy columns in, numpy columns out, one GIL release.

use lft_engine::system::OwnedBatch;
use lft_engine::{BatchInput, BatchOutput};
use numpy::{Element, PyArray1, PyArrayMethods, PyReadonlyArray1, PyUntypedArrayMethods};
use pyo3::prelude::*;

use crate::book::PyOrderBook;
use crate::errors::invalid;
use crate::gil::with_writer;

/// Per-order and per-trade columns of one batch.
#[pyclass(name = "BatchResult", module = "lockfree_trading._core", frozen)]
pub struct PyBatchResult {
    #[pyo3(get)]
    order_id: Py<PyArray1<u64>>,
    #[pyo3(get)]
    status: Py<PyArray1<u8>>,
    #[pyo3(get)]
    filled: Py<PyArray1<i64>>,
    #[pyo3(get)]
    remaining: Py<PyArray1<i64>>,
    #[pyo3(get)]
    trade_taker_index: Py<PyArray1<i64>>,
    #[pyo3(get)]
    trade_maker_order_id: Py<PyArray1<u64>>,
    #[pyo3(get)]
    trade_maker_order_id_hi: Py<PyArray1<u64>>,
    #[pyo3(get)]
    trade_price: Py<PyArray1<i64>>,
    #[pyo3(get)]
    trade_quantity: Py<PyArray1<i64>>,
    #[pyo3(get)]
    trade_sequence: Py<PyArray1<u64>>,
    rows: usize,
}

#[pymethods]
impl PyBatchResult {
    fn __len__(&self) -> usize {
        self.rows
    }
    fn __repr__(&self, py: Python<'_>) -> String {
        format!("BatchResult(rows={}, trades={})", self.rows, self.trade_price.bind(py).len())
    }
    /// One row per order as a pandas DataFrame (`lockfree_trading.analysis.batch_frame`).
    fn to_frame<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        crate::analysis::call(slf.py(), "batch_frame", (slf,))
    }
}

/// A 1-d integer column as a contiguous array of `T`; refuses floats and lossy casts.
fn column<'py, T: Element + Copy>(
    obj: &Bound<'py, PyAny>,
    name: &str,
    dtype: &str,
) -> PyResult<PyReadonlyArray1<'py, T>> {
    if let Ok(arr) = obj.cast::<PyArray1<T>>() {
        if arr.is_c_contiguous() {
            return Ok(arr.readonly());
        }
    }
    let py = obj.py();
    let np = py.import("numpy")?;
    let arr = np.call_method1("asarray", (obj,))?;
    let kind: String = arr.getattr("dtype")?.getattr("kind")?.extract()?;
    if !matches!(kind.as_str(), "i" | "u" | "b") {
        return Err(invalid(format!(
            "{name} must be an integer array ({dtype}), got dtype {}",
            arr.getattr("dtype")?.str()?
        )));
    }
    if arr.getattr("ndim")?.extract::<usize>()? != 1 {
        return Err(invalid(format!("{name} must be one-dimensional")));
    }
    let cast = np.call_method1("ascontiguousarray", (&arr, dtype))?;
    if !np.call_method1("array_equal", (&cast, &arr))?.extract::<bool>()? {
        return Err(invalid(format!("{name} has values that do not fit {dtype}")));
    }
    Ok(cast.cast_into::<PyArray1<T>>()?.readonly())
}

fn slice<'a, T: Element>(arr: &'a PyReadonlyArray1<'_, T>) -> PyResult<&'a [T]> {
    arr.as_slice().map_err(|e| invalid(format!("array is not contiguous: {e}")))
}

/// A batch's input columns, checked (integer dtypes, one dimension, values that fit).
struct Columns<'py> {
    side: PyReadonlyArray1<'py, i8>,
    price: PyReadonlyArray1<'py, i64>,
    quantity: PyReadonlyArray1<'py, i64>,
    time_in_force: Option<PyReadonlyArray1<'py, u8>>,
    order_id: Option<PyReadonlyArray1<'py, u64>>,
}

impl<'py> Columns<'py> {
    fn read(
        side: &Bound<'py, PyAny>,
        price: &Bound<'py, PyAny>,
        quantity: &Bound<'py, PyAny>,
        time_in_force: Option<&Bound<'py, PyAny>>,
        order_id: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Self> {
        Ok(Columns {
            side: column::<i8>(side, "side", "int8")?,
            price: column::<i64>(price, "price", "int64")?,
            quantity: column::<i64>(quantity, "quantity", "int64")?,
            time_in_force: time_in_force
                .filter(|t| !t.is_none())
                .map(|t| column::<u8>(t, "time_in_force", "uint8"))
                .transpose()?,
            order_id: order_id
                .filter(|t| !t.is_none())
                .map(|t| column::<u64>(t, "order_id", "uint64"))
                .transpose()?,
        })
    }

    fn input(&self, timestamp: i64) -> PyResult<BatchInput<'_>> {
        Ok(BatchInput {
            side: slice(&self.side)?,
            price: slice(&self.price)?,
            quantity: slice(&self.quantity)?,
            time_in_force: self.time_in_force.as_ref().map(slice).transpose()?,
            order_id: self.order_id.as_ref().map(slice).transpose()?,
            timestamp,
        })
    }
}

/// The columns of a batch, checked and copied (timestamp 0: the caller sets it): the engine
/// works on them with the GIL released, when another Python thread may be writing the
/// caller's arrays.
pub(crate) fn batch_columns(
    side: &Bound<'_, PyAny>,
    price: &Bound<'_, PyAny>,
    quantity: &Bound<'_, PyAny>,
    time_in_force: Option<&Bound<'_, PyAny>>,
    order_id: Option<&Bound<'_, PyAny>>,
) -> PyResult<OwnedBatch> {
    let cols = Columns::read(side, price, quantity, time_in_force, order_id)?;
    let input = cols.input(0)?;
    Ok(OwnedBatch {
        side: input.side.to_vec(),
        price: input.price.to_vec(),
        quantity: input.quantity.to_vec(),
        time_in_force: input.time_in_force.map(<[u8]>::to_vec),
        order_id: input.order_id.map(<[u64]>::to_vec),
        timestamp: 0,
    })
}

/// Numpy columns of a batch's output.
pub(crate) fn batch_result(py: Python<'_>, out: BatchOutput) -> PyBatchResult {
    let rows = out.order_id.len();
    PyBatchResult {
        order_id: PyArray1::from_vec(py, out.order_id).unbind(),
        status: PyArray1::from_vec(py, out.status).unbind(),
        filled: PyArray1::from_vec(py, out.filled).unbind(),
        remaining: PyArray1::from_vec(py, out.remaining).unbind(),
        trade_taker_index: PyArray1::from_vec(py, out.trade_taker_index).unbind(),
        trade_maker_order_id: PyArray1::from_vec(py, out.trade_maker_order_id).unbind(),
        trade_maker_order_id_hi: PyArray1::from_vec(py, out.trade_maker_order_id_hi).unbind(),
        trade_price: PyArray1::from_vec(py, out.trade_price).unbind(),
        trade_quantity: PyArray1::from_vec(py, out.trade_quantity).unbind(),
        trade_sequence: PyArray1::from_vec(py, out.trade_sequence).unbind(),
        rows,
    }
}

#[pymethods]
impl PyOrderBook {
    #[pyo3(name = "submit_batch", signature = (side, price, quantity, time_in_force = None, order_id = None, *, timestamp = None))]
    #[allow(clippy::too_many_arguments)]
    fn py_submit_batch(
        &self,
        py: Python<'_>,
        side: &Bound<'_, PyAny>,
        price: &Bound<'_, PyAny>,
        quantity: &Bound<'_, PyAny>,
        time_in_force: Option<&Bound<'_, PyAny>>,
        order_id: Option<&Bound<'_, PyAny>>,
        timestamp: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyBatchResult> {
        // Copied while the GIL is held: no slice into a numpy buffer crosses the release.
        let mut batch = batch_columns(side, price, quantity, time_in_force, order_id)?;
        batch.timestamp = self.now(py, timestamp, "timestamp")?;
        let out = with_writer(py, &self.writer, |w| {
            let mut out = BatchOutput::default();
            w.submit_batch(&batch.as_input(), &mut out).map(|()| out)
        })?;
        Ok(batch_result(py, out))
    }
}
