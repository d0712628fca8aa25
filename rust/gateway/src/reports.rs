//! ExecutionReports (8) as FIX 4.4 defines them, from what the engine says happened to an
//! order: ExecType (150) says what this report is about, OrdStatus (39) where the order
//! stands after it, CumQty (14) + LeavesQty (151) = OrderQty (38) while the order lives,
//! AvgPx (6) the quantity-weighted price of its fills, LastPx (31) / LastQty (32) the fill
//! a Trade report is about.

use lft_engine::{Decimal, Lots, OrderStatus, Scale, Side, Ticks};

use crate::session::Session;

/// What the gateway keeps about one order of a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderState {
    /// The engine's id (OrderID, 37).
    pub order_id: u128,
    /// ClOrdID (11) of the request that last changed it.
    pub cl_ord_id: String,
    /// OrigClOrdID (41) on a replace or cancel.
    pub orig_cl_ord_id: Option<String>,
    /// Symbol (55).
    pub symbol: String,
    /// Side.
    pub side: Side,
    /// OrderQty (38) in lots.
    pub order_qty: Lots,
    /// Limit price, if any.
    pub price: Option<Ticks>,
    /// Filled so far, lots.
    pub cum_qty: Lots,
    /// Sum of fill price × quantity (ticks × lots), for AvgPx.
    pub notional: i128,
}

impl OrderState {
    /// A new order's state.
    pub fn new(
        order_id: u128,
        cl_ord_id: &str,
        symbol: &str,
        side: Side,
        order_qty: Lots,
        price: Option<Ticks>,
    ) -> Self {
        OrderState {
            order_id,
            cl_ord_id: cl_ord_id.into(),
            orig_cl_ord_id: None,
            symbol: symbol.into(),
            side,
            order_qty,
            price,
            cum_qty: 0,
            notional: 0,
        }
    }

    /// Record a fill.
    pub fn fill(&mut self, price: Ticks, qty: Lots) {
        self.cum_qty = self.cum_qty.saturating_add(qty);
        self.notional += i128::from(price) * i128::from(qty);
    }
}

/// ExecType (150).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecType {
    /// 0: the order is accepted.
    New,
    /// F: a fill.
    Trade,
    /// 4: cancelled (by request, or an IOC/FOK/market remainder).
    Canceled,
    /// 5: replaced.
    Replaced,
    /// C: expired (GTD time, end of day).
    Expired,
    /// 8: rejected.
    Rejected,
}

impl ExecType {
    fn code(self) -> char {
        match self {
            ExecType::New => '0',
            ExecType::Trade => 'F',
            ExecType::Canceled => '4',
            ExecType::Replaced => '5',
            ExecType::Expired => 'C',
            ExecType::Rejected => '8',
        }
    }
}

/// OrdStatus (39) of an engine status.
pub fn ord_status(status: OrderStatus) -> char {
    match status {
        OrderStatus::New => '0',
        OrderStatus::PartiallyFilled => '1',
        OrderStatus::Filled => '2',
        OrderStatus::Canceled => '4',
        OrderStatus::Rejected => '8',
        OrderStatus::Expired => 'C',
    }
}

/// One report to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report<'a> {
    /// ExecType.
    pub exec_type: ExecType,
    /// OrdStatus after it.
    pub status: OrderStatus,
    /// Open quantity after it (LeavesQty: 0 once the order is done).
    pub leaves: Lots,
    /// The fill of a Trade report: price and quantity.
    pub last: Option<(Ticks, Lots)>,
    /// ExecID (17): unique per report (e.g. the symbol and the book's event sequence).
    pub exec_id: String,
    /// OrdRejReason (103) of a rejection.
    pub ord_rej_reason: Option<u8>,
    /// Text (58).
    pub text: Option<&'a str>,
}

/// AvgPx of an order's fills (0 before any).
pub fn avg_px(scale: &Scale, state: &OrderState) -> Decimal {
    if state.cum_qty == 0 {
        return Decimal::ZERO;
    }
    // The whole ticks first (an average price fits 64 bits), then the fraction: no decimal
    // arithmetic on the 128-bit notional.
    let cum = i128::from(state.cum_qty);
    let whole = Decimal::from(i64::try_from(state.notional / cum).unwrap_or(i64::MAX));
    let frac = Decimal::from(i64::try_from(state.notional % cum).unwrap_or(0))
        .checked_div(Decimal::from(state.cum_qty))
        .unwrap_or_default();
    (whole + frac).checked_mul(scale.tick_size).unwrap_or_default().round_dp(12).normalize()
}

/// The bytes of an ExecutionReport for `state` on `session` (which stamps the header).
pub fn execution_report(
    session: &mut Session,
    now_ms: u64,
    scale: &Scale,
    state: &OrderState,
    r: &Report<'_>,
) -> Vec<u8> {
    session.outgoing("8", now_ms, |b| {
        b.field(37, state.order_id).field(11, &state.cl_ord_id);
        if let Some(orig) = &state.orig_cl_ord_id {
            b.field(41, orig);
        }
        b.field(17, &r.exec_id)
            .field(150, r.exec_type.code())
            .field(39, ord_status(r.status))
            .field(55, &state.symbol)
            .field(54, if state.side == Side::Buy { '1' } else { '2' })
            .field(38, scale.quantity(state.order_qty).normalize());
        if let Some(p) = state.price {
            b.field(44, scale.price(p).normalize());
        }
        if let Some((px, qty)) = r.last {
            b.field(31, scale.price(px).normalize()).field(32, scale.quantity(qty).normalize());
        }
        b.field(151, scale.quantity(r.leaves).normalize())
            .field(14, scale.quantity(state.cum_qty).normalize())
            .field(6, avg_px(scale, state));
        if let Some(code) = r.ord_rej_reason {
            b.field(103, code);
        }
        if let Some(text) = r.text {
            b.field(58, text);
        }
    })
}
