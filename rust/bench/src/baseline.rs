//! Baseline book: price levels in a `BTreeMap` (O(log L) best-price lookup), orders in a
//! slab with an intrusive FIFO per level, ids in a hash map with a cheap multiplicative
//! hasher. Single-threaded, no atomics, no epochs: what a plain textbook book costs.
//!
//! Semantics follow `lft-engine` for the commands the workload uses: a GTC limit rests
//! its remainder, an IOC limit trades what it can and cancels the rest, cancel removes a
//! resting order, and modify keeps priority only for a same-price quantity decrease;
//! anything else re-enters at the new price (trading if it crosses) at the back of the
//! queue. Price-time priority, trades at the maker's price.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use lft_workload::{Kind, Record};

const NIL: u32 = u32::MAX;

/// Multiply-fold hasher for integer keys (FxHash-like).
#[derive(Default, Clone, Copy)]
pub struct FoldHasher(u64);

impl Hasher for FoldHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(*b as u64);
        }
    }
    #[inline]
    fn write_u64(&mut self, v: u64) {
        let m = ((self.0 ^ v) as u128).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835);
        self.0 = (m as u64) ^ ((m >> 64) as u64);
    }
}

/// Why a baseline command failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BaselineError {
    /// Non-positive price or quantity.
    Invalid,
    /// A new order reused a resting id.
    Duplicate,
    /// Cancel/modify of an id that is not resting.
    NotFound,
}

/// One execution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BaselineTrade {
    /// Event sequence number.
    pub sequence: u64,
    /// Maker's price.
    pub price: i64,
    /// Lots.
    pub quantity: i64,
    /// Resting order.
    pub maker: u64,
    /// Incoming order.
    pub taker: u64,
}

/// An order's new state (status codes as in `lft_engine::OrderStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BaselineUpdate {
    /// Event sequence number.
    pub sequence: u64,
    /// The order.
    pub id: u64,
    /// 0 new, 1 partially filled, 2 filled, 3 cancelled.
    pub status: u8,
    /// Filled over the order's life.
    pub filled: i64,
    /// Still resting.
    pub remaining: i64,
}

#[derive(Clone, Copy)]
struct Level {
    head: u32,
    tail: u32,
}

#[derive(Clone, Copy)]
struct Slot {
    id: u64,
    side: u8,
    price: i64,
    open: i64,
    filled: i64,
    prev: u32,
    next: u32,
}

/// The baseline book.
#[derive(Default)]
pub struct BaselineBook {
    /// `[bids, asks]`, price → level.
    sides: [BTreeMap<i64, Level>; 2],
    slots: Vec<Slot>,
    free: Vec<u32>,
    ids: HashMap<u64, u32, BuildHasherDefault<FoldHasher>>,
    seq: u64,
    /// Trades of the last command.
    pub trades: Vec<BaselineTrade>,
    /// Maker updates of the last command.
    pub updates: Vec<BaselineUpdate>,
    /// The last command's own report.
    pub report: Option<BaselineUpdate>,
}

#[inline]
fn crosses(side: u8, limit: i64, resting: i64) -> bool {
    if side == 0 {
        resting <= limit
    } else {
        resting >= limit
    }
}

impl BaselineBook {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// Resting orders.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when nothing rests.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn clear_output(&mut self) {
        self.trades.clear();
        self.updates.clear();
        self.report = None;
    }

    fn set_report(&mut self, id: u64, status: u8, filled: i64, remaining: i64) {
        let sequence = self.next_seq();
        self.report = Some(BaselineUpdate { sequence, id, status, filled, remaining });
    }

    fn alloc(&mut self, s: Slot) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = s;
                i
            }
            None => {
                self.slots.push(s);
                (self.slots.len() - 1) as u32
            }
        }
    }

    /// Append a slot at the back of its level (creating the level).
    fn enqueue(&mut self, idx: u32) {
        let Slot { side, price, .. } = self.slots[idx as usize];
        let level = self.sides[side as usize].entry(price).or_insert(Level { head: NIL, tail: NIL });
        let tail = level.tail;
        if tail == NIL {
            level.head = idx;
        } else {
            self.slots[tail as usize].next = idx;
        }
        level.tail = idx;
        let s = &mut self.slots[idx as usize];
        s.prev = tail;
        s.next = NIL;
    }

    /// Unlink a slot from its level (removing the level if it empties); keeps the slot.
    fn dequeue(&mut self, idx: u32) {
        let Slot { side, price, prev, next, .. } = self.slots[idx as usize];
        let map = &mut self.sides[side as usize];
        let level = map.get_mut(&price).expect("resting order has a level");
        if prev == NIL {
            level.head = next;
        } else {
            self.slots[prev as usize].next = next;
        }
        if next == NIL {
            level.tail = prev;
        } else {
            self.slots[next as usize].prev = prev;
        }
        if level.head == NIL {
            map.remove(&price);
        }
    }

    /// Match a taker against the opposite side; `open`/`filled` are updated in place.
    fn match_taker(&mut self, taker: u64, side: u8, limit: i64, open: &mut i64, filled: &mut i64) {
        let opp = (1 - side) as usize;
        while *open > 0 {
            let best = if side == 0 { self.sides[opp].first_entry() } else { self.sides[opp].last_entry() };
            let Some(mut entry) = best else {
                break;
            };
            let price = *entry.key();
            if !crosses(side, limit, price) {
                break;
            }
            let level = entry.get_mut();
            while *open > 0 && level.head != NIL {
                let idx = level.head;
                let m = &mut self.slots[idx as usize];
                let fill = (*open).min(m.open);
                m.open -= fill;
                m.filled += fill;
                let maker = *m;
                *open -= fill;
                *filled += fill;
                self.seq += 1;
                self.trades.push(BaselineTrade {
                    sequence: self.seq,
                    price,
                    quantity: fill,
                    maker: maker.id,
                    taker,
                });
                self.seq += 1;
                let status = if maker.open == 0 { 2 } else { 1 };
                self.updates.push(BaselineUpdate {
                    sequence: self.seq,
                    id: maker.id,
                    status,
                    filled: maker.filled,
                    remaining: maker.open,
                });
                if maker.open == 0 {
                    level.head = maker.next;
                    if maker.next == NIL {
                        level.tail = NIL;
                    } else {
                        self.slots[maker.next as usize].prev = NIL;
                    }
                    self.ids.remove(&maker.id);
                    self.free.push(idx);
                }
            }
            if level.head == NIL {
                entry.remove();
            }
        }
    }

    /// Submit a limit order (`ioc`: cancel the unfilled remainder instead of resting it).
    pub fn submit(
        &mut self,
        id: u64,
        side: u8,
        price: i64,
        quantity: i64,
        ioc: bool,
    ) -> Result<(), BaselineError> {
        self.clear_output();
        if price <= 0 || quantity <= 0 || side > 1 {
            return Err(BaselineError::Invalid);
        }
        if self.ids.contains_key(&id) {
            return Err(BaselineError::Duplicate);
        }
        let mut open = quantity;
        let mut filled = 0;
        self.match_taker(id, side, price, &mut open, &mut filled);
        if open == 0 {
            self.set_report(id, 2, filled, 0);
        } else if ioc {
            self.set_report(id, 3, filled, 0);
        } else {
            self.set_report(id, if filled > 0 { 1 } else { 0 }, filled, open);
            let idx = self.alloc(Slot { id, side, price, open, filled, prev: NIL, next: NIL });
            self.ids.insert(id, idx);
            self.enqueue(idx);
        }
        Ok(())
    }

    /// Cancel a resting order.
    pub fn cancel(&mut self, id: u64) -> Result<(), BaselineError> {
        self.clear_output();
        let idx = self.ids.remove(&id).ok_or(BaselineError::NotFound)?;
        self.dequeue(idx);
        self.free.push(idx);
        let filled = self.slots[idx as usize].filled;
        self.set_report(id, 3, filled, 0);
        Ok(())
    }

    /// Set a resting order's price and open quantity (see the module docs for priority).
    pub fn modify(&mut self, id: u64, price: i64, quantity: i64) -> Result<(), BaselineError> {
        self.clear_output();
        if price <= 0 || quantity <= 0 {
            return Err(BaselineError::Invalid);
        }
        let idx = *self.ids.get(&id).ok_or(BaselineError::NotFound)?;
        let o = self.slots[idx as usize];
        let status_of = |filled: i64| if filled > 0 { 1 } else { 0 };
        if price == o.price && quantity <= o.open {
            self.slots[idx as usize].open = quantity;
            self.set_report(id, status_of(o.filled), o.filled, quantity);
            return Ok(());
        }
        self.dequeue(idx);
        let mut open = quantity;
        let mut filled = o.filled;
        self.match_taker(id, o.side, price, &mut open, &mut filled);
        if open == 0 {
            self.ids.remove(&id);
            self.free.push(idx);
            self.set_report(id, 2, filled, 0);
        } else {
            let s = &mut self.slots[idx as usize];
            s.price = price;
            s.open = open;
            s.filled = filled;
            self.set_report(id, status_of(filled), filled, open);
            self.enqueue(idx);
        }
        Ok(())
    }

    /// Apply one workload record.
    #[inline]
    pub fn apply(&mut self, r: &Record) -> Result<(), BaselineError> {
        match r.kind {
            k if k == Kind::New as u8 => self.submit(r.order_id, r.side, r.price, r.quantity, r.tif == 1),
            k if k == Kind::Cancel as u8 => self.cancel(r.order_id),
            _ => self.modify(r.order_id, r.price, r.quantity),
        }
    }

    /// Best bid and ask.
    pub fn top(&self) -> (Option<i64>, Option<i64>) {
        (self.sides[0].last_key_value().map(|(p, _)| *p), self.sides[1].first_key_value().map(|(p, _)| *p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn price_time_priority_and_ioc() {
        let mut b = BaselineBook::new();
        b.submit(1, 1, 101, 5, false).unwrap();
        b.submit(2, 1, 100, 5, false).unwrap();
        b.submit(3, 1, 100, 5, false).unwrap();
        assert_eq!(b.top(), (None, Some(100)));
        // IOC buy 12 @ 100: fills 2 then 3, remainder cancelled, 101 untouched.
        b.submit(4, 0, 100, 12, true).unwrap();
        let makers: Vec<u64> = b.trades.iter().map(|t| t.maker).collect();
        assert_eq!(makers, vec![2, 3]);
        assert_eq!(b.report.unwrap().status, 3);
        assert_eq!(b.len(), 1);
        // Modify 1 down to 99 crosses nothing (no bids); then a bid at 99 takes it.
        b.modify(1, 99, 7).unwrap();
        b.submit(5, 0, 99, 10, false).unwrap();
        assert_eq!(b.trades.len(), 1);
        assert_eq!(b.report.unwrap().remaining, 3);
        assert_eq!(b.cancel(1), Err(BaselineError::NotFound));
        b.cancel(5).unwrap();
        assert!(b.is_empty());
        assert_eq!(b.top(), (None, None));
    }

    #[test]
    fn modify_priority() {
        let mut b = BaselineBook::new();
        b.submit(1, 0, 100, 5, false).unwrap();
        b.submit(2, 0, 100, 5, false).unwrap();
        b.modify(1, 100, 4).unwrap(); // decrease: keeps priority
        b.submit(9, 1, 100, 1, true).unwrap();
        assert_eq!(b.trades[0].maker, 1);
        b.modify(1, 100, 10).unwrap(); // increase: back of the queue
        b.submit(10, 1, 100, 1, true).unwrap();
        assert_eq!(b.trades[0].maker, 2);
    }
}
