//! Python enums mirroring the core's, plus lenient parsing (enum, name string or code).

use lft_engine::{OrderStatus, OrderType, Side, TimeInForce};
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::errors::invalid;

macro_rules! py_enum {
    ($py:ident, $name:literal, $core:ident, { $($variant:ident = $core_variant:ident),+ $(,)? }) => {
        #[doc = concat!("Python mirror of the core `", stringify!($core), "`.")]
        #[pyclass(name = $name, module = "lockfree_trading._core", eq, eq_int, hash, frozen, from_py_object)]
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        pub enum $py { $($variant),+ }

        impl From<$py> for $core {
            fn from(v: $py) -> $core { match v { $($py::$variant => $core::$core_variant),+ } }
        }
        impl From<$core> for $py {
            fn from(v: $core) -> $py { match v { $($core::$core_variant => $py::$variant),+ } }
        }

        #[pymethods]
        impl $py {
            /// Member name, as in `enum.Enum`.
            #[getter]
            fn name(&self) -> &'static str { match self { $($py::$variant => stringify!($variant)),+ } }
            /// Integer code, as in `enum.IntEnum`.
            #[getter]
            fn value(&self) -> u8 { $core::from(*self) as u8 }
            fn __int__(&self) -> u8 { self.value() }
            pub fn __str__(&self) -> &'static str { self.name() }
            fn __repr__(&self) -> String { format!(concat!($name, ".{}"), self.name()) }
        }

        impl $py {
            /// Accept the enum itself, its name (any case) or its integer code.
            pub fn parse(obj: &Bound<'_, PyAny>) -> PyResult<$core> {
                if let Ok(v) = obj.cast::<$py>() {
                    return Ok((*v.get()).into());
                }
                if obj.is_exact_instance_of::<pyo3::types::PyInt>() {
                    if let Ok(code) = obj.extract::<i64>() {
                        $(if code == $core::$core_variant as i64 { return Ok($core::$core_variant); })+
                    }
                    return Err(invalid(format!(concat!("unknown ", $name, " code {}"), obj.repr()?)));
                }
                if let Ok(s) = obj.cast::<PyString>() {
                    let text = s.to_cow()?.trim().to_ascii_uppercase();
                    $(if text == stringify!($variant) { return Ok($core::$core_variant); })+
                    return Err(invalid(format!(concat!("unknown ", $name, " {:?}; expected one of ", $(stringify!($variant), " ",)+), s.to_cow()?)));
                }
                if let Ok(code) = obj.extract::<i64>() {
                    $(if code == $core::$core_variant as i64 { return Ok($core::$core_variant); })+
                }
                Err(invalid(format!(concat!("expected a ", $name, ", got {}"), obj.repr()?)))
            }
        }
    };
}

py_enum!(PySide, "Side", Side, { BUY = Buy, SELL = Sell });
py_enum!(PyOrderType, "OrderType", OrderType, { LIMIT = Limit, MARKET = Market });
py_enum!(PyTimeInForce, "TimeInForce", TimeInForce, { GTC = Gtc, IOC = Ioc, FOK = Fok, GTD = Gtd, DAY = Day });
py_enum!(PyOrderStatus, "OrderStatus", OrderStatus, {
    NEW = New, PARTIALLY_FILLED = PartiallyFilled, FILLED = Filled,
    CANCELED = Canceled, REJECTED = Rejected, EXPIRED = Expired,
});
