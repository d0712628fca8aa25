//! A deliberately naive reference order book implementing `docs/semantics.md`.
//!
//! No cleverness: one `BTreeMap<price, Vec<order>>` per side, linear scans to find an
//! order by id, validation written out by hand (it does NOT call
//! `lft_engine::check_new_order`). It produces the engine's own public event and error
//! types so the differential test can compare results with `==`.
//!
//! Level statistics are kept per `(side, price)` forever (no eviction), which matches the
//! engine as long as fewer than `DEFAULT_RETAIN_EMPTY_LEVELS` levels have emptied.
#![allow(dead_code)]

use std::collections::BTreeMap;

use lft_engine::{
    Command, DepthLevel, EngineError, EngineResult, ExecutionReport, LevelSnapshot, Lots, Modify, NewOrder,
    OrderId, OrderStatus, OrderType, OrderUpdate, RejectReason, Side, Ticks, TimeInForce, Timestamp, Trade,
};

/// A resting order in the reference book.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefOrder {
    pub id: OrderId,
    pub side: Side,
    pub price: Ticks,
    /// Quantity when first submitted.
    pub original: Lots,
    /// Open quantity, hidden iceberg part included.
    pub open: Lots,
    /// Visible slice (== open for plain orders).
    pub visible: Lots,
    /// Iceberg slice size; 0 for a plain order.
    pub display: Lots,
    pub filled: Lots,
    pub tif: TimeInForce,
    pub expire_time: Option<Timestamp>,
    pub post_only: bool,
    /// Timestamp of the command that created the order.
    pub timestamp: Timestamp,
    /// When the order (or its current iceberg slice) last joined the back of its queue.
    pub queued_at: Timestamp,
    /// Sequence number of the update that first put it on the book.
    pub accept_seq: u64,
}

/// Per-level statistics, mirroring `LevelSnapshot` minus the live quantity/count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RefStats {
    pub added: u64,
    pub cancelled: u64,
    pub expired: u64,
    pub filled: u64,
    pub executed: Lots,
    pub trades: u64,
    pub queue_wait: u64,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
}

/// The naive book.
#[derive(Clone, Debug, Default)]
pub struct RefBook {
    pub bids: BTreeMap<Ticks, Vec<RefOrder>>,
    pub asks: BTreeMap<Ticks, Vec<RefOrder>>,
    pub seq: u64,
    pub stats: BTreeMap<(u8, Ticks), RefStats>,
}

fn invalid(msg: &str) -> EngineError {
    EngineError::InvalidOrder(msg.to_string())
}

fn rests(tif: TimeInForce) -> bool {
    matches!(tif, TimeInForce::Gtc | TimeInForce::Gtd | TimeInForce::Day)
}

/// Does a taker on `side` with limit `limit` trade against a resting `price`?
fn crosses(side: Side, limit: Option<Ticks>, price: Ticks) -> bool {
    match (side, limit) {
        (_, None) => true,
        (Side::Buy, Some(l)) => price <= l,
        (Side::Sell, Some(l)) => price >= l,
    }
}

/// Plain re-implementation of the stateless rules for new orders.
pub fn validate_new_stateless(o: &NewOrder) -> EngineResult<()> {
    if o.quantity <= 0 {
        return Err(invalid("quantity must be > 0"));
    }
    if o.order_type == OrderType::Limit {
        match o.price {
            None => return Err(invalid("limit needs a price")),
            Some(p) if p <= 0 => return Err(invalid("price must be > 0")),
            Some(_) => {}
        }
    } else {
        if o.price.is_some() {
            return Err(invalid("market must not have a price"));
        }
        if o.time_in_force != TimeInForce::Ioc && o.time_in_force != TimeInForce::Fok {
            return Err(invalid("market must be IOC or FOK"));
        }
    }
    if o.time_in_force == TimeInForce::Gtd {
        match o.expire_time {
            None => return Err(invalid("GTD needs expire_time")),
            Some(e) if e <= o.timestamp => return Err(invalid("expire_time must be after timestamp")),
            Some(_) => {}
        }
    } else if o.expire_time.is_some() {
        return Err(invalid("expire_time only with GTD"));
    }
    if o.post_only {
        if o.order_type == OrderType::Market {
            return Err(invalid("post_only only on limit"));
        }
        if !rests(o.time_in_force) {
            return Err(invalid("post_only needs a resting TIF"));
        }
    }
    if let Some(d) = o.display_quantity {
        if o.order_type == OrderType::Market {
            return Err(invalid("iceberg only on limit"));
        }
        if !rests(o.time_in_force) {
            return Err(invalid("iceberg needs a resting TIF"));
        }
        if d <= 0 || d > o.quantity {
            return Err(invalid("0 < display <= quantity"));
        }
    }
    Ok(())
}

/// Same error kind (variant; ids compared too for id-carrying variants).
pub fn same_error_kind(a: &EngineError, b: &EngineError) -> bool {
    match (a, b) {
        (EngineError::InvalidOrder(_), EngineError::InvalidOrder(_)) => true,
        (EngineError::InvalidConfig(_), EngineError::InvalidConfig(_)) => true,
        (EngineError::DuplicateOrderId(x), EngineError::DuplicateOrderId(y)) => x == y,
        (EngineError::OrderNotFound(x), EngineError::OrderNotFound(y)) => x == y,
        _ => false,
    }
}

impl RefBook {
    pub fn new() -> Self {
        Self::default()
    }

    // ----- plain helpers --------------------------------------------------------------

    fn side_map(&self, side: Side) -> &BTreeMap<Ticks, Vec<RefOrder>> {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    fn side_map_mut(&mut self, side: Side) -> &mut BTreeMap<Ticks, Vec<RefOrder>> {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Record activity on a level (every change of a level touches its activity times).
    fn touch(&mut self, side: Side, price: Ticks, now: Timestamp, f: impl FnOnce(&mut RefStats)) {
        let s = self.stats.entry((side as u8, price)).or_default();
        f(s);
        if s.first.is_none() {
            s.first = Some(now);
        }
        s.last = Some(now);
    }

    /// Where an order with this id sits: (side, price, index in the level's queue).
    fn locate(&self, id: OrderId) -> Option<(Side, Ticks, usize)> {
        for side in [Side::Buy, Side::Sell] {
            for (price, orders) in self.side_map(side) {
                for (i, o) in orders.iter().enumerate() {
                    if o.id == id {
                        return Some((side, *price, i));
                    }
                }
            }
        }
        None
    }

    /// A resting order by id (GTD orders already due but not yet swept included).
    pub fn order(&self, id: OrderId) -> Option<RefOrder> {
        self.locate(id).map(|(s, p, i)| self.side_map(s)[&p][i])
    }

    /// Is the order resting at `now` (a GTD order whose expire_time <= now is not)?
    fn resting_at(&self, id: OrderId, now: Timestamp) -> Option<RefOrder> {
        let o = self.order(id)?;
        if o.tif == TimeInForce::Gtd && o.expire_time.is_some_and(|e| e <= now) {
            return None;
        }
        Some(o)
    }

    fn take_order(&mut self, side: Side, price: Ticks, i: usize) -> RefOrder {
        let map = self.side_map_mut(side);
        let level = map.get_mut(&price).expect("level");
        let o = level.remove(i);
        if level.is_empty() {
            map.remove(&price);
        }
        o
    }

    fn push_back(&mut self, o: RefOrder) {
        self.side_map_mut(o.side).entry(o.price).or_default().push(o);
    }

    /// Total open (hidden included) at a level, as i128.
    fn level_total(&self, side: Side, price: Ticks) -> i128 {
        self.side_map(side).get(&price).map_or(0, |v| v.iter().map(|o| o.open as i128).sum())
    }

    fn check_room(&self, side: Side, price: Ticks, add: Lots, minus: Lots) -> EngineResult<()> {
        let total = self.level_total(side, price) - minus as i128 + add as i128;
        if total > i64::MAX as i128 {
            return Err(invalid("level total overflow"));
        }
        Ok(())
    }

    fn update_of(
        &mut self,
        o: &RefOrder,
        status: OrderStatus,
        remaining: Lots,
        now: Timestamp,
    ) -> OrderUpdate {
        OrderUpdate {
            sequence: self.next_seq(),
            order_id: o.id,
            side: o.side,
            status,
            filled_quantity: o.filled,
            remaining_quantity: remaining,
            price: Some(o.price),
            reject_reason: None,
            timestamp: now,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn own_report(
        &mut self,
        id: OrderId,
        side: Side,
        price: Option<Ticks>,
        status: OrderStatus,
        filled: Lots,
        remaining: Lots,
        reason: Option<RejectReason>,
        now: Timestamp,
    ) -> OrderUpdate {
        OrderUpdate {
            sequence: self.next_seq(),
            order_id: id,
            side,
            status,
            filled_quantity: filled,
            remaining_quantity: remaining,
            price,
            reject_reason: reason,
            timestamp: now,
        }
    }

    /// Remove every resting GTD order with expire_time <= now, by (expire_time, acceptance).
    fn sweep(&mut self, now: Timestamp, out: &mut ExecutionReport) {
        let mut due: Vec<(Timestamp, u64, OrderId)> = Vec::new();
        for side in [Side::Buy, Side::Sell] {
            for orders in self.side_map(side).values() {
                for o in orders {
                    if o.tif == TimeInForce::Gtd {
                        let e = o.expire_time.expect("GTD has expire_time");
                        if e <= now {
                            due.push((e, o.accept_seq, o.id));
                        }
                    }
                }
            }
        }
        due.sort();
        for (_, _, id) in due {
            let (s, p, i) = self.locate(id).expect("due order rests");
            let o = self.take_order(s, p, i);
            self.touch(s, p, now, |st| st.expired += 1);
            let u = self.update_of(&o, OrderStatus::Expired, 0, now);
            out.updates.push(u);
        }
    }

    fn best_opposite(&self, side: Side) -> Option<Ticks> {
        match side {
            Side::Buy => self.asks.keys().next().copied(),
            Side::Sell => self.bids.keys().next_back().copied(),
        }
    }

    /// Open quantity (hidden included) on the opposite side at prices crossing `limit`.
    fn available(&self, side: Side, limit: Option<Ticks>) -> i128 {
        let mut sum: i128 = 0;
        for (price, orders) in self.side_map(side.opposite()) {
            if crosses(side, limit, *price) {
                sum += orders.iter().map(|o| o.open as i128).sum::<i128>();
            }
        }
        sum
    }

    /// Match a taker. Returns (open left, filled added).
    fn match_taker(
        &mut self,
        taker: OrderId,
        side: Side,
        limit: Option<Ticks>,
        mut open: Lots,
        now: Timestamp,
        out: &mut ExecutionReport,
    ) -> (Lots, Lots) {
        let mut filled_now = 0;
        let maker_side = side.opposite();
        while open > 0 {
            let Some(price) = self.best_opposite(side) else {
                break;
            };
            if !crosses(side, limit, price) {
                break;
            }
            // FIFO inside the level; icebergs re-queue at the back and may be reached again.
            while open > 0 {
                let level = match self.side_map_mut(maker_side).get_mut(&price) {
                    Some(l) if !l.is_empty() => l,
                    _ => break,
                };
                let mut m = level[0];
                let fill = open.min(m.visible);
                m.visible -= fill;
                m.open -= fill;
                m.filled += fill;
                open -= fill;
                filled_now += fill;
                let trade = Trade {
                    sequence: self.next_seq(),
                    price,
                    quantity: fill,
                    maker_order_id: m.id,
                    taker_order_id: taker,
                    taker_side: side,
                    timestamp: now,
                };
                out.trades.push(trade);
                if m.open == 0 {
                    let level = self.side_map_mut(maker_side).get_mut(&price).unwrap();
                    level.remove(0);
                    if level.is_empty() {
                        self.side_map_mut(maker_side).remove(&price);
                    }
                    let wait = now.saturating_sub(m.queued_at).max(0) as u64;
                    self.touch(maker_side, price, now, |s| {
                        s.executed += fill;
                        s.trades += 1;
                        s.filled += 1;
                        s.queue_wait = s.queue_wait.saturating_add(wait);
                    });
                    let u = self.update_of(&m, OrderStatus::Filled, 0, now);
                    out.updates.push(u);
                } else {
                    let level = self.side_map_mut(maker_side).get_mut(&price).unwrap();
                    if m.visible == 0 {
                        // iceberg slice consumed: fresh slice at the back of the queue
                        m.visible = m.display.min(m.open);
                        m.queued_at = now;
                        level.remove(0);
                        level.push(m);
                    } else {
                        level[0] = m;
                    }
                    self.touch(maker_side, price, now, |s| {
                        s.executed += fill;
                        s.trades += 1;
                    });
                    let u = self.update_of(&m, OrderStatus::PartiallyFilled, m.open, now);
                    out.updates.push(u);
                }
            }
        }
        (open, filled_now)
    }

    // ----- commands -------------------------------------------------------------------

    pub fn apply(&mut self, cmd: &Command) -> EngineResult<ExecutionReport> {
        match cmd {
            Command::New(o) => self.submit(o),
            Command::Cancel { id, timestamp } => self.cancel(*id, *timestamp),
            Command::Modify(m) => self.modify(m),
            Command::Expire { now } => Ok(self.expire(*now)),
            Command::EndOfDay { now } => Ok(self.end_of_day(*now)),
        }
    }

    pub fn submit(&mut self, o: &NewOrder) -> EngineResult<ExecutionReport> {
        validate_new_stateless(o)?;
        let now = o.timestamp;
        if self.resting_at(o.id, now).is_some() {
            return Err(EngineError::DuplicateOrderId(o.id));
        }
        if let (Some(p), true) = (o.price, rests(o.time_in_force)) {
            self.check_room(o.side, p, o.quantity, 0)?;
        }
        let mut out = ExecutionReport::default();
        self.sweep(now, &mut out);
        if o.post_only {
            let limit = o.price.unwrap();
            let crossed = match (o.side, self.best_opposite(o.side)) {
                (_, None) => false,
                (Side::Buy, Some(a)) => a <= limit,
                (Side::Sell, Some(b)) => b >= limit,
            };
            if crossed {
                out.report = Some(self.own_report(
                    o.id,
                    o.side,
                    o.price,
                    OrderStatus::Rejected,
                    0,
                    0,
                    Some(RejectReason::PostOnlyWouldCross),
                    now,
                ));
                return Ok(out);
            }
        }
        if o.time_in_force == TimeInForce::Fok && self.available(o.side, o.price) < o.quantity as i128 {
            out.report = Some(self.own_report(o.id, o.side, o.price, OrderStatus::Canceled, 0, 0, None, now));
            return Ok(out);
        }
        let (open, filled) = self.match_taker(o.id, o.side, o.price, o.quantity, now, &mut out);
        if open == 0 {
            out.report =
                Some(self.own_report(o.id, o.side, o.price, OrderStatus::Filled, filled, 0, None, now));
        } else if rests(o.time_in_force) && o.price.is_some() {
            let status = if filled > 0 { OrderStatus::PartiallyFilled } else { OrderStatus::New };
            let r = self.own_report(o.id, o.side, o.price, status, filled, open, None, now);
            out.report = Some(r);
            let display = o.display_quantity.unwrap_or(0);
            let price = o.price.unwrap();
            let rec = RefOrder {
                id: o.id,
                side: o.side,
                price,
                original: o.quantity,
                open,
                visible: if display > 0 { display.min(open) } else { open },
                display,
                filled,
                tif: o.time_in_force,
                expire_time: o.expire_time,
                post_only: o.post_only,
                timestamp: now,
                queued_at: now,
                accept_seq: r.sequence,
            };
            self.push_back(rec);
            self.touch(o.side, price, now, |s| s.added += 1);
        } else {
            out.report =
                Some(self.own_report(o.id, o.side, o.price, OrderStatus::Canceled, filled, 0, None, now));
        }
        Ok(out)
    }

    pub fn cancel(&mut self, id: OrderId, now: Timestamp) -> EngineResult<ExecutionReport> {
        if self.resting_at(id, now).is_none() {
            return Err(EngineError::OrderNotFound(id));
        }
        let mut out = ExecutionReport::default();
        self.sweep(now, &mut out);
        let (s, p, i) = self.locate(id).expect("still resting after sweep");
        let o = self.take_order(s, p, i);
        self.touch(s, p, now, |st| st.cancelled += 1);
        out.report = Some(self.update_of(&o, OrderStatus::Canceled, 0, now));
        Ok(out)
    }

    pub fn modify(&mut self, m: &Modify) -> EngineResult<ExecutionReport> {
        if m.quantity.is_none() && m.price.is_none() {
            return Err(invalid("modify needs quantity or price"));
        }
        if m.quantity.is_some_and(|q| q <= 0) {
            return Err(invalid("quantity must be > 0"));
        }
        if m.price.is_some_and(|p| p <= 0) {
            return Err(invalid("price must be > 0"));
        }
        let now = m.timestamp;
        let Some(cur) = self.resting_at(m.id, now) else {
            return Err(EngineError::OrderNotFound(m.id));
        };
        let new_q = m.quantity.unwrap_or(cur.open);
        let new_p = m.price.unwrap_or(cur.price);
        let minus = if new_p == cur.price { cur.open } else { 0 };
        self.check_room(cur.side, new_p, new_q, minus)?;

        let mut out = ExecutionReport::default();
        self.sweep(now, &mut out);
        let status_of = |filled: Lots| {
            if filled > 0 {
                OrderStatus::PartiallyFilled
            } else {
                OrderStatus::New
            }
        };
        let (s, p, i) = self.locate(m.id).expect("still resting after sweep");
        let o = self.side_map(s)[&p][i];

        if new_p == o.price && new_q <= o.open {
            if new_q < o.open {
                let level = self.side_map_mut(s).get_mut(&p).unwrap();
                level[i].open = new_q;
                level[i].visible = o.visible.min(new_q);
                self.touch(s, p, now, |_| {});
            }
            out.report = Some(self.own_report(
                o.id,
                o.side,
                Some(o.price),
                status_of(o.filled),
                o.filled,
                new_q,
                None,
                now,
            ));
            return Ok(out);
        }
        if o.post_only {
            let crossed = match (o.side, self.best_opposite(o.side)) {
                (_, None) => false,
                (Side::Buy, Some(a)) => a <= new_p,
                (Side::Sell, Some(b)) => b >= new_p,
            };
            if crossed {
                out.report = Some(self.own_report(
                    o.id,
                    o.side,
                    Some(o.price),
                    OrderStatus::Rejected,
                    o.filled,
                    o.open,
                    Some(RejectReason::PostOnlyWouldCross),
                    now,
                ));
                return Ok(out);
            }
        }
        // lose priority: leave the level, trade as a taker, rest the remainder at the back
        let mut o = self.take_order(s, p, i);
        self.touch(s, p, now, |_| {});
        let (open, filled_now) = self.match_taker(o.id, o.side, Some(new_p), new_q, now, &mut out);
        o.filled += filled_now;
        o.open = open;
        o.price = new_p;
        o.visible = if o.display > 0 { o.display.min(open) } else { open };
        if open == 0 {
            out.report =
                Some(self.own_report(o.id, o.side, Some(new_p), OrderStatus::Filled, o.filled, 0, None, now));
        } else {
            out.report = Some(self.own_report(
                o.id,
                o.side,
                Some(new_p),
                status_of(o.filled),
                o.filled,
                open,
                None,
                now,
            ));
            o.queued_at = now;
            let moved = new_p != p;
            self.push_back(o);
            self.touch(o.side, new_p, now, |st| {
                if moved {
                    st.added += 1
                }
            });
        }
        Ok(out)
    }

    pub fn expire(&mut self, now: Timestamp) -> ExecutionReport {
        let mut out = ExecutionReport::default();
        self.sweep(now, &mut out);
        out
    }

    pub fn end_of_day(&mut self, now: Timestamp) -> ExecutionReport {
        let mut out = ExecutionReport::default();
        self.sweep(now, &mut out);
        let mut day: Vec<(u64, OrderId)> = Vec::new();
        for side in [Side::Buy, Side::Sell] {
            for orders in self.side_map(side).values() {
                for o in orders {
                    if o.tif == TimeInForce::Day {
                        day.push((o.accept_seq, o.id));
                    }
                }
            }
        }
        day.sort();
        for (_, id) in day {
            let (s, p, i) = self.locate(id).unwrap();
            let o = self.take_order(s, p, i);
            self.touch(s, p, now, |st| st.expired += 1);
            let u = self.update_of(&o, OrderStatus::Expired, 0, now);
            out.updates.push(u);
        }
        out
    }

    // ----- readers --------------------------------------------------------------------

    fn aggregate(price: Ticks, orders: &[RefOrder]) -> DepthLevel {
        DepthLevel {
            price,
            quantity: orders.iter().map(|o| o.visible).sum(),
            order_count: orders.len() as u64,
        }
    }

    /// Bids best (highest) first.
    pub fn bid_levels(&self) -> Vec<DepthLevel> {
        self.bids.iter().rev().map(|(p, v)| Self::aggregate(*p, v)).collect()
    }

    /// Asks best (lowest) first.
    pub fn ask_levels(&self) -> Vec<DepthLevel> {
        self.asks.iter().map(|(p, v)| Self::aggregate(*p, v)).collect()
    }

    pub fn best_bid(&self) -> Option<Ticks> {
        self.bids.keys().next_back().copied()
    }

    pub fn best_ask(&self) -> Option<Ticks> {
        self.asks.keys().next().copied()
    }

    pub fn len(&self) -> usize {
        self.bids.values().chain(self.asks.values()).map(Vec::len).sum()
    }

    pub fn depth_at(&self, side: Side, price: Ticks) -> Lots {
        self.side_map(side).get(&price).map_or(0, |v| v.iter().map(|o| o.visible).sum())
    }

    /// Level statistics as the engine would report them (never evicted here).
    pub fn level(&self, side: Side, price: Ticks) -> Option<LevelSnapshot> {
        let st = self.stats.get(&(side as u8, price))?;
        let agg = self.side_map(side).get(&price).map(|v| Self::aggregate(price, v));
        Some(LevelSnapshot {
            side,
            price,
            quantity: agg.map_or(0, |a| a.quantity),
            order_count: agg.map_or(0, |a| a.order_count),
            orders_added: st.added,
            orders_cancelled: st.cancelled,
            orders_expired: st.expired,
            orders_filled: st.filled,
            quantity_executed: st.executed,
            trade_count: st.trades,
            queue_wait_ns: st.queue_wait,
            first_activity: st.first,
            last_activity: st.last,
        })
    }

    /// Resting order ids in priority order per level, for checks.
    pub fn queue(&self, side: Side, price: Ticks) -> Vec<OrderId> {
        self.side_map(side).get(&price).map_or(Vec::new(), |v| v.iter().map(|o| o.id).collect())
    }
}
