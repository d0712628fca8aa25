//! Streaming market data: MarketDataRequest (V) subscriptions answered with a snapshot (W)
//! and then incremental refreshes (X) of level changes and trades, built from the system's
//! broadcast ring.
//!
//! Per subscribed symbol the gateway keeps its own copy of the book's levels: it starts from
//! a depth the symbol's worker reads between two commands (`TradingSystem::consistent_depth`,
//! exact as of command `n`), and applies the `Level` events of commands after `n` from the
//! ring, so the copy is exact after every command it has applied. A snapshot sent later (a
//! resynchronisation) comes from this copy, so it agrees with the increments that follow it.
//!
//! The engine never waits for this: the ring overwrites what no one read. When the gateway
//! falls a whole ring behind (events lost), every copy is rebuilt from a fresh depth and every
//! subscriber gets a new snapshot. A subscriber that does not read (its connection's unsent
//! bytes above a high-water mark) stops receiving increments; once it has read what was
//! queued, it gets a fresh snapshot and increments resume: a slow reader costs only itself.
//!
//! Subscriptions of MarketDepth N get the changes of the top N levels of each side (a level
//! entering the top N is a New, one leaving it a Delete); MarketDepth 0 the whole book.

use std::collections::{BTreeMap, HashMap};

use lft_engine::system::{FeedEvent, FeedKind, TradingSystem};
use lft_engine::{Depth, Lots, Scale, Side, Ticks};

use crate::entry::{Outgoing, SessionId};
use crate::session::Session;

/// The most levels a snapshot of a bounded subscription carries per side.
pub const MAX_DEPTH: usize = 1000;

/// A session with more unsent bytes than this gets no increments (its subscriptions go
/// stale)...
pub const HIGH_WATER: usize = 256 * 1024;
/// ...until it is below this again: then a fresh snapshot, and increments resume.
pub const LOW_WATER: usize = 64 * 1024;

/// What a subscriber asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryTypes {
    /// Bids and offers (269=0, 269=1).
    pub book: bool,
    /// Trades (269=2).
    pub trades: bool,
}

#[derive(Debug)]
struct Subscription {
    sid: SessionId,
    req_id: String,
    symbol: u32,
    /// Levels per side; 0: all.
    depth: usize,
    types: EntryTypes,
    /// Missed increments: needs a snapshot before the next increment.
    stale: bool,
}

/// A side's top levels as last sent, best first: (price, visible quantity, orders).
type Top = Vec<(Ticks, Lots, u64)>;

/// (visible quantity, orders) per price.
type Levels = BTreeMap<Ticks, (Lots, u64)>;

struct LocalBook {
    name: String,
    scale: Scale,
    /// Command sequence the copy is exact after.
    sequence: u64,
    bids: Levels,
    asks: Levels,
    /// The top-N levels last sent, per bounded depth in use and side (best first).
    tops: HashMap<usize, [Top; 2]>,
}

impl LocalBook {
    fn load(system: &TradingSystem, symbol: u32, name: &str, scale: Scale) -> Option<LocalBook> {
        let (sequence, depth) = system.consistent_depth(symbol, usize::MAX).ok()?;
        let mut b = LocalBook {
            name: name.to_string(),
            scale,
            sequence,
            bids: BTreeMap::new(),
            asks: BTreeMap::new(),
            tops: HashMap::new(),
        };
        b.reset(sequence, &depth);
        Some(b)
    }

    fn reset(&mut self, sequence: u64, depth: &Depth) {
        self.sequence = sequence;
        self.bids = depth.bids.iter().map(|l| (l.price, (l.quantity, l.order_count))).collect();
        self.asks = depth.asks.iter().map(|l| (l.price, (l.quantity, l.order_count))).collect();
        self.tops.clear();
    }

    /// The best `n` levels of a side (all when `n` is 0), best first.
    fn top(&self, side: Side, n: usize) -> Vec<(Ticks, Lots, u64)> {
        let n = if n == 0 { usize::MAX } else { n };
        let map = |(p, (q, c)): (&Ticks, &(Lots, u64))| (*p, *q, *c);
        match side {
            Side::Buy => self.bids.iter().rev().take(n).map(map).collect(),
            Side::Sell => self.asks.iter().take(n).map(map).collect(),
        }
    }
}

/// One entry of an incremental refresh.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entry {
    /// MDUpdateAction 0/1/2 of a level.
    Level { action: u8, side: Side, price: Ticks, quantity: Lots, orders: u64 },
    /// A trade.
    Trade { price: Ticks, quantity: Lots },
}

/// Every market-data subscription of every session.
#[derive(Default)]
pub struct MarketData {
    books: HashMap<u32, LocalBook>,
    subs: Vec<Subscription>,
    /// Snapshots sent to resynchronise a subscriber (slow reader or lost events).
    pub resyncs: u64,
}

/// Why a subscription was refused (MDReqRejReason, 281).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// MDReqRejReason.
    pub reason: char,
    /// Why, for Text (58).
    pub text: String,
}

impl MarketData {
    /// Whether any subscription is live (the gateway then reads the ring often).
    pub fn is_active(&self) -> bool {
        !self.subs.is_empty()
    }

    /// Whether `symbol`'s events are wanted.
    pub fn wants(&self, symbol: u32) -> bool {
        self.books.contains_key(&symbol)
    }

    /// Subscribe (263=1): a snapshot now, increments from the ring after it.
    #[allow(clippy::too_many_arguments)]
    pub fn subscribe(
        &mut self,
        system: &TradingSystem,
        sid: SessionId,
        req_id: &str,
        symbol: u32,
        name: &str,
        scale: Scale,
        depth: usize,
        types: EntryTypes,
        session: &mut Session,
        now_ms: u64,
    ) -> Result<Vec<u8>, Refusal> {
        if self.subs.iter().any(|s| s.sid == sid && s.req_id == req_id) {
            return Err(Refusal {
                reason: '1',
                text: format!("MDReqID {req_id:?} is already subscribed in this session"),
            });
        }
        if let std::collections::hash_map::Entry::Vacant(slot) = self.books.entry(symbol) {
            let book = LocalBook::load(system, symbol, name, scale)
                .ok_or_else(|| Refusal { reason: '0', text: format!("{name} is not available") })?;
            slot.insert(book);
        }
        let sub = Subscription { sid, req_id: req_id.to_string(), symbol, depth, types, stale: false };
        let bytes = self.snapshot_of(&sub, session, now_ms);
        self.subs.push(sub);
        Ok(bytes)
    }

    /// Unsubscribe (263=2) by MDReqID; whether there was such a subscription.
    pub fn unsubscribe(&mut self, sid: SessionId, req_id: &str) -> bool {
        let before = self.subs.len();
        self.subs.retain(|s| !(s.sid == sid && s.req_id == req_id));
        self.forget_unused_books();
        before != self.subs.len()
    }

    /// A session went away: its subscriptions end.
    pub fn drop_session(&mut self, sid: SessionId) {
        self.subs.retain(|s| s.sid != sid);
        self.forget_unused_books();
    }

    fn forget_unused_books(&mut self) {
        let subs = &self.subs;
        self.books.retain(|symbol, _| subs.iter().any(|s| s.symbol == *symbol));
    }

    fn snapshot_of(&self, sub: &Subscription, session: &mut Session, now_ms: u64) -> Vec<u8> {
        let book = &self.books[&sub.symbol];
        let n = if sub.depth == 0 { usize::MAX } else { sub.depth };
        let (bids, asks) = if sub.types.book {
            (book.top(Side::Buy, n), book.top(Side::Sell, n))
        } else {
            (Vec::new(), Vec::new())
        };
        snapshot_message(session, now_ms, Some(&sub.req_id), &book.name, &book.scale, &bids, &asks)
    }

    /// Events lost from the ring: every copy is rebuilt and every subscriber resynchronised.
    pub fn events_lost(&mut self, system: &TradingSystem) {
        for (symbol, book) in self.books.iter_mut() {
            if let Ok((seq, depth)) = system.consistent_depth(*symbol, usize::MAX) {
                book.reset(seq, &depth);
            }
        }
        for s in &mut self.subs {
            s.stale = true;
        }
    }

    /// Apply ring events (in ring order) and send increments. `unsent(sid)`: bytes queued
    /// on the session's connection; above [`HIGH_WATER`] its subscriptions go stale instead
    /// of growing it.
    pub fn on_events(
        &mut self,
        events: &[FeedEvent],
        sessions: &mut [Session],
        now_ms: u64,
        unsent: impl Fn(SessionId) -> usize,
        out: &mut Vec<Outgoing>,
    ) {
        let congested = |sid: SessionId| unsent(sid) > HIGH_WATER;
        let mut i = 0;
        while i < events.len() {
            // One command's events are contiguous in its worker's ring.
            let (symbol, seq) = (events[i].symbol, events[i].command_sequence);
            let mut j = i;
            while j < events.len() && events[j].symbol == symbol && events[j].command_sequence == seq {
                j += 1;
            }
            self.on_command(&events[i..j], sessions, now_ms, &congested, out);
            i = j;
        }
    }

    fn on_command(
        &mut self,
        events: &[FeedEvent],
        sessions: &mut [Session],
        now_ms: u64,
        congested: &impl Fn(SessionId) -> bool,
        out: &mut Vec<Outgoing>,
    ) {
        let symbol = events[0].symbol;
        let Some(book) = self.books.get_mut(&symbol) else { return };
        if events[0].command_sequence <= book.sequence {
            return; // already in the copy
        }
        book.sequence = events[0].command_sequence;
        // The top N of each bounded depth in use as it was before this command (the state a
        // subscriber's snapshot or earlier increments left it in).
        for depth in self.subs.iter().filter(|s| s.symbol == symbol && s.depth > 0).map(|s| s.depth) {
            if !book.tops.contains_key(&depth) {
                let before = [book.top(Side::Buy, depth), book.top(Side::Sell, depth)];
                book.tops.insert(depth, before);
            }
        }
        // Full-depth entries, straight from the changes.
        let mut full = Vec::new();
        let mut trades = Vec::new();
        let mut touched = [false; 2];
        for e in events {
            match e.kind {
                FeedKind::Level => {
                    let map = match e.side {
                        Side::Buy => &mut book.bids,
                        Side::Sell => &mut book.asks,
                    };
                    let before = map.get(&e.price).copied();
                    let after = (e.remaining > 0).then_some((e.quantity, e.remaining as u64));
                    match after {
                        Some(v) => {
                            map.insert(e.price, v);
                        }
                        None => {
                            map.remove(&e.price);
                        }
                    }
                    let action = match (before, after) {
                        (None, None) => continue,
                        (None, Some(_)) => 0,
                        (Some(_), Some(_)) => 1,
                        (Some(_), None) => 2,
                    };
                    touched[e.side as usize] = true;
                    let (quantity, orders) = after.unwrap_or((0, 0));
                    full.push(Entry::Level { action, side: e.side, price: e.price, quantity, orders });
                }
                FeedKind::Trade => trades.push(Entry::Trade { price: e.price, quantity: e.quantity }),
                _ => {}
            }
        }
        if full.is_empty() && trades.is_empty() {
            return;
        }
        // Bounded depths: what changed in each top N.
        let mut bounded: HashMap<usize, Vec<Entry>> = HashMap::new();
        for depth in self.subs.iter().filter(|s| s.symbol == symbol && s.depth > 0).map(|s| s.depth) {
            if bounded.contains_key(&depth) {
                continue;
            }
            let mut entries = Vec::new();
            let cached = book.tops.remove(&depth);
            let mut fresh: [Top; 2] = [Vec::new(), Vec::new()];
            for side in [Side::Buy, Side::Sell] {
                let k = side as usize;
                fresh[k] = match &cached {
                    Some(c) if !touched[k] => c[k].clone(),
                    _ => book.top(side, depth),
                };
                let old = cached.as_ref().map_or_else(|| fresh[k].clone(), |c| c[k].clone());
                diff_tops(side, &old, &fresh[k], &mut entries);
            }
            book.tops.insert(depth, fresh);
            bounded.insert(depth, entries);
        }
        let (name, scale) = (book.name.clone(), book.scale);
        for s in self.subs.iter_mut().filter(|s| s.symbol == symbol) {
            if s.stale {
                continue;
            }
            if congested(s.sid) {
                s.stale = true;
                continue;
            }
            let levels: &[Entry] =
                if s.depth == 0 { &full } else { bounded.get(&s.depth).map_or(&[], Vec::as_slice) };
            let mut entries: Vec<Entry> = Vec::new();
            if s.types.book {
                entries.extend_from_slice(levels);
            }
            if s.types.trades {
                entries.extend_from_slice(&trades);
            }
            if entries.is_empty() {
                continue;
            }
            let bytes = incremental_message(&mut sessions[s.sid], now_ms, &s.req_id, &name, &scale, &entries);
            out.push((s.sid, bytes));
        }
    }

    /// Snapshots for stale subscriptions whose sessions are below [`LOW_WATER`] again.
    pub fn resynchronise(
        &mut self,
        sessions: &mut [Session],
        now_ms: u64,
        unsent: impl Fn(SessionId) -> usize,
        out: &mut Vec<Outgoing>,
    ) {
        for k in 0..self.subs.len() {
            let s = &self.subs[k];
            if !s.stale || unsent(s.sid) > LOW_WATER {
                continue;
            }
            let bytes = self.snapshot_of(s, &mut sessions[s.sid], now_ms);
            out.push((s.sid, bytes));
            self.subs[k].stale = false;
            self.resyncs += 1;
        }
    }
}

/// The entries turning top-N `old` into `new` for one side.
fn diff_tops(side: Side, old: &[(Ticks, Lots, u64)], new: &[(Ticks, Lots, u64)], out: &mut Vec<Entry>) {
    for &(price, _, _) in old {
        if !new.iter().any(|l| l.0 == price) {
            out.push(Entry::Level { action: 2, side, price, quantity: 0, orders: 0 });
        }
    }
    for &(price, quantity, orders) in new {
        match old.iter().find(|l| l.0 == price) {
            None => out.push(Entry::Level { action: 0, side, price, quantity, orders }),
            Some(&(_, q, c)) if (q, c) != (quantity, orders) => {
                out.push(Entry::Level { action: 1, side, price, quantity, orders })
            }
            Some(_) => {}
        }
    }
}

fn size(scale: &Scale, lots: Lots) -> lft_engine::Decimal {
    scale.try_quantity(lots).unwrap_or_else(|_| scale.quantity(lots)).normalize()
}

/// A MarketDataSnapshotFullRefresh (W): bids then offers, best first, each with its size,
/// order count (346) and position (290, from 1 per side).
pub fn snapshot_message(
    session: &mut Session,
    now_ms: u64,
    req_id: Option<&str>,
    name: &str,
    scale: &Scale,
    bids: &[(Ticks, Lots, u64)],
    asks: &[(Ticks, Lots, u64)],
) -> Vec<u8> {
    session.outgoing("W", now_ms, |b| {
        if let Some(r) = req_id {
            b.field(262, r);
        }
        b.field(55, name).field(268, bids.len() + asks.len());
        for (kind, levels) in [('0', bids), ('1', asks)] {
            for (i, &(price, quantity, orders)) in levels.iter().enumerate() {
                b.field(269, kind)
                    .field(270, scale.price(price).normalize())
                    .field(271, size(scale, quantity))
                    .field(346, orders)
                    .field(290, i + 1);
            }
        }
    })
}

/// A MarketDataIncrementalRefresh (X) of one command's changes.
fn incremental_message(
    session: &mut Session,
    now_ms: u64,
    req_id: &str,
    name: &str,
    scale: &Scale,
    entries: &[Entry],
) -> Vec<u8> {
    session.outgoing("X", now_ms, |b| {
        b.field(262, req_id).field(268, entries.len());
        for e in entries {
            match *e {
                Entry::Level { action, side, price, quantity, orders } => {
                    b.field(279, action)
                        .field(269, if side == Side::Buy { '0' } else { '1' })
                        .field(55, name)
                        .field(270, scale.price(price).normalize());
                    if action != 2 {
                        b.field(271, size(scale, quantity)).field(346, orders);
                    }
                }
                Entry::Trade { price, quantity } => {
                    b.field(279, 0)
                        .field(269, '2')
                        .field(55, name)
                        .field(270, scale.price(price).normalize())
                        .field(271, size(scale, quantity));
                }
            }
        }
    })
}
