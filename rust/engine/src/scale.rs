//! Decimal edge: the only place where decimals meet the integer engine.

use core::str::FromStr;

use rust_decimal::Decimal;

use crate::command::{Modify, NewOrder};
use crate::error::{EngineError, EngineResult};
use crate::types::{Lots, Ticks};

/// The largest mantissa a `Decimal` holds (2**96 - 1, about 7.9e28).
const MAX_MANTISSA: i128 = (1 << 96) - 1;

/// A tick or lot size must leave at least this many representable units: below it the
/// book could not show ordinary prices or quantities (e.g. tick_size 1e23 would cap
/// prices at 792281 ticks), so such a size is a configuration mistake.
const MIN_REPRESENTABLE_UNITS: i64 = 1_000_000;

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
            if inv.fract().is_zero() && inv.checked_mul(step) == Some(Decimal::ONE) {
                if let Ok(m) = i64::try_from(inv) {
                    return IntPath::Multiply(m);
                }
            }
        }
        IntPath::Decimal
    }
}

/// The largest unit count `n` for which `n * step` is an exact `Decimal` at the step's
/// scale (what [`Scale::price`] and [`Scale::quantity`] produce), capped at `i64::MAX`.
/// `step` is positive and normalized.
fn max_units(step: Decimal) -> i64 {
    let mantissa = step.mantissa().max(1);
    i64::try_from(MAX_MANTISSA / mantissa).unwrap_or(i64::MAX)
}

/// `n * step` at the step's scale, exactly, or `None` where `Decimal` cannot hold it.
fn exact_value(n: i64, step: Decimal) -> Option<Decimal> {
    let mantissa = i128::from(n).checked_mul(step.mantissa())?;
    Decimal::try_from_i128_with_scale(mantissa, step.scale()).ok()
}

/// Tick and lot size of one book, and the largest tick and lot counts that convert back
/// to an exact `Decimal` (every price and quantity the book accepts must stay within them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scale {
    /// Price increment.
    pub tick_size: Decimal,
    /// Quantity increment.
    pub lot_size: Decimal,
    tick_path: IntPath,
    lot_path: IntPath,
    max_ticks: Ticks,
    max_lots: Lots,
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
        let (max_ticks, max_lots) = (max_units(tick_size), max_units(lot_size));
        for (name, size, max, unit) in
            [("tick_size", tick_size, max_ticks, "ticks"), ("lot_size", lot_size, max_lots, "lots")]
        {
            if max < MIN_REPRESENTABLE_UNITS {
                return Err(EngineError::InvalidConfig(format!(
                    "{name} {size} is unusable: a Decimal (at most 28 significant digits, magnitude below \
                     7.9e28) could show at most {max} {unit}, fewer than {MIN_REPRESENTABLE_UNITS}; use a \
                     {name} with fewer significant digits or a smaller magnitude"
                )));
            }
        }
        Ok(Scale {
            tick_size,
            lot_size,
            tick_path: IntPath::of(tick_size),
            lot_path: IntPath::of(lot_size),
            max_ticks,
            max_lots,
        })
    }

    /// The largest price in ticks this book can show as a `Decimal` (`i64::MAX` for most
    /// tick sizes; less for large ones, e.g. 7922816251426433759 at tick_size 1e10).
    pub fn max_ticks(&self) -> Ticks {
        self.max_ticks
    }

    /// The largest quantity in lots this book can show; see [`Scale::max_ticks`].
    pub fn max_lots(&self) -> Lots {
        self.max_lots
    }

    /// Check a price in ticks that enters the book: `1..=max_ticks()`. The error
    /// (`InvalidOrder`) names the field (`what`, e.g. "price") and the bound.
    #[inline]
    pub fn check_ticks(&self, ticks: Ticks, what: &str) -> EngineResult<()> {
        if ticks > 0 && ticks <= self.max_ticks {
            return Ok(());
        }
        units_error(ticks, self.max_ticks, what, "ticks", "price", "tick_size", self.tick_size)
    }

    /// Check a quantity in lots that enters the book: `1..=max_lots()`. The error
    /// (`InvalidOrder`) names the field (`what`, e.g. "display_quantity") and the bound.
    #[inline]
    pub fn check_lots(&self, lots: Lots, what: &str) -> EngineResult<()> {
        if lots > 0 && lots <= self.max_lots {
            return Ok(());
        }
        units_error(lots, self.max_lots, what, "lots", "quantity", "lot_size", self.lot_size)
    }

    /// Check that a new order's price, quantity and display quantity convert back to
    /// `Decimal` (and are positive). Stateless; the book calls it before anything changes.
    #[inline]
    pub fn check_order(&self, o: &NewOrder) -> EngineResult<()> {
        if let Some(p) = o.price {
            self.check_ticks(p, "price")?;
        }
        self.check_lots(o.quantity, "quantity")?;
        if let Some(d) = o.display_quantity {
            self.check_lots(d, "display_quantity")?;
        }
        Ok(())
    }

    /// Check a modify's new quantity and/or price, like [`Scale::check_order`].
    #[inline]
    pub fn check_modify(&self, m: &Modify) -> EngineResult<()> {
        if let Some(q) = m.quantity {
            self.check_lots(q, "quantity")?;
        }
        if let Some(p) = m.price {
            self.check_ticks(p, "price")?;
        }
        Ok(())
    }

    /// Price to ticks: must be > 0, on the tick grid and at most [`Scale::max_ticks`].
    pub fn to_ticks(&self, price: Decimal) -> EngineResult<Ticks> {
        let ticks = units(price, self.tick_size, "price", "tick_size")?;
        self.check_ticks(ticks, "price")?;
        Ok(ticks)
    }

    /// Quantity to lots: must be > 0, a multiple of the lot size and at most
    /// [`Scale::max_lots`].
    pub fn to_lots(&self, qty: Decimal) -> EngineResult<Lots> {
        self.to_lots_as(qty, "quantity")
    }

    /// Like [`Scale::to_lots`], naming the field in errors (e.g. `display_quantity`).
    pub fn to_lots_as(&self, qty: Decimal, what: &str) -> EngineResult<Lots> {
        let lots = units(qty, self.lot_size, what, "lot_size")?;
        self.check_lots(lots, what)?;
        Ok(lots)
    }

    /// Whole-number price to ticks, without decimal arithmetic when the tick size allows
    /// (integers, and 1/m sizes such as 0.01). Same results and errors as [`Scale::to_ticks`].
    pub fn int_to_ticks(&self, price: i64) -> EngineResult<Ticks> {
        let ticks = int_units(price, self.tick_path, self.tick_size, "price", "tick_size")?;
        self.check_ticks(ticks, "price")?;
        Ok(ticks)
    }

    /// Whole-number quantity to lots; see [`Scale::int_to_ticks`].
    pub fn int_to_lots_as(&self, qty: i64, what: &str) -> EngineResult<Lots> {
        let lots = int_units(qty, self.lot_path, self.lot_size, what, "lot_size")?;
        self.check_lots(lots, what)?;
        Ok(lots)
    }

    /// Ticks to price, shown with the tick size's decimal places (100.30 for tick 0.01).
    /// Any tick count within `±max_ticks()` converts (zero and negative ones too, for
    /// display; at most tick sizes also `i64::MIN`); beyond it the error (`InvalidOrder`)
    /// says so. Use this for every value that did not come out of the book's validation
    /// (a raw integer from a caller, an aggregate).
    pub fn try_price(&self, ticks: Ticks) -> EngineResult<Decimal> {
        exact_value(ticks, self.tick_size).ok_or_else(|| {
            EngineError::invalid(format!(
                "{ticks} ticks is beyond the largest price this book can show (±{} ticks at tick_size {})",
                self.max_ticks, self.tick_size
            ))
        })
    }

    /// Lots to quantity, shown with the lot size's decimal places; see [`Scale::try_price`].
    pub fn try_quantity(&self, lots: Lots) -> EngineResult<Decimal> {
        exact_value(lots, self.lot_size).ok_or_else(|| {
            EngineError::invalid(format!(
                "{lots} lots is beyond the largest quantity this book can show (±{} lots at lot_size {})",
                self.max_lots, self.lot_size
            ))
        })
    }

    /// [`Scale::try_price`] for a price the book validated at entry (so within
    /// `max_ticks()`). Never panics: a count beyond the bound, which validated values
    /// cannot be, saturates at the bound.
    pub fn price(&self, ticks: Ticks) -> Decimal {
        saturating_out(ticks, self.max_ticks, self.tick_size)
    }

    /// [`Scale::try_quantity`] for a quantity the book validated; saturates like
    /// [`Scale::price`]. Aggregates (level totals, executed quantity) may exceed
    /// `max_lots()` for large lot sizes: convert those with [`Scale::try_quantity`].
    pub fn quantity(&self, lots: Lots) -> Decimal {
        saturating_out(lots, self.max_lots, self.lot_size)
    }
}

fn saturating_out(n: i64, max: i64, step: Decimal) -> Decimal {
    match exact_value(n, step).or_else(|| exact_value(n.clamp(-max, max), step)) {
        Some(value) => value,
        // Unreachable: within the bound the conversion is exact.
        None if n < 0 => Decimal::MIN,
        None => Decimal::MAX,
    }
}

/// The error of a unit count outside `1..=max` (out of line: the checks' fast path is two
/// comparisons).
#[cold]
#[inline(never)]
fn units_error(
    n: i64,
    max: i64,
    what: &str,
    unit: &str,
    kind: &str,
    step_name: &str,
    step: Decimal,
) -> EngineResult<()> {
    if n <= 0 {
        return Err(EngineError::invalid(format!("{what} must be > 0, got {n} {unit}")));
    }
    Err(EngineError::invalid(format!(
        "{what} {n} {unit} is above the largest {kind} this book can show ({max} {unit} at {step_name} {step})"
    )))
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

    fn scale(tick: &str, lot: &str) -> Scale {
        Scale::new(dec(tick), dec(lot)).unwrap()
    }

    fn dec(text: &str) -> Decimal {
        parse_decimal(text, "test value").unwrap()
    }

    /// The scenario: tick_size 1e10 and a price of i64::MAX ticks.
    #[test]
    fn price_beyond_what_decimal_can_show_is_refused_at_entry() {
        let s = scale("10000000000", "1");
        // 2**96 - 1 over 1e10: the largest tick count whose price a Decimal holds.
        assert_eq!(s.max_ticks(), 7_922_816_251_426_433_759);
        let err = s.check_ticks(i64::MAX, "price").unwrap_err();
        let EngineError::InvalidOrder(msg) = err else { panic!("wrong error kind") };
        assert!(msg.contains("price 9223372036854775807 ticks"), "{msg}");
        assert!(msg.contains("7922816251426433759 ticks at tick_size 10000000000"), "{msg}");
        assert!(s.check_ticks(s.max_ticks(), "price").is_ok());
        assert!(s.check_ticks(s.max_ticks() + 1, "price").is_err());
        let order = NewOrder::limit(1, crate::Side::Sell, i64::MAX, 1, 0);
        assert!(matches!(s.check_order(&order), Err(EngineError::InvalidOrder(_))));
        assert!(s.check_order(&NewOrder::limit(1, crate::Side::Sell, s.max_ticks(), 1, 0)).is_ok());
    }

    #[test]
    fn conversions_out_are_checked_and_never_panic() {
        let s = scale("10000000000", "0.001");
        assert!(matches!(s.try_price(i64::MAX), Err(EngineError::InvalidOrder(_))));
        assert!(matches!(s.try_price(i64::MIN), Err(EngineError::InvalidOrder(_))));
        let top = s.try_price(s.max_ticks()).unwrap();
        assert_eq!(top, Decimal::from_i128_with_scale(i128::from(s.max_ticks()) * 10_000_000_000, 0));
        assert_eq!(top, Decimal::from_i128_with_scale(MAX_MANTISSA - MAX_MANTISSA % 10_000_000_000, 0));
        // the unchecked forms saturate at the bound instead of panicking
        assert_eq!(s.price(i64::MAX), top);
        assert_eq!(s.price(i64::MIN), -top);
        assert_eq!(s.try_quantity(i64::MAX).unwrap().to_string(), "9223372036854775.807");
        assert_eq!(s.try_quantity(i64::MIN).unwrap().to_string(), "-9223372036854775.808");
        for (tick, lot) in [("0.01", "1"), ("1e-28", "1e-28"), ("1e20", "1e20"), ("12345678901.23", "0.5")] {
            let s = scale(tick, lot);
            for v in [i64::MIN, i64::MIN + 1, -1, 0, 1, 7, i64::MAX / 2, i64::MAX - 1, i64::MAX] {
                let _ = (s.price(v), s.quantity(v));
                match s.try_price(v) {
                    Ok(d) => assert_eq!(d, s.price(v), "tick {tick} value {v}"),
                    Err(_) => assert!(v.unsigned_abs() > s.max_ticks() as u64, "tick {tick} value {v}"),
                }
                match s.try_quantity(v) {
                    Ok(d) => assert_eq!(d, s.quantity(v), "lot {lot} value {v}"),
                    Err(_) => assert!(v.unsigned_abs() > s.max_lots() as u64, "lot {lot} value {v}"),
                }
            }
        }
    }

    #[test]
    fn conversions_out_keep_the_step_decimal_places() {
        let s = scale("0.010", "0.5");
        assert_eq!(s.price(10_030).to_string(), "100.30");
        assert_eq!(s.try_price(0).unwrap().to_string(), "0.00");
        assert_eq!(s.try_price(-1).unwrap().to_string(), "-0.01");
        assert_eq!(s.quantity(3).to_string(), "1.5");
        assert_eq!(s.try_quantity(2).unwrap().to_string(), "1.0");
    }

    /// A tick size with many significant digits caps the tick count below i64::MAX even
    /// though each accepted price is itself a valid Decimal at a smaller scale.
    #[test]
    fn to_ticks_refuses_counts_whose_price_would_not_convert_back() {
        let s = scale("12345678901.23", "1");
        let max = i64::try_from(MAX_MANTISSA / 1_234_567_890_123).unwrap();
        assert_eq!(s.max_ticks(), max);
        let over = (max / 100 + 1) * 100; // a multiple of 100 ticks is a whole-number price
        let price = Decimal::from(over) * s.tick_size;
        assert!(price.fract().is_zero());
        let err = s.to_ticks(price).unwrap_err();
        assert!(err.to_string().contains("above the largest price"), "{err}");
        assert_eq!(s.to_ticks(s.price(max / 100 * 100)), Ok(max / 100 * 100));
        // the fast integer path (lot 2**-20: quantity * 2**20 lots) agrees
        let lots = scale("0.00000095367431640625", "1");
        let lots = Scale::new(Decimal::ONE, lots.tick_size).unwrap();
        assert_eq!(lots.lot_path, IntPath::Multiply(1 << 20));
        assert_eq!(lots.max_lots(), i64::try_from(MAX_MANTISSA / 5_i128.pow(20)).unwrap());
        let q = 1_000_000_000; // 2**20 * 1e9 lots, above max_lots (about 8.3e14)
        let err = lots.int_to_lots_as(q, "quantity").unwrap_err();
        assert!(err.to_string().contains("above the largest quantity"), "{err}");
        assert_eq!(lots.int_to_lots_as(q, "quantity"), lots.to_lots(Decimal::from(q)));
        assert_eq!(lots.int_to_lots_as(1_000, "quantity"), Ok(1_000 << 20));
    }

    #[test]
    fn entry_checks_name_the_field_and_refuse_non_positive_counts() {
        let s = scale("10000000000", "10000000000");
        let big = NewOrder {
            display_quantity: Some(i64::MAX),
            ..NewOrder::limit(1, crate::Side::Buy, 5, s.max_lots(), 0)
        };
        let err = s.check_order(&big).unwrap_err().to_string();
        assert!(err.contains("display_quantity 9223372036854775807 lots"), "{err}");
        assert!(err.contains("lot_size 10000000000"), "{err}");
        let err = s.check_lots(0, "quantity").unwrap_err().to_string();
        assert!(err.contains("quantity must be > 0, got 0 lots"), "{err}");
        let err = s.check_ticks(-3, "price").unwrap_err().to_string();
        assert!(err.contains("price must be > 0, got -3 ticks"), "{err}");
        let m = Modify { id: 1, quantity: Some(i64::MAX), price: None, timestamp: 0 };
        assert!(s.check_modify(&m).unwrap_err().to_string().contains("quantity 9223372036854775807 lots"));
        let m = Modify { id: 1, quantity: None, price: Some(i64::MAX), timestamp: 0 };
        assert!(s.check_modify(&m).unwrap_err().to_string().contains("price 9223372036854775807 ticks"));
        let m = Modify { id: 1, quantity: Some(3), price: Some(s.max_ticks()), timestamp: 0 };
        assert!(s.check_modify(&m).is_ok());
        assert!(s.check_order(&NewOrder::market(1, crate::Side::Buy, 3, 0)).is_ok());
    }

    #[test]
    fn sizes_leaving_too_few_representable_units_are_refused() {
        for (tick, lot) in [("1e23", "1"), ("1", "1e28"), ("0.1234567890123456789012345678", "1")] {
            match Scale::new(dec(tick), dec(lot)) {
                Err(EngineError::InvalidConfig(m)) => assert!(m.contains("at most"), "{m}"),
                other => panic!("tick {tick} lot {lot}: {other:?}"),
            }
        }
        for (tick, lot) in [("1e20", "1e-28"), ("1e-28", "1e22"), ("10000000000", "0.001")] {
            assert!(Scale::new(dec(tick), dec(lot)).is_ok(), "tick {tick} lot {lot}");
        }
        let s = scale("1e-28", "1");
        assert_eq!(s.max_ticks(), i64::MAX);
        assert_eq!(s.price(i64::MAX).to_string(), "0.0000000009223372036854775807");
    }
}
