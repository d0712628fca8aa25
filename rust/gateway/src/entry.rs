//! Order entry: application messages of logged-on sessions turned into engine commands, and
//! the engine's answers turned into ExecutionReports for every session they concern (the
//! taker's and, for fills, expiries and cancels of resting orders, their owners').
//!
//! One `OrderEntry` serves all sessions from one thread (the gateway's loop owns it): no
//! lock. It keeps, per session, the ClOrdIDs it used (a ClOrdID is unique per session: a
//! repeat is rejected) and which engine order each names, and per engine order its owner
//! and state (for CumQty, LeavesQty and AvgPx). A session can only cancel or replace its own
//! orders: another session's ClOrdIDs are simply unknown to it.

use std::collections::{HashMap, HashSet};

use lft_engine::system::{Outcome, Refusal, Request, TradingSystem};
use lft_engine::{
    EngineError, ExecutionReport, Modify, OrderStatus, RejectReason as BookReject, Scale, Side,
};

use crate::codec::Message;
use crate::orders::{fix_decimal, new_order_single, ord_rej, required, Refused};
use crate::reports::{execution_report, ExecType, OrderState, Report};
use crate::session::Session;

/// A session's index in [`OrderEntry`].
pub type SessionId = usize;

/// Bytes to send to a session.
pub type Outgoing = (SessionId, Vec<u8>);

#[derive(Default)]
struct SessionOrders {
    used_cl_ord_ids: HashSet<String>,
    /// ClOrdID (the latest of each order) -> engine id.
    live: HashMap<String, u128>,
}

struct Owned {
    session: SessionId,
    state: OrderState,
    symbol: u32,
}

/// The order-entry state of every session.
pub struct OrderEntry<'a> {
    system: &'a TradingSystem,
    symbols: HashMap<String, (u32, Scale)>,
    sessions: Vec<SessionOrders>,
    orders: HashMap<u128, Owned>,
}

impl<'a> OrderEntry<'a> {
    /// Order entry into `system`, for `sessions` sessions.
    pub fn new(system: &'a TradingSystem, sessions: usize) -> Self {
        let symbols = (0..system.symbol_count() as u32)
            .filter_map(|i| {
                let name = system.symbol_name(i)?.to_string();
                let scale = *system.book(i).ok()?.scale();
                Some((name, (i, scale)))
            })
            .collect();
        OrderEntry {
            system,
            symbols,
            sessions: (0..sessions).map(|_| SessionOrders::default()).collect(),
            orders: HashMap::new(),
        }
    }

    /// Handle one delivered application message of session `sid`; returns what to send to
    /// whom (the sessions' `Session` values stamp the headers).
    pub fn on_message(
        &mut self,
        sid: SessionId,
        m: &Message<'_>,
        sessions: &mut [Session],
        now_ms: u64,
    ) -> Vec<Outgoing> {
        let mut out = Vec::new();
        match m.msg_type().unwrap_or_default() {
            b"D" => self.new_order(sid, m, sessions, now_ms, &mut out),
            b"F" => self.cancel(sid, m, sessions, now_ms, &mut out),
            b"G" => self.replace(sid, m, sessions, now_ms, &mut out),
            b"q" => self.mass_cancel(sid, m, sessions, now_ms, &mut out),
            b"V" => self.market_data(sid, m, sessions, now_ms, &mut out),
            other => {
                let msg_type = String::from_utf8_lossy(other).into_owned();
                let seq = m.seq_num().ok().flatten().unwrap_or(0);
                let bytes = sessions[sid].outgoing("j", now_ms, |b| {
                    b.field(45, seq)
                        .field(372, &msg_type)
                        .field(380, 3)
                        .field(58, format!("MsgType {msg_type} is not supported"));
                });
                out.push((sid, bytes));
            }
        }
        out
    }

    fn session_reject(
        sid: SessionId,
        m: &Message<'_>,
        sessions: &mut [Session],
        now_ms: u64,
        refused: Refused,
        out: &mut Vec<Outgoing>,
    ) {
        if let Refused::Session(p, text) = refused {
            out.push((sid, sessions[sid].reject_message(now_ms, m, p, &text)));
        }
    }

    fn new_order(
        &mut self,
        sid: SessionId,
        m: &Message<'_>,
        sessions: &mut [Session],
        now_ms: u64,
        out: &mut Vec<Outgoing>,
    ) {
        let symbols = &self.symbols;
        let parsed = new_order_single(m, |s| symbols.get(s).map(|(_, sc)| *sc), 0);
        let nos = match parsed {
            Ok(n) => n,
            Err(Refused::Order(code, text)) => {
                let cl = m.get_str(11).unwrap_or("").to_string();
                let sym = m.get_str(55).unwrap_or("").to_string();
                let side = if m.get(54) == Some(b"2") { Side::Sell } else { Side::Buy };
                let scale = symbols.get(&sym).map_or_else(
                    || Scale::new(lft_engine::Decimal::ONE, lft_engine::Decimal::ONE).expect("unit scale"),
                    |(_, s)| *s,
                );
                let state = OrderState::new(0, &cl, &sym, side, 0, None);
                out.push((sid, reject_report(&mut sessions[sid], now_ms, &scale, &state, code, &text)));
                return;
            }
            Err(refused) => return Self::session_reject(sid, m, sessions, now_ms, refused, out),
        };
        let (symbol, scale) = self.symbols[&nos.symbol];
        let book = match self.system.book(symbol) {
            Ok(b) => b,
            Err(e) => return self.engine_reject(sid, sessions, now_ms, &scale, &nos, &e, out),
        };
        if !self.sessions[sid].used_cl_ord_ids.insert(nos.cl_ord_id.clone()) {
            let state = OrderState::new(
                0,
                &nos.cl_ord_id,
                &nos.symbol,
                nos.order.side,
                nos.order.quantity,
                nos.order.price,
            );
            let text = format!("duplicate ClOrdID {:?} in this session", nos.cl_ord_id);
            out.push((
                sid,
                reject_report(&mut sessions[sid], now_ms, &scale, &state, ord_rej::DUPLICATE, &text),
            ));
            return;
        }
        let id = book.next_order_id();
        let mut order = nos.order;
        order.id = id;
        let state = OrderState::new(id, &nos.cl_ord_id, &nos.symbol, order.side, order.quantity, order.price);
        let reply = self.system.execute(symbol, Request::New(order), true);
        let report = match reply {
            Ok(r) => match r.outcome {
                Outcome::Report(rep) => rep,
                _ => return,
            },
            Err(Refusal { error, .. }) => {
                return self.engine_reject(sid, sessions, now_ms, &scale, &nos, &error, out)
            }
        };
        let own = report.report;
        if let Some(u) = own.filter(|u| u.status == OrderStatus::Rejected) {
            let text = u.reject_reason.map_or("rejected", BookReject::as_str);
            out.push((
                sid,
                reject_report(&mut sessions[sid], now_ms, &scale, &state, ord_rej::EXCHANGE, text),
            ));
            return;
        }
        self.sessions[sid].live.insert(nos.cl_ord_id.clone(), id);
        self.orders.insert(id, Owned { session: sid, state, symbol });
        // The acknowledgement first, then the fills, then what became of the rest.
        self.report(
            id,
            ExecType::New,
            OrderStatus::New,
            None,
            &nos.symbol,
            report_seq(&report),
            sessions,
            now_ms,
            out,
        );
        self.apply_fills(&report, sessions, now_ms, out);
        if let Some(u) = own {
            if matches!(u.status, OrderStatus::Canceled | OrderStatus::Expired) {
                let kind =
                    if u.status == OrderStatus::Canceled { ExecType::Canceled } else { ExecType::Expired };
                self.report(id, kind, u.status, None, &nos.symbol, u.sequence, sessions, now_ms, out);
                self.forget(id);
            }
        }
        self.forget_done(id);
    }

    #[allow(clippy::too_many_arguments)]
    fn engine_reject(
        &self,
        sid: SessionId,
        sessions: &mut [Session],
        now_ms: u64,
        scale: &Scale,
        nos: &crate::orders::NewOrderSingle,
        error: &EngineError,
        out: &mut Vec<Outgoing>,
    ) {
        let state = OrderState::new(
            0,
            &nos.cl_ord_id,
            &nos.symbol,
            nos.order.side,
            nos.order.quantity,
            nos.order.price,
        );
        out.push((
            sid,
            reject_report(&mut sessions[sid], now_ms, scale, &state, ord_rej::EXCHANGE, &error.to_string()),
        ));
    }

    /// Fills of every order a command's trades touched, and the updates of resting orders
    /// (expired, cancelled on the way), reported to their owners.
    fn apply_fills(
        &mut self,
        report: &ExecutionReport,
        sessions: &mut [Session],
        now_ms: u64,
        out: &mut Vec<Outgoing>,
    ) {
        for t in &report.trades {
            for id in [t.taker_order_id, t.maker_order_id] {
                let Some(o) = self.orders.get_mut(&id) else { continue };
                o.state.fill(t.price, t.quantity);
                let done = o.state.cum_qty >= o.state.order_qty;
                let status = if done { OrderStatus::Filled } else { OrderStatus::PartiallyFilled };
                let symbol = o.state.symbol.clone();
                self.report(
                    id,
                    ExecType::Trade,
                    status,
                    Some((t.price, t.quantity)),
                    &symbol,
                    t.sequence,
                    sessions,
                    now_ms,
                    out,
                );
            }
        }
        for u in &report.updates {
            if matches!(u.status, OrderStatus::Expired | OrderStatus::Canceled) {
                if let Some(o) = self.orders.get(&u.order_id) {
                    let kind =
                        if u.status == OrderStatus::Expired { ExecType::Expired } else { ExecType::Canceled };
                    let symbol = o.state.symbol.clone();
                    self.report(u.order_id, kind, u.status, None, &symbol, u.sequence, sessions, now_ms, out);
                    self.forget(u.order_id);
                }
            }
        }
        for t in &report.trades {
            self.forget_done(t.maker_order_id);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn report(
        &self,
        id: u128,
        kind: ExecType,
        status: OrderStatus,
        last: Option<(i64, i64)>,
        symbol: &str,
        seq: u64,
        sessions: &mut [Session],
        now_ms: u64,
        out: &mut Vec<Outgoing>,
    ) {
        let Some(o) = self.orders.get(&id) else { return };
        let scale = self.symbols[symbol].1;
        let leaves = match status {
            OrderStatus::New | OrderStatus::PartiallyFilled => o.state.order_qty - o.state.cum_qty,
            _ => 0,
        };
        let r = Report {
            exec_type: kind,
            status,
            leaves,
            last,
            exec_id: format!("{symbol}:{seq}"),
            ord_rej_reason: None,
            text: None,
        };
        out.push((o.session, execution_report(&mut sessions[o.session], now_ms, &scale, &o.state, &r)));
    }

    /// Drop an order once it is filled (its ClOrdIDs stay used).
    fn forget_done(&mut self, id: u128) {
        if self.orders.get(&id).is_some_and(|o| o.state.cum_qty >= o.state.order_qty) {
            self.forget(id);
        }
    }

    /// Drop an order that can no longer change.
    fn forget(&mut self, id: u128) {
        if let Some(o) = self.orders.remove(&id) {
            self.sessions[o.session].live.remove(&o.state.cl_ord_id);
        }
    }

    fn own_order(&self, sid: SessionId, m: &Message<'_>) -> Result<(String, u128), String> {
        let orig = m.get_str(41).ok_or("OrigClOrdID (41) is required")?;
        let id =
            self.sessions[sid].live.get(orig).copied().ok_or_else(|| format!("unknown order {orig:?}"))?;
        Ok((orig.to_string(), id))
    }

    fn cancel_reject(
        sid: SessionId,
        m: &Message<'_>,
        to: char,
        reason: u8,
        text: &str,
        sessions: &mut [Session],
        now_ms: u64,
    ) -> Outgoing {
        let cl = m.get_str(11).unwrap_or("").to_string();
        let orig = m.get_str(41).unwrap_or("").to_string();
        let bytes = sessions[sid].outgoing("9", now_ms, |b| {
            b.field(37, "NONE")
                .field(11, cl)
                .field(41, orig)
                .field(39, '8')
                .field(434, to)
                .field(102, reason)
                .field(58, text);
        });
        (sid, bytes)
    }

    fn cancel(
        &mut self,
        sid: SessionId,
        m: &Message<'_>,
        sessions: &mut [Session],
        now_ms: u64,
        out: &mut Vec<Outgoing>,
    ) {
        let cl = match required(m, 11) {
            Ok(c) => c.to_string(),
            Err(r) => return Self::session_reject(sid, m, sessions, now_ms, r, out),
        };
        let (_, id) = match self.own_order(sid, m) {
            Ok(x) => x,
            Err(text) => return out.push(Self::cancel_reject(sid, m, '1', 1, &text, sessions, now_ms)),
        };
        if let Err(error) = self.cancel_order(id, Some(cl), sessions, now_ms, out) {
            out.push(Self::cancel_reject(sid, m, '1', 0, &error.to_string(), sessions, now_ms));
        }
    }

    /// Cancel one of a session's orders in the engine, report it to its owner and forget it.
    /// `cl_ord_id`: the ClOrdID of the cancel request (the order's becomes OrigClOrdID).
    fn cancel_order(
        &mut self,
        id: u128,
        cl_ord_id: Option<String>,
        sessions: &mut [Session],
        now_ms: u64,
        out: &mut Vec<Outgoing>,
    ) -> Result<(), EngineError> {
        let book = self.orders[&id].symbol;
        let reply =
            self.system.execute(book, Request::Cancel { id, timestamp: 0 }, true).map_err(|r| r.error)?;
        let o = self.orders.get_mut(&id).expect("checked above");
        // The session's ClOrdID for the order (what its live map knows it by).
        let live_key = o.state.cl_ord_id.clone();
        if let Some(cl) = cl_ord_id {
            o.state.orig_cl_ord_id = Some(std::mem::replace(&mut o.state.cl_ord_id, cl));
        }
        let name = o.state.symbol.clone();
        let session = o.session;
        let seq = outcome_seq(&reply.outcome);
        self.report(id, ExecType::Canceled, OrderStatus::Canceled, None, &name, seq, sessions, now_ms, out);
        self.sessions[session].live.remove(&live_key);
        self.orders.remove(&id);
        Ok(())
    }

    fn replace(
        &mut self,
        sid: SessionId,
        m: &Message<'_>,
        sessions: &mut [Session],
        now_ms: u64,
        out: &mut Vec<Outgoing>,
    ) {
        let cl = match required(m, 11) {
            Ok(c) => c.to_string(),
            Err(r) => return Self::session_reject(sid, m, sessions, now_ms, r, out),
        };
        let (orig, id) = match self.own_order(sid, m) {
            Ok(x) => x,
            Err(text) => return out.push(Self::cancel_reject(sid, m, '2', 1, &text, sessions, now_ms)),
        };
        if !self.sessions[sid].used_cl_ord_ids.insert(cl.clone()) {
            return out.push(Self::cancel_reject(
                sid,
                m,
                '2',
                6,
                "duplicate ClOrdID in this session",
                sessions,
                now_ms,
            ));
        }
        let (symbol, name) = (self.orders[&id].symbol, self.orders[&id].state.symbol.clone());
        let scale = self.symbols[&name].1;
        let qty = match fix_decimal(m, 38) {
            Ok(q) => q,
            Err(r) => return Self::session_reject(sid, m, sessions, now_ms, r, out),
        };
        let price = match fix_decimal(m, 44) {
            Ok(p) => p,
            Err(r) => return Self::session_reject(sid, m, sessions, now_ms, r, out),
        };
        let to_engine = || -> Result<(Option<i64>, Option<i64>), String> {
            let cum = self.orders[&id].state.cum_qty;
            let qty = qty.map(|q| scale.to_lots(q)).transpose().map_err(|e| e.to_string())?;
            let open = match qty {
                Some(q) if q <= cum => {
                    return Err("OrderQty (38) is not above the quantity already filled".into())
                }
                Some(q) => Some(q - cum),
                None => None,
            };
            Ok((open, price.map(|p| scale.to_ticks(p)).transpose().map_err(|e| e.to_string())?))
        };
        let (open, ticks) = match to_engine() {
            Ok(x) => x,
            Err(text) => return out.push(Self::cancel_reject(sid, m, '2', 99, &text, sessions, now_ms)),
        };
        let modify = Modify { id, quantity: open, price: ticks, timestamp: 0 };
        match self.system.execute(symbol, Request::Modify(modify), true) {
            Ok(r) => {
                let Outcome::Report(rep) = r.outcome else { return };
                if let Some(o) = self.orders.get_mut(&id) {
                    o.state.orig_cl_ord_id = Some(orig.clone());
                    o.state.cl_ord_id = cl.clone();
                    if let Some(q) = open {
                        o.state.order_qty = o.state.cum_qty + q;
                    }
                    if ticks.is_some() {
                        o.state.price = ticks;
                    }
                }
                let live = self.sessions.get_mut(sid).expect("session");
                live.live.remove(&orig);
                live.live.insert(cl, id);
                let status = rep.report.map_or(OrderStatus::New, |u| u.status);
                self.report(
                    id,
                    ExecType::Replaced,
                    status,
                    None,
                    &name,
                    report_seq(&rep),
                    sessions,
                    now_ms,
                    out,
                );
                self.apply_fills(&rep, sessions, now_ms, out);
                self.forget_done(id);
            }
            Err(Refusal { error, .. }) => {
                out.push(Self::cancel_reject(sid, m, '2', 0, &error.to_string(), sessions, now_ms));
            }
        }
    }

    /// MarketDataRequest (V): a snapshot (W) of the top MarketDepth (264) levels of each
    /// requested symbol (bids and offers, each with its size, order count and level number).
    /// Streaming updates (263=1) are not offered yet: answered with MarketDataRequestReject
    /// (Y, 281=4); an unknown symbol with Y, 281=0.
    fn market_data(
        &mut self,
        sid: SessionId,
        m: &Message<'_>,
        sessions: &mut [Session],
        now_ms: u64,
        out: &mut Vec<Outgoing>,
    ) {
        let req = match required(m, 262) {
            Ok(r) => r.to_string(),
            Err(r) => return Self::session_reject(sid, m, sessions, now_ms, r, out),
        };
        let reject = |reason: u8, text: &str, sessions: &mut [Session]| {
            let bytes = sessions[sid].outgoing("Y", now_ms, |b| {
                b.field(262, &req).field(281, reason).field(58, text);
            });
            (sid, bytes)
        };
        match m.get_str(263) {
            Some("0") => {}
            Some("1") | Some("2") => {
                return out.push(reject(
                    4,
                    "streaming updates are not offered yet: request snapshots (263=0)",
                    sessions,
                ))
            }
            _ => {
                let p = crate::codec::FieldProblem {
                    tag: 263,
                    reason: crate::codec::RejectReason::ValueOutOfRange,
                };
                return Self::session_reject(
                    sid,
                    m,
                    sessions,
                    now_ms,
                    Refused::Session(p, "SubscriptionRequestType must be 0, 1 or 2".into()),
                    out,
                );
            }
        }
        let depth = match m.get_u64(264) {
            Ok(None) | Ok(Some(0)) => 1000,
            Ok(Some(d)) => d.min(1000) as usize,
            Err(p) => {
                return Self::session_reject(
                    sid,
                    m,
                    sessions,
                    now_ms,
                    Refused::Session(p, "MarketDepth must be a number".into()),
                    out,
                )
            }
        };
        let symbols: Vec<String> = m
            .fields
            .iter()
            .filter(|(t, _)| *t == 55)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .collect();
        if symbols.is_empty() {
            return Self::session_reject(
                sid,
                m,
                sessions,
                now_ms,
                Refused::Session(
                    crate::codec::FieldProblem {
                        tag: 55,
                        reason: crate::codec::RejectReason::RequiredTagMissing,
                    },
                    "at least one Symbol (55) is required".into(),
                ),
                out,
            );
        }
        for name in symbols {
            let Some(&(index, scale)) = self.symbols.get(&name) else {
                out.push(reject(0, &format!("unknown symbol {name:?}"), sessions));
                continue;
            };
            let Ok(book) = self.system.book(index) else { continue };
            let d = book.depth(depth);
            let bytes = sessions[sid].outgoing("W", now_ms, |b| {
                b.field(262, &req).field(55, &name).field(268, d.bids.len() + d.asks.len());
                for (kind, levels) in [('0', &d.bids), ('1', &d.asks)] {
                    for (i, l) in levels.iter().enumerate() {
                        b.field(269, kind)
                            .field(270, scale.price(l.price).normalize())
                            .field(
                                271,
                                scale
                                    .try_quantity(l.quantity)
                                    .unwrap_or_else(|_| scale.quantity(l.quantity))
                                    .normalize(),
                            )
                            .field(346, l.order_count)
                            .field(1023, i + 1);
                    }
                }
            });
            out.push((sid, bytes));
        }
    }

    fn mass_cancel(
        &mut self,
        sid: SessionId,
        m: &Message<'_>,
        sessions: &mut [Session],
        now_ms: u64,
        out: &mut Vec<Outgoing>,
    ) {
        let cl = m.get_str(11).unwrap_or("").to_string();
        let kind = m.get_str(530).unwrap_or("7").to_string();
        let symbol = m.get_str(55).map(str::to_string);
        let side = match m.get(54) {
            Some(b"1") => Some(Side::Buy),
            Some(b"2") => Some(Side::Sell),
            _ => None,
        };
        if kind == "1" && symbol.is_none() {
            return Self::session_reject(
                sid,
                m,
                sessions,
                now_ms,
                Refused::Session(
                    crate::codec::FieldProblem {
                        tag: 55,
                        reason: crate::codec::RejectReason::RequiredTagMissing,
                    },
                    "Symbol (55) is required for MassCancelRequestType 1".into(),
                ),
                out,
            );
        }
        let mine: Vec<u128> = self
            .orders
            .iter()
            .filter(|(_, o)| o.session == sid)
            .filter(|(_, o)| kind != "1" || Some(&o.state.symbol) == symbol.as_ref())
            .filter(|(_, o)| side.is_none_or(|s| o.state.side == s))
            .map(|(id, _)| *id)
            .collect();
        let mut affected = 0u64;
        for id in mine {
            if self.cancel_order(id, None, sessions, now_ms, out).is_ok() {
                affected += 1;
            }
        }
        let bytes = sessions[sid].outgoing("r", now_ms, |b| {
            b.field(11, cl)
                .field(37, "MASS")
                .field(530, &kind)
                .field(531, if kind == "1" { 1 } else { 7 })
                .field(533, affected);
            if let Some(s) = &symbol {
                b.field(55, s);
            }
        });
        out.push((sid, bytes));
    }
}

/// The event sequence of a command's own update (for the ExecID), or 0.
fn report_seq(r: &ExecutionReport) -> u64 {
    r.report.map_or(0, |u| u.sequence)
}

/// [`report_seq`] of a reply's outcome (0 when it is not a report).
fn outcome_seq(outcome: &Outcome) -> u64 {
    match outcome {
        Outcome::Report(r) => report_seq(r),
        _ => 0,
    }
}

fn reject_report(
    session: &mut Session,
    now_ms: u64,
    scale: &Scale,
    state: &OrderState,
    code: u8,
    text: &str,
) -> Vec<u8> {
    let r = Report {
        exec_type: ExecType::Rejected,
        status: OrderStatus::Rejected,
        leaves: 0,
        last: None,
        exec_id: format!("REJ:{}", state.cl_ord_id),
        ord_rej_reason: Some(code),
        text: Some(text),
    };
    execution_report(session, now_ms, scale, state, &r)
}
