//! Conversions at the Python edge: decimals, order ids and timestamps. All validation
//! failures raise `InvalidOrder` with a message naming the field.

use lft_engine::{parse_decimal, Decimal, OrderId, Scale, Timestamp};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyFloat, PyInt, PyString};

use crate::errors::{invalid, PyEngineError};

static DECIMAL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static UUID: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static DATETIME: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn import_attr<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyAny>>,
    module: &str,
    name: &str,
) -> PyResult<&'py Bound<'py, PyAny>> {
    Ok(cell.get_or_try_init(py, || py.import(module)?.getattr(name).map(Bound::unbind))?.bind(py))
}

/// A Python number-ish (Decimal, int, str, float) as an exact decimal.
pub fn decimal(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Decimal> {
    if obj.is_instance_of::<PyBool>() {
        return Err(invalid(format!("{what} must be a number, got a bool")));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(v) = obj.extract::<i64>() {
            return Ok(Decimal::from(v));
        }
        return obj
            .extract::<i128>()
            .ok()
            .and_then(|v| Decimal::try_from_i128_with_scale(v, 0).ok())
            .ok_or_else(|| {
                invalid(format!(
                    "{what} {} is out of range",
                    obj.str().map(|s| s.to_string()).unwrap_or_default()
                ))
            });
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return parse_decimal(&s.to_cow()?, what).map_err(|e| PyEngineError(e).into());
    }
    let py = obj.py();
    let is_decimal = obj.is_instance(import_attr(py, &DECIMAL, "decimal", "Decimal")?)?;
    if is_decimal || obj.is_instance_of::<PyFloat>() {
        let text = obj.str()?;
        return parse_decimal(&text.to_cow()?, what).map_err(|e| PyEngineError(e).into());
    }
    Err(invalid(format!("{what} must be a Decimal, int, str or float, got {}", obj.get_type().name()?)))
}

/// Optional variant of [`decimal`].
pub fn opt_decimal(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<Decimal>> {
    match obj {
        Some(o) if !o.is_none() => decimal(o, what).map(Some),
        _ => Ok(None),
    }
}

/// A plain Python int (not a bool) that fits an i64, for the no-decimal fast path.
fn small_int(obj: &Bound<'_, PyAny>) -> Option<i64> {
    if obj.is_exact_instance_of::<PyInt>() {
        obj.extract::<i64>().ok()
    } else {
        None
    }
}

/// Price to ticks on a book's grid.
pub fn ticks(scale: &Scale, obj: &Bound<'_, PyAny>) -> PyResult<i64> {
    let result = match small_int(obj) {
        Some(v) => scale.int_to_ticks(v),
        None => scale.to_ticks(decimal(obj, "price")?),
    };
    result.map_err(|e| PyEngineError(e).into())
}

/// Quantity to lots.
pub fn lots(scale: &Scale, obj: &Bound<'_, PyAny>, what: &str) -> PyResult<i64> {
    let result = match small_int(obj) {
        Some(v) => scale.int_to_lots_as(v, what),
        None => scale.to_lots_as(decimal(obj, what)?, what),
    };
    result.map_err(|e| PyEngineError(e).into())
}

const DECIMAL_CACHE_SLOTS: usize = 4096;
/// One cache slot: the value's 16-byte encoding and its Python object.
type DecimalSlot = Option<([u8; 16], Py<PyAny>)>;

thread_local! {
    /// Direct-mapped cache of recently built `Decimal`s. Prices and sizes repeat a lot (a
    /// few busy levels), `Decimal` objects are immutable, and building one from text costs
    /// ~200 ns. Keyed by the exact value including its scale, so 1.5 and 1.50 stay distinct.
    static DECIMALS: std::cell::RefCell<Vec<DecimalSlot>> =
        std::cell::RefCell::new((0..DECIMAL_CACHE_SLOTS).map(|_| None).collect());
}

/// Ticks/lots back to `decimal.Decimal`.
pub fn to_py_decimal<'py>(py: Python<'py>, value: Decimal) -> PyResult<Bound<'py, PyAny>> {
    let key = value.serialize();
    let slot = (u128::from_le_bytes(key).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835) >> 116)
        as usize
        % DECIMAL_CACHE_SLOTS;
    let hit = DECIMALS.with_borrow(|cache| match &cache[slot] {
        Some((k, obj)) if *k == key => Some(obj.clone_ref(py)),
        _ => None,
    });
    if let Some(obj) = hit {
        return Ok(obj.into_bound(py));
    }
    let obj = import_attr(py, &DECIMAL, "decimal", "Decimal")?.call1((value.to_string(),))?;
    DECIMALS.with_borrow_mut(|cache| cache[slot] = Some((key, obj.clone().unbind())));
    Ok(obj)
}

/// Ticks as a Python `Decimal` price, checked: a raw count from a caller, or an aggregate,
/// may be beyond what `Decimal` holds (`InvalidOrder` then, never a panic).
pub fn py_price<'py>(py: Python<'py>, scale: &Scale, ticks: i64) -> PyResult<Bound<'py, PyAny>> {
    to_py_decimal(py, scale.try_price(ticks).map_err(PyEngineError)?)
}

/// Lots as a Python `Decimal` quantity, checked like [`py_price`].
pub fn py_quantity<'py>(py: Python<'py>, scale: &Scale, lots: i64) -> PyResult<Bound<'py, PyAny>> {
    to_py_decimal(py, scale.try_quantity(lots).map_err(PyEngineError)?)
}

/// A price for `repr`: the decimal, or the tick count where no `Decimal` can show it.
pub fn price_text(scale: &Scale, ticks: i64) -> String {
    scale.try_price(ticks).map_or_else(|_| format!("{ticks} ticks"), |d| d.to_string())
}

/// A quantity for `repr`; see [`price_text`].
pub fn quantity_text(scale: &Scale, lots: i64) -> String {
    scale.try_quantity(lots).map_or_else(|_| format!("{lots} lots"), |d| d.to_string())
}

/// A raw engine count (ticks, lots) from Python: an int outside the 64-bit range is
/// `InvalidOrder`; anything that is not an int is pyo3's `TypeError`.
pub fn raw_count(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<i64> {
    obj.extract::<i64>().map_err(|e| {
        if obj.is_instance_of::<PyInt>() {
            invalid(format!(
                "{what} {} is outside the engine's 64-bit range",
                obj.str().map(|s| s.to_string()).unwrap_or_default()
            ))
        } else {
            e
        }
    })
}

/// `uuid.UUID`, str, or int as a 128-bit id.
pub fn order_id(obj: &Bound<'_, PyAny>) -> PyResult<OrderId> {
    let py = obj.py();
    if obj.is_instance_of::<PyBool>() {
        return Err(invalid("order_id must be a UUID, str or int, got a bool"));
    }
    if obj.is_instance_of::<PyInt>() {
        // Most ids fit a machine word; the 128-bit conversion goes through a byte array.
        if let Ok(small) = obj.extract::<u64>() {
            return Ok(small.into());
        }
        return obj.extract::<u128>().map_err(|_| {
            invalid(format!(
                "order_id {} must be an int in 0..2**128",
                obj.str().map(|s| s.to_string()).unwrap_or_default()
            ))
        });
    }
    let uuid_cls = import_attr(py, &UUID, "uuid", "UUID")?;
    if obj.is_instance(uuid_cls)? {
        return obj.getattr("int")?.extract::<u128>();
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return match uuid_cls.call1((s,)) {
            Ok(u) => u.getattr("int")?.extract::<u128>(),
            Err(_) => Err(invalid(format!("order_id {:?} is not a valid UUID", s.to_cow()?))),
        };
    }
    Err(invalid(format!("order_id must be a UUID, str or int, got {}", obj.get_type().name()?)))
}

static OBJECT_NEW: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static SAFE_UNKNOWN: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Set a slot attribute the way `object.__setattr__` does (UUID's own `__setattr__` refuses).
fn set_slot(obj: &Bound<'_, PyAny>, name: &Bound<'_, PyString>, value: &Bound<'_, PyAny>) -> PyResult<()> {
    // SAFETY: all three pointers are live, GIL-held Python objects for the whole call;
    // PyObject_GenericSetAttr does not steal references.
    let rc = unsafe { pyo3::ffi::PyObject_GenericSetAttr(obj.as_ptr(), name.as_ptr(), value.as_ptr()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(PyErr::fetch(obj.py()))
    }
}

/// 128-bit id to `uuid.UUID`, built the way `uuid` itself does internally: no parsing,
/// no keyword checks (about 4x cheaper than `UUID(int=...)`).
pub fn to_py_uuid(py: Python<'_>, id: OrderId) -> PyResult<Bound<'_, PyAny>> {
    let uuid_cls = import_attr(py, &UUID, "uuid", "UUID")?;
    let object_new = import_attr(py, &OBJECT_NEW, "builtins", "object")?;
    let unknown = SAFE_UNKNOWN.get_or_try_init(py, || {
        py.import("uuid")?.getattr("SafeUUID")?.getattr("unknown").map(Bound::unbind)
    })?;
    let u = object_new.call_method1(pyo3::intern!(py, "__new__"), (uuid_cls,))?;
    set_slot(&u, pyo3::intern!(py, "int"), &id.into_pyobject(py)?.into_any())?;
    set_slot(&u, pyo3::intern!(py, "is_safe"), unknown.bind(py))?;
    Ok(u)
}

/// int nanoseconds, or a `datetime` (naive means UTC), as nanoseconds since the epoch.
pub fn timestamp(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Timestamp> {
    if obj.is_instance_of::<PyBool>() {
        return Err(invalid(format!("{what} must be int nanoseconds or a datetime, got a bool")));
    }
    if obj.is_instance_of::<PyInt>() {
        return obj
            .extract::<i64>()
            .map_err(|_| invalid(format!("{what} does not fit in 64-bit nanoseconds")));
    }
    let py = obj.py();
    let datetime = import_attr(py, &DATETIME, "datetime", "datetime")?;
    if obj.is_instance(datetime)? {
        let aware = if obj.getattr("tzinfo")?.is_none() {
            let utc = py.import("datetime")?.getattr("timezone")?.getattr("utc")?;
            let kwargs = pyo3::types::PyDict::new(py);
            kwargs.set_item("tzinfo", utc)?;
            obj.call_method("replace", (), Some(&kwargs))?
        } else {
            obj.clone()
        };
        let epoch = aware.call_method1(
            "__sub__",
            (datetime.call_method1("fromtimestamp", (0, aware.getattr("tzinfo")?))?,),
        )?;
        let micros: i64 = epoch
            .call_method1("__floordiv__", (py.import("datetime")?.getattr("timedelta")?.call1((0, 0, 1))?,))?
            .extract()?;
        return micros
            .checked_mul(1000)
            .ok_or_else(|| invalid(format!("{what} is out of the 64-bit nanosecond range")));
    }
    Err(invalid(format!("{what} must be int nanoseconds or a datetime, got {}", obj.get_type().name()?)))
}
