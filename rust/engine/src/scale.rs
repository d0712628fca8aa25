//! Decimal edge: the only place where decimals meet the integer engine.

use core::str::FromStr;

use rust_decimal::Decimal;

use crate::error::{EngineError, EngineResult};
use crate::types::{Lots, Ticks};

/// How a whole number converts to units of a step without decimal arithmetic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum IntPath {
    /// The step is the integer k: units = n / k, exact only when k divides n.
    Divide(i64),
    /// The step is 1/m: units = n * m.
    Multiply(i64),
    /// Anything else (e.g. 0.25 or 2.5): go through `Decimal`.
    Decimal,
}

impl IntPath {
    fn of(step: Decimal) -> IntPath {
        if step.fract().is_zero() {
            if let Ok(k) = i64::try_from(step) {
                return IntPath::Divide(k);
            }
        }
        if let Some(inv) = Decimal::ONE.checked_div(step) {
            if inv.fract().is_zero() && inv * step == Decimal::ONE {
                if let Ok(m) = i64::try_from(inv) {
                    return IntPath::Multiply(m);
                }
            }
        }
        IntPath::Decimal
    }
}

/// Tick and lot size of one book.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scale {
    /// Price increment.
    pub tick_size: Decimal,
    /// Quantity increment.
    pub lot_size: Decimal,
    tick_path: IntPath,
    lot_path: IntPath,
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
        let (tick_size, lot_size) = (tick_size.normalize(), lot_size.normalize());
        Ok(Scale { tick_size, lot_size, tick_path: IntPath::of(tick_size), lot_path: IntPath::of(lot_size) })
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

    /// Whole-number price to ticks, without decimal arithmetic when the tick size allows
    /// (integers, and 1/m sizes such as 0.01). Same results and errors as [`Scale::to_ticks`].
    pub fn int_to_ticks(&self, price: i64) -> EngineResult<Ticks> {
        int_units(price, self.tick_path, self.tick_size, "price", "tick_size")
    }

    /// Whole-number quantity to lots; see [`Scale::int_to_ticks`].
    pub fn int_to_lots_as(&self, qty: i64, what: &str) -> EngineResult<Lots> {
        int_units(qty, self.lot_path, self.lot_size, what, "lot_size")
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

fn int_units(value: i64, path: IntPath, step: Decimal, what: &str, step_name: &str) -> EngineResult<i64> {
    match path {
        IntPath::Divide(k) if value > 0 && value % k == 0 => Ok(value / k),
        IntPath::Multiply(m) if value > 0 => value.checked_mul(m).ok_or_else(|| {
            EngineError::invalid(format!("{what} {value} overflows the engine's 64-bit range"))
        }),
        _ => units(Decimal::from(value), step, what, step_name),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_number_fast_path_agrees_with_the_decimal_path() {
        for (tick, lot) in [("0.01", "0.001"), ("1", "1"), ("5", "0.5"), ("0.25", "2.5"), ("0.0001", "100")] {
            let scale = Scale::new(tick.parse().unwrap(), lot.parse().unwrap()).unwrap();
            for v in [-5, 0, 1, 2, 3, 5, 10, 25, 100, 12_345, i64::MAX / 3, i64::MAX] {
                assert_eq!(scale.int_to_ticks(v), scale.to_ticks(Decimal::from(v)), "tick {tick} value {v}");
                assert_eq!(
                    scale.int_to_lots_as(v, "quantity"),
                    scale.to_lots(Decimal::from(v)),
                    "lot {lot} value {v}"
                );
            }
        }
    }
}
