//! Decimal edge: the only place where decimals meet the integer engine.

use core::str::FromStr;

use rust_decimal::Decimal;

use crate::error::{EngineError, EngineResult};
use crate::types::{Lots, Ticks};

/// Tick and lot size of one book.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scale {
    /// Price increment.
    pub tick_size: Decimal,
    /// Quantity increment.
    pub lot_size: Decimal,
}

impl Scale {
    /// Validate and build.
    pub fn new(tick_size: Decimal, lot_size: Decimal) -> EngineResult<Self> {
        if tick_size <= Decimal::ZERO {
            return Err(EngineError::InvalidConfig(format!("tick_size must be > 0, got {tick_size}")));
        }
        if lot_size <= Decimal::ZERO {
            return Err(EngineError::InvalidConfig(format!("lot_size must be > 0, got {lot_size}")));
        }
        Ok(Scale { tick_size: tick_size.normalize(), lot_size: lot_size.normalize() })
    }

    /// Price to ticks: must be > 0 and on the tick grid.
    pub fn to_ticks(&self, price: Decimal) -> EngineResult<Ticks> {
        units(price, self.tick_size, "price", "tick_size")
    }

    /// Quantity to lots: must be > 0 and a multiple of the lot size.
    pub fn to_lots(&self, qty: Decimal) -> EngineResult<Lots> {
        self.to_lots_as(qty, "quantity")
    }

    /// Like [`Scale::to_lots`], naming the field in errors (e.g. `display_quantity`).
    pub fn to_lots_as(&self, qty: Decimal, what: &str) -> EngineResult<Lots> {
        units(qty, self.lot_size, what, "lot_size")
    }

    /// Ticks to price, shown with the tick size's decimal places (100.30 for tick 0.01).
    pub fn price(&self, ticks: Ticks) -> Decimal {
        with_scale_of(Decimal::from(ticks) * self.tick_size, self.tick_size)
    }

    /// Lots to quantity, shown with the lot size's decimal places.
    pub fn quantity(&self, lots: Lots) -> Decimal {
        with_scale_of(Decimal::from(lots) * self.lot_size, self.lot_size)
    }
}

fn with_scale_of(mut value: Decimal, step: Decimal) -> Decimal {
    value.rescale(step.scale());
    value
}

fn units(value: Decimal, step: Decimal, what: &str, step_name: &str) -> EngineResult<i64> {
    if value <= Decimal::ZERO {
        return Err(EngineError::invalid(format!("{what} must be > 0, got {value}")));
    }
    let n = value
        .checked_div(step)
        .ok_or_else(|| EngineError::invalid(format!("{what} {value} is out of range")))?;
    if !n.fract().is_zero() {
        return Err(EngineError::invalid(format!("{what} {value} is not a multiple of {step_name} {step}")));
    }
    i64::try_from(n)
        .map_err(|_| EngineError::invalid(format!("{what} {value} overflows the engine's 64-bit range")))
}

/// Parse a decimal from text, rejecting NaN/inf and garbage with a clear message.
pub fn parse_decimal(text: &str, what: &str) -> EngineResult<Decimal> {
    let t = text.trim();
    Decimal::from_str_exact(t)
        .or_else(|_| Decimal::from_scientific(t))
        .or_else(|_| Decimal::from_str(t))
        .map_err(|_| {
            let numeric = t.parse::<f64>().is_ok_and(f64::is_finite);
            EngineError::invalid(if numeric {
                format!("{what} {t} is out of range (at most 28 significant digits, magnitude below 7.9e28)")
            } else {
                format!("{what} must be a finite decimal number, got {text:?}")
            })
        })
}
