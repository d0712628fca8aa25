//! Shared by the integration tests: the invariants every reader's view of a book must
//! satisfy, and one seeded random stream.
#![allow(dead_code)] // each test file uses its own part

use lft_engine::{Depth, LevelSnapshot, Side, Ticks};

/// Both sides in strict price order, no empty level, never crossed.
pub fn check_depth(d: &Depth) {
    for w in d.bids.windows(2) {
        assert!(w[0].price > w[1].price, "bids not strictly descending: {:?}", d.bids);
    }
    for w in d.asks.windows(2) {
        assert!(w[0].price < w[1].price, "asks not strictly ascending: {:?}", d.asks);
    }
    for l in d.bids.iter().chain(&d.asks) {
        assert!(l.quantity > 0 && l.order_count > 0, "empty level in depth: {l:?}");
        assert!(l.quantity >= 1, "{l:?}");
    }
    if let (Some(b), Some(a)) = (d.bids.first(), d.asks.first()) {
        assert!(b.price < a.price, "crossed depth: bid {} >= ask {}", b.price, a.price);
    }
}

/// Invariants of one consistent level snapshot (a torn read would likely break one).
pub fn check_level(s: &LevelSnapshot, side: Side, price: Ticks) {
    assert_eq!((s.side, s.price), (side, price));
    assert!(s.quantity >= 0, "{s:?}");
    assert_eq!(s.order_count == 0, s.quantity == 0, "count and visible quantity disagree: {s:?}");
    // every order resting here or gone from here by cancel/expiry/fill was added here first
    assert!(
        s.order_count + s.orders_cancelled + s.orders_expired + s.orders_filled <= s.orders_added,
        "{s:?}"
    );
    assert!(s.trade_count >= s.orders_filled, "{s:?}");
    assert!(s.quantity_executed >= s.trade_count as i64, "{s:?}");
    assert!(s.first_activity.is_some() && s.last_activity.is_some(), "{s:?}");
    assert!(s.first_activity <= s.last_activity, "{s:?}");
}

/// xorshift64*: deterministic and dependency free.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}
