//! Order entry: application messages of logged-on sessions turned into engine commands, and
//! the engine's answers turned into ExecutionReports for every session they concern (the
//! taker's and, for fills, expiries and cancels of resting orders, their owners').
//!
//! One `OrderEntry` serves all sessions from one thread (the gateway's loop owns it): no
//! lock. It keeps, per session, the ClOrdIDs it used (a ClOrdID is unique per session: a
//! repeat is rejected) and which engine order each names, and per engine order its owner
//! and state (for CumQty, LeavesQty and AvgPx). A session can only cancel or replace its own
//! orders: another session's ClOrdIDs are simply unknown to it.

use std::collections::{HashMap, HashSet, VecDeque};

use lft_engine::system::{
    FeedEvent, FeedKind, Outcome, Pending, Refusal, Reply, Request, Subscription, TradingSystem,
};
use lft_engine::{
    EngineError, ExecutionReport, Modify, OrderStatus, RejectReason as BookReject, Scale, Side,
};

use crate::codec::Message;
use crate::market_data::{EntryTypes, MarketData};
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

/// A NewOrderSingle handed to its worker whose reply has not been read yet.
struct InFlight {
    sid: SessionId,
    pending: Pending<Reply>,
    symbol: u32,
    state: OrderState,
}

/// Events read from the ring in one poll at most (the rest wait for the next).
const FEED_BATCH: usize = 1 << 20;

/// The order-entry state of every session.
///
/// NewOrderSingles are pipelined: each is handed to its symbol's worker at once and its
/// reply read later, in arrival order ([`OrderEntry::drain`]), so a burst of orders from any
/// number of sessions keeps the workers busy while the gateway reads the next. Every other
/// message first drains what is in flight, then runs to completion, so what a session is
/// sent is stamped in the order it asked.
///
/// Commands from elsewhere (Python, expiry sweeps, the end of the day) also fill, expire and
/// cancel the sessions' orders: those come from the system's broadcast ring, read while the
/// gateway has orders or subscriptions. A command's events are published before its reply,
/// so once the reply of the gateway's command `c` is in, the ring holds every event of `c`
/// and of the symbol's commands before it: the ones before it (not the gateway's) are
/// reported first, the ones of `c` are skipped (the reply reports them), and later ones wait.
pub struct OrderEntry<'a> {
    system: &'a TradingSystem,
    symbols: HashMap<String, (u32, Scale)>,
    sessions: Vec<SessionOrders>,
    orders: HashMap<u128, Owned>,
    in_flight: VecDeque<InFlight>,
    /// The ring, while the gateway has orders, commands in flight or subscriptions.
    feed: Option<Subscription>,
    feed_lost: u64,
    /// Per symbol: trade and order events read but not yet reported.
    waiting: Vec<VecDeque<FeedEvent>>,
    /// Events for market data, in ring order.
    md_events: Vec<FeedEvent>,
    /// Streaming market data.
    pub market_data: MarketData,
    /// Events the gateway missed because it fell a whole ring behind (reports for orders
    /// touched by other commands may be missing; market data was resynchronised).
    pub events_lost: u64,
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
        let count = system.symbol_count();
        OrderEntry {
            system,
            symbols,
            sessions: (0..sessions).map(|_| SessionOrders::default()).collect(),
            orders: HashMap::new(),
            in_flight: VecDeque::new(),
            feed: None,
            feed_lost: 0,
            waiting: (0..count).map(|_| VecDeque::new()).collect(),
            md_events: Vec::new(),
            market_data: MarketData::default(),
            events_lost: 0,
        }
    }

    /// Whether the gateway must read the ring soon (it has orders, commands in flight or
    /// market-data subscriptions).
    pub fn wants_feed(&self) -> bool {
        !self.orders.is_empty() || !self.in_flight.is_empty() || self.market_data.is_active()
    }

    /// Commands handed to workers and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    fn ensure_feed(&mut self) {
        if self.feed.is_none() {
            self.feed = Some(self.system.subscribe());
            self.feed_lost = 0;
        }
    }

    /// Read what the ring holds: trade and order events wait per symbol for reporting,
    /// events of subscribed symbols go to market data.
    fn poll_feed(&mut self) {
        let Some(feed) = self.feed.as_mut() else { return };
        let keep_orders = !self.orders.is_empty() || !self.in_flight.is_empty();
        for _ in 0..FEED_BATCH {
            let Some(e) = feed.poll() else { break };
            if keep_orders && matches!(e.kind, FeedKind::Trade | FeedKind::Order) {
                if let Some(w) = self.waiting.get_mut(e.symbol as usize) {
                    w.push_back(e);
                }
            }
            if self.market_data.wants(e.symbol) {
                self.md_events.push(e);
            }
        }
        let lost = feed.lost();
        if lost > self.feed_lost {
            self.events_lost += lost - self.feed_lost;
            self.feed_lost = lost;
            self.md_events.clear();
            self.market_data.events_lost(self.system);
        }
    }

    /// The reply of the gateway's command `c` of `symbol` is in: report the events of the
    /// symbol's earlier commands (not the gateway's), skip those of `c`.
    fn after_reply(
        &mut self,
        symbol: u32,
        c: u64,
        sessions: &mut [Session],
        now_ms: u64,
        out: &mut Vec<Outgoing>,
    ) {
        self.poll_feed();
        let Some(w) = self.waiting.get_mut(symbol as usize) else { return };
        let mut earlier = Vec::new();
        while let Some(e) = w.front() {
            if e.command_sequence > c {
                break;
            }
            let e = w.pop_front().expect("front exists");
            if e.command_sequence < c {
                earlier.push(e);
            }
        }
        for e in earlier {
            self.on_foreign(&e, sessions, now_ms, out);
        }
    }

    /// An event of a command the gateway did not send, about one of its orders (maybe).
    fn on_foreign(&mut self, e: &FeedEvent, sessions: &mut [Session], now_ms: u64, out: &mut Vec<Outgoing>) {
        match e.kind {
            FeedKind::Trade => {
                for id in [e.order_id, e.other_id] {
                    let Some(o) = self.orders.get_mut(&id) else { continue };
                    o.state.fill(e.price, e.quantity);
                    let done = o.state.cum_qty >= o.state.order_qty;
                    let status = if done { OrderStatus::Filled } else { OrderStatus::PartiallyFilled };
                    let symbol = o.state.symbol.clone();
                    let last = Some((e.price, e.quantity));
                    self.report(
                        id,
                        ExecType::Trade,
                        status,
                        last,
                        &symbol,
                        e.sequence,
                        sessions,
                        now_ms,
                        out,
                    );
                    self.forget_done(id);
                }
            }
            FeedKind::Order => {
                let status = e.order_status();
                if let Some(s @ (OrderStatus::Canceled | OrderStatus::Expired)) = status {
                    if let Some(o) = self.orders.get(&e.order_id) {
                        let kind =
                            if s == OrderStatus::Expired { ExecType::Expired } else { ExecType::Canceled };
                        let symbol = o.state.symbol.clone();
                        self.report(e.order_id, kind, s, None, &symbol, e.sequence, sessions, now_ms, out);
                        self.forget(e.order_id);
                    }
                }
            }
            _ => {}
        }
    }

    /// Read the replies of every command in flight (in the order they were sent) and report
    /// them; then report what other commands did to the sessions' orders. Call before
    /// stamping anything else for a session.
    pub fn drain(&mut self, sessions: &mut [Session], now_ms: u64, out: &mut Vec<Outgoing>) {
        while let Some(f) = self.in_flight.pop_front() {
            let InFlight { sid, pending, symbol, state } = f;
            let reply = pending.wait();
            let c = reply_sequence(&reply);
            self.after_reply(symbol, c, sessions, now_ms, out);
            self.complete_new_order(sid, symbol, state, reply, sessions, now_ms, out);
        }
        self.poll_feed();
        for k in 0..self.waiting.len() {
            while let Some(e) = self.waiting[k].pop_front() {
                self.on_foreign(&e, sessions, now_ms, out);
            }
        }
        if !self.wants_feed() {
            self.feed = None; // nothing to follow: stop reading (and counting losses)
        }
    }

    /// After [`OrderEntry::drain`]: increments (and resynchronising snapshots) for the
    /// market-data subscribers; `unsent(sid)`: bytes queued for that session's connection.
    pub fn publish_market_data(
        &mut self,
        sessions: &mut [Session],
        now_ms: u64,
        unsent: impl Fn(SessionId) -> usize,
        out: &mut Vec<Outgoing>,
    ) {
        let events = std::mem::take(&mut self.md_events);
        self.market_data.on_events(&events, sessions, now_ms, &unsent, out);
        self.md_events = events;
        self.md_events.clear();
        self.market_data.resynchronise(sessions, now_ms, &unsent, out);
    }

    /// A session's connection closed: its subscriptions end (its orders stay).
    pub fn session_closed(&mut self, sid: SessionId) {
        self.market_data.drop_session(sid);
    }

    /// Send a command and wait for its reply (after what is in flight), reporting first the
    /// events of the symbol's earlier commands that the gateway did not send.
    fn call(
        &mut self,
        symbol: u32,
        request: Request,
        sessions: &mut [Session],
        now_ms: u64,
        out: &mut Vec<Outgoing>,
    ) -> Reply {
        self.drain(sessions, now_ms, out);
        self.ensure_feed();
        let reply = self.system.execute(symbol, request, true);
        self.after_reply(symbol, reply_sequence(&reply), sessions, now_ms, out);
        reply
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
        let msg_type = m.msg_type().unwrap_or_default();
        if msg_type != b"D" {
            self.drain(sessions, now_ms, &mut out);
        }
        match msg_type {
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
            Err(refused) => {
                self.drain(sessions, now_ms, out);
                return self.refuse_new_order(sid, m, refused, sessions, now_ms, out);
            }
        };
        let (symbol, scale) = self.symbols[&nos.symbol];
        let book = match self.system.book(symbol) {
            Ok(b) => b,
            Err(e) => {
                self.drain(sessions, now_ms, out);
                return self.engine_reject(sid, sessions, now_ms, &scale, &nos_state(&nos, 0), &e, out);
            }
        };
        if !self.sessions[sid].used_cl_ord_ids.insert(nos.cl_ord_id.clone()) {
            self.drain(sessions, now_ms, out);
            let text = format!("duplicate ClOrdID {:?} in this session", nos.cl_ord_id);
            out.push((
                sid,
                reject_report(
                    &mut sessions[sid],
                    now_ms,
                    &scale,
                    &nos_state(&nos, 0),
                    ord_rej::DUPLICATE,
                    &text,
                ),
            ));
            return;
        }
        let id = book.next_order_id();
        let mut order = nos.order;
        order.id = id;
        let state = nos_state(&nos, id);
        self.ensure_feed();
        match self.system.send(symbol, Request::New(order), true, None) {
            Ok(pending) => self.in_flight.push_back(InFlight { sid, pending, symbol, state }),
            Err(Refusal { error, .. }) => {
                self.drain(sessions, now_ms, out);
                self.engine_reject(sid, sessions, now_ms, &scale, &state, &error, out);
            }
        }
    }

    /// A NewOrderSingle refused before it reached the engine: an ExecutionReport with
    /// OrdStatus 8 (order problems) or a Reject (session problems).
    fn refuse_new_order(
        &mut self,
        sid: SessionId,
        m: &Message<'_>,
        refused: Refused,
        sessions: &mut [Session],
        now_ms: u64,
        out: &mut Vec<Outgoing>,
    ) {
        let symbols = &self.symbols;
        match refused {
            Refused::Order(code, text) => {
                let cl = m.get_str(11).unwrap_or("").to_string();
                let sym = m.get_str(55).unwrap_or("").to_string();
                let side = if m.get(54) == Some(b"2") { Side::Sell } else { Side::Buy };
                let scale = symbols.get(&sym).map_or_else(
                    || Scale::new(lft_engine::Decimal::ONE, lft_engine::Decimal::ONE).expect("unit scale"),
                    |(_, s)| *s,
                );
                let state = OrderState::new(0, &cl, &sym, side, 0, None);
                out.push((sid, reject_report(&mut sessions[sid], now_ms, &scale, &state, code, &text)));
            }
            refused => Self::session_reject(sid, m, sessions, now_ms, refused, out),
        }
    }

    /// The reply of a pipelined NewOrderSingle: its acknowledgement (or reject), its fills,
    /// and what became of the rest.
    #[allow(clippy::too_many_arguments)]
    fn complete_new_order(
        &mut self,
        sid: SessionId,
        symbol: u32,
        state: OrderState,
        reply: Reply,
        sessions: &mut [Session],
        now_ms: u64,
        out: &mut Vec<Outgoing>,
    ) {
        let id = state.order_id;
        let scale = self.symbols[&state.symbol].1;
        let report = match reply {
            Ok(r) => match r.outcome {
                Outcome::Report(rep) => rep,
                _ => return,
            },
            Err(Refusal { error, .. }) => {
                return self.engine_reject(sid, sessions, now_ms, &scale, &state, &error, out)
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
        let name = state.symbol.clone();
        self.sessions[sid].live.insert(state.cl_ord_id.clone(), id);
        self.orders.insert(id, Owned { session: sid, state, symbol });
        // The acknowledgement first, then the fills, then what became of the rest.
        self.report(
            id,
            ExecType::New,
            OrderStatus::New,
            None,
            &name,
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
                self.report(id, kind, u.status, None, &name, u.sequence, sessions, now_ms, out);
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
        state: &OrderState,
        error: &EngineError,
        out: &mut Vec<Outgoing>,
    ) {
        out.push((
            sid,
            reject_report(&mut sessions[sid], now_ms, scale, state, ord_rej::EXCHANGE, &error.to_string()),
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
        let reply = self
            .call(book, Request::Cancel { id, timestamp: 0 }, sessions, now_ms, out)
            .map_err(|r| r.error)?;
        let Some(o) = self.orders.get_mut(&id) else { return Ok(()) };
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
        match self.call(symbol, Request::Modify(modify), sessions, now_ms, out) {
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

    /// MarketDataRequest (V): 263=0 a snapshot (W) of the top MarketDepth (264) levels of
    /// each requested symbol, read by its worker between commands; 263=1 that snapshot and
    /// then incremental refreshes (X) of every level change and trade (see
    /// [`crate::market_data`]); 263=2 ends the subscription of that MDReqID. Refusals:
    /// MarketDataRequestReject (Y) with 281=0 (unknown symbol), 1 (duplicate MDReqID),
    /// 5 (MDUpdateType 0: full refreshes are not offered) or 8 (an MDEntryType other than
    /// 0, 1, 2).
    fn market_data(
        &mut self,
        sid: SessionId,
        m: &Message<'_>,
        sessions: &mut [Session],
        now_ms: u64,
        out: &mut Vec<Outgoing>,
    ) {
        use crate::codec::{FieldProblem, RejectReason};
        let problem = |tag: u32, reason: RejectReason, text: &str| {
            Refused::Session(FieldProblem { tag, reason }, text.to_string())
        };
        let req = match required(m, 262) {
            Ok(r) => r.to_string(),
            Err(r) => return Self::session_reject(sid, m, sessions, now_ms, r, out),
        };
        let reject = |reason: char, text: &str, sessions: &mut [Session]| {
            let bytes = sessions[sid].outgoing("Y", now_ms, |b| {
                b.field(262, &req).field(281, reason).field(58, text);
            });
            (sid, bytes)
        };
        let streaming = match m.get_str(263) {
            Some("0") => false,
            Some("1") => true,
            Some("2") => {
                if !self.market_data.unsubscribe(sid, &req) {
                    out.push(reject('0', &format!("no subscription with MDReqID {req:?}"), sessions));
                }
                return;
            }
            None => {
                let p = problem(
                    263,
                    RejectReason::RequiredTagMissing,
                    "SubscriptionRequestType (263) is required",
                );
                return Self::session_reject(sid, m, sessions, now_ms, p, out);
            }
            _ => {
                let p =
                    problem(263, RejectReason::ValueOutOfRange, "SubscriptionRequestType must be 0, 1 or 2");
                return Self::session_reject(sid, m, sessions, now_ms, p, out);
            }
        };
        if streaming {
            match m.get_str(265) {
                Some("1") => {}
                Some("0") => {
                    return out.push(reject(
                        '5',
                        "only incremental refreshes are offered: MDUpdateType (265) must be 1",
                        sessions,
                    ))
                }
                None => {
                    let p = problem(
                        265,
                        RejectReason::RequiredTagMissing,
                        "MDUpdateType (265) is required with 263=1",
                    );
                    return Self::session_reject(sid, m, sessions, now_ms, p, out);
                }
                _ => {
                    let p = problem(265, RejectReason::ValueOutOfRange, "MDUpdateType must be 0 or 1");
                    return Self::session_reject(sid, m, sessions, now_ms, p, out);
                }
            }
        }
        let depth = match m.get_u64(264) {
            Ok(None) | Ok(Some(0)) => 0,
            Ok(Some(d)) => d.min(crate::market_data::MAX_DEPTH as u64) as usize,
            Err(p) => {
                let r = Refused::Session(p, "MarketDepth must be a number".into());
                return Self::session_reject(sid, m, sessions, now_ms, r, out);
            }
        };
        let mut types = EntryTypes { book: false, trades: false };
        let mut any_type = false;
        for (_, v) in m.fields.iter().filter(|(t, _)| *t == 269) {
            any_type = true;
            match &v[..] {
                b"0" | b"1" => types.book = true,
                b"2" => types.trades = true,
                other => {
                    let t = String::from_utf8_lossy(other);
                    return out.push(reject(
                        '8',
                        &format!("MDEntryType {t} is not offered (0, 1, 2 are)"),
                        sessions,
                    ));
                }
            }
        }
        if !any_type {
            types = EntryTypes { book: true, trades: true };
        }
        let symbols: Vec<String> = m
            .fields
            .iter()
            .filter(|(t, _)| *t == 55)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .collect();
        if symbols.is_empty() {
            let p = problem(55, RejectReason::RequiredTagMissing, "at least one Symbol (55) is required");
            return Self::session_reject(sid, m, sessions, now_ms, p, out);
        }
        for name in symbols {
            let Some(&(index, scale)) = self.symbols.get(&name) else {
                out.push(reject('0', &format!("unknown symbol {name:?}"), sessions));
                continue;
            };
            if streaming {
                self.ensure_feed(); // before the depth: every later event is in the ring
                let sub = self.market_data.subscribe(
                    self.system,
                    sid,
                    &req,
                    index,
                    &name,
                    scale,
                    depth,
                    types,
                    &mut sessions[sid],
                    now_ms,
                );
                match sub {
                    Ok(bytes) => out.push((sid, bytes)),
                    Err(r) => out.push(reject(r.reason, &r.text, sessions)),
                }
                continue;
            }
            let levels = if depth == 0 { usize::MAX } else { depth };
            let Ok((_, d)) = self.system.consistent_depth(index, levels) else {
                out.push(reject('0', &format!("{name} is not available"), sessions));
                continue;
            };
            let flat = |v: &[lft_engine::DepthLevel]| -> Vec<(i64, i64, u64)> {
                v.iter().map(|l| (l.price, l.quantity, l.order_count)).collect()
            };
            let (bids, asks) =
                if types.book { (flat(&d.bids), flat(&d.asks)) } else { (Vec::new(), Vec::new()) };
            let bytes = crate::market_data::snapshot_message(
                &mut sessions[sid],
                now_ms,
                Some(&req),
                &name,
                &scale,
                &bids,
                &asks,
            );
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

/// The per-symbol command sequence of a reply (0 when refused before the queue).
fn reply_sequence(reply: &Reply) -> u64 {
    match reply {
        Ok(r) => r.command_sequence,
        Err(r) => r.command_sequence,
    }
}

/// The state of a NewOrderSingle's order, as it was sent.
fn nos_state(nos: &crate::orders::NewOrderSingle, id: u128) -> OrderState {
    OrderState::new(id, &nos.cl_ord_id, &nos.symbol, nos.order.side, nos.order.quantity, nos.order.price)
}
