//! [`BookImage`]: one book's whole state, captured between commands, encoded to bytes and
//! restored into a fresh [`BookWriter`] that behaves exactly like the original.
//!
//! What is kept is everything a later command can observe: the orders with every field and
//! their FIFO positions, the linked levels in ladder order and the retained (emptied but still
//! readable) ones in retention order, each level's eleven counter words, and the writer's
//! numbering state (event sequence, batch ids, skiplist RNG, emptying stamp, the generated-id
//! counter). What is not kept is what no command can observe: arena slot numbers, stale GTD
//! heap and retention entries, skiplist tower heights, price-index table sizes.
//!
//! The byte format is described field by field in `docs/snapshot-format.md`. Decoding never
//! trusts the input: every length is checked against the bytes left before anything is
//! reserved, and every value the book relies on is validated, so a decoded image can only
//! restore into an internally consistent book.

use std::collections::HashSet;
use std::fmt::{self, Debug, Display};
use std::sync::OnceLock;

use super::{BookConfig, BookWriter};
use crate::arena::{RestingOrder, SlotsCopy};
use crate::error::{EngineError, EngineResult};
use crate::ids::Fnv64;
use crate::level::{COUNTER_WORDS, FIRST_WORD, LAST_WORD, NIL, NO_TIME, ORDERS_WORD, VISIBLE_WORD};
use crate::matching::{hash_order, WriterWords};
use crate::primitive::sync::atomic::Ordering;
use crate::reclaim::LoadGuard;
use crate::scale::{parse_decimal, Scale};
use crate::types::{Lots, OrderId, Side, Ticks, TimeInForce, Timestamp};

/// First eight bytes of every encoded book image.
pub const BOOK_IMAGE_MAGIC: [u8; 8] = *b"LFTBOOK\0";
/// The format version this build writes and the only one it reads.
pub const BOOK_IMAGE_VERSION: u16 = 1;

/// Bytes of one level record: price, counter words, order count.
const LEVEL_BYTES: usize = 8 + 8 * COUNTER_WORDS + 4;
/// Bytes of one retained-level record: side, price, counter words.
const RETAINED_BYTES: usize = 1 + 8 + 8 * COUNTER_WORDS;
/// Bytes of one order record (see `docs/snapshot-format.md`).
const ORDER_BYTES: usize = 16 + 1 + 1 + 1 + 8 * 10;
/// Order flag bits.
const FLAG_POST_ONLY: u8 = 1;
const FLAG_HAS_EXPIRE: u8 = 2;

/// One resting order, every field of the book's record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct OrderImage {
    id: OrderId,
    side: Side,
    price: Ticks,
    original: Lots,
    open: Lots,
    visible: Lots,
    display: Lots,
    filled: Lots,
    tif: TimeInForce,
    expire: Option<Timestamp>,
    post_only: bool,
    timestamp: Timestamp,
    queued_at: Timestamp,
    accept_seq: u64,
}

impl OrderImage {
    fn of(o: &RestingOrder, expire: Option<Timestamp>) -> Self {
        OrderImage {
            id: o.id(),
            side: o.side,
            price: o.price,
            original: o.original,
            open: o.open,
            visible: o.visible,
            display: o.display,
            filled: o.filled,
            tif: o.tif,
            expire,
            post_only: o.post_only,
            timestamp: o.timestamp,
            queued_at: o.queued_at,
            accept_seq: o.accept_seq,
        }
    }

    /// The slab record and the GTD expiry the arena keeps beside it.
    fn to_resting(self) -> (RestingOrder, Option<Timestamp>) {
        let mut o = RestingOrder::new(
            self.id,
            self.side,
            self.price,
            self.original,
            self.open,
            self.display,
            self.filled,
            self.tif,
            self.post_only,
            self.timestamp,
        );
        o.visible = self.visible;
        o.queued_at = self.queued_at;
        o.accept_seq = self.accept_seq;
        (o, self.expire)
    }
}

/// One level: where it sits and its counter words (how many orders rest on it is in the
/// image's [`Orders`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct LevelImage {
    side: Side,
    price: Ticks,
    counters: [u64; COUNTER_WORDS],
}

/// The linked levels' orders, in one of two forms. Either way [`BookImage::orders`] yields
/// them level by level (the order of `BookImage::linked`), each level's in FIFO order, and
/// [`BookImage::counts`] says how many each level has.
#[derive(Clone)]
enum Orders {
    /// From [`BookImage::decode`]: already in that order.
    Ordered { orders: Vec<OrderImage>, counts: Vec<u32> },
    /// From [`BookWriter::capture`]: the arena's slots copied in memory order, and each
    /// linked level's FIFO head, so that capture (which pauses matching) chases no links;
    /// the FIFO order is worked out from the copied links on first use.
    Captured { slots: SlotsCopy, heads: Vec<u32>, fifo: OnceLock<Fifo> },
}

/// A captured image's orders in FIFO order: slot numbers, level by level, and each level's
/// count.
#[derive(Clone)]
struct Fifo {
    order: Vec<u32>,
    counts: Vec<u32>,
}

impl Fifo {
    /// Follow each level's copied links from its head. A consistent book puts every
    /// occupied slot on at most one FIFO; the walk still stops at a free or missing slot and
    /// after as many steps as there are slots, so that the links of a poisoned book (which
    /// [`BookWriter::restore`] refuses) cannot make it run forever or panic.
    fn walk(slots: &SlotsCopy, heads: &[u32]) -> Fifo {
        let mut order = Vec::with_capacity(slots.len());
        let mut counts = Vec::with_capacity(heads.len());
        let mut budget = slots.len();
        for &head in heads {
            let first = order.len();
            let mut idx = head;
            while idx != NIL && budget > 0 {
                let Some(next) = slots.next(idx) else { break };
                order.push(idx);
                budget -= 1;
                idx = next;
            }
            counts.push((order.len() - first) as u32);
        }
        Fifo { order, counts }
    }
}

/// [`BookImage::orders`]: the orders by value, whichever form they are kept in.
enum OrderIter<'a> {
    Ordered(std::slice::Iter<'a, OrderImage>),
    Captured(std::slice::Iter<'a, u32>, &'a SlotsCopy),
}

impl Iterator for OrderIter<'_> {
    type Item = OrderImage;

    #[inline]
    fn next(&mut self) -> Option<OrderImage> {
        match self {
            OrderIter::Ordered(it) => it.next().copied(),
            OrderIter::Captured(it, slots) => {
                // `Fifo::walk` only records occupied slots.
                it.next().map(|&i| {
                    let (o, expire, _) = slots.get(i).expect("a walked slot is occupied");
                    OrderImage::of(&o, expire)
                })
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            OrderIter::Ordered(it) => it.size_hint(),
            OrderIter::Captured(it, _) => it.size_hint(),
        }
    }
}

/// An owned copy of one book's state, from [`BookWriter::capture`] or [`BookImage::decode`];
/// [`BookWriter::restore`] turns it back into a book that answers every later command exactly
/// as the original would have. Its fields are private so that only those two constructors
/// make one: a captured image comes from a consistent book, a decoded one has been validated.
///
/// A captured image keeps its orders as the book's order slab had them (a near-sequential
/// copy, cheap while matching pauses) and puts them in priority order on first need
/// ([`BookImage::encode`], [`BookImage::state_hash`], [`BookImage::len`], comparison,
/// [`BookWriter::restore`]), once. Equality compares the logical content: two images of
/// books with the same state are equal however their orders sat in memory.
#[derive(Clone)]
pub struct BookImage {
    symbol: String,
    tick_size: String,
    lot_size: String,
    retain_empty_levels: u64,
    max_orders: Option<u64>,
    words: WriterWords,
    id_counter: u64,
    /// Linked bid levels (best first), then linked ask levels (best first), then retained
    /// levels (oldest first, no orders).
    levels: Vec<LevelImage>,
    bid_levels: usize,
    ask_levels: usize,
    /// The linked levels' orders.
    orders: Orders,
}

impl PartialEq for BookImage {
    fn eq(&self, other: &Self) -> bool {
        self.symbol == other.symbol
            && self.tick_size == other.tick_size
            && self.lot_size == other.lot_size
            && self.retain_empty_levels == other.retain_empty_levels
            && self.max_orders == other.max_orders
            && self.words == other.words
            && self.id_counter == other.id_counter
            && self.levels == other.levels
            && self.bid_levels == other.bid_levels
            && self.ask_levels == other.ask_levels
            && self.counts() == other.counts()
            && self.orders().eq(other.orders())
    }
}

impl Eq for BookImage {}

impl Debug for BookImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct List<'a>(&'a BookImage);
        impl Debug for List<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list().entries(self.0.orders()).finish()
            }
        }
        f.debug_struct("BookImage")
            .field("symbol", &self.symbol)
            .field("tick_size", &self.tick_size)
            .field("lot_size", &self.lot_size)
            .field("retain_empty_levels", &self.retain_empty_levels)
            .field("max_orders", &self.max_orders)
            .field("words", &self.words)
            .field("id_counter", &self.id_counter)
            .field("levels", &self.levels)
            .field("bid_levels", &self.bid_levels)
            .field("ask_levels", &self.ask_levels)
            .field("counts", &self.counts())
            .field("orders", &List(self))
            .finish()
    }
}

impl BookImage {
    /// Instrument name of the captured book.
    pub fn symbol(&self) -> &str {
        &self.symbol
    }

    /// Tick size as the captured book had it (normalised decimal text).
    pub fn tick_size(&self) -> &str {
        &self.tick_size
    }

    /// Lot size as the captured book had it (normalised decimal text).
    pub fn lot_size(&self) -> &str {
        &self.lot_size
    }

    /// The captured book's retention of emptied levels.
    pub fn retain_empty_levels(&self) -> u64 {
        self.retain_empty_levels
    }

    /// The captured book's limit on resting orders.
    pub fn max_orders(&self) -> Option<u64> {
        self.max_orders
    }

    /// Sequence number of the last event before the capture.
    pub fn sequence(&self) -> u64 {
        self.words.seq
    }

    /// [`BookWriter::state_hash`] of the captured book, computed from the image's own
    /// contents (the same digest over the same orders). Computed on demand rather than by
    /// [`BookWriter::capture`]: the digest mixes every order byte by byte and would cost
    /// capture, which pauses matching, several times its copy. O(orders).
    pub fn state_hash(&self) -> u64 {
        let mut h = Fnv64::default();
        h.int(self.words.seq as i128);
        let mut orders = self.orders();
        for (side, counts) in self.sides() {
            for (l, &n) in side.iter().zip(counts) {
                h.int(l.price as i128);
                for o in orders.by_ref().take(n as usize) {
                    let (o, expire) = o.to_resting();
                    hash_order(&mut h, &o, expire);
                }
            }
            h.int(-1);
        }
        h.finish()
    }

    /// Resting orders in the image (on a captured image, the first call that needs the
    /// orders in FIFO order puts them so: O(orders)).
    pub fn len(&self) -> usize {
        match &self.orders {
            Orders::Ordered { orders, .. } => orders.len(),
            Orders::Captured { .. } => self.fifo().order.len(),
        }
    }

    /// No resting orders.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A captured image's orders in FIFO order, worked out once.
    fn fifo(&self) -> &Fifo {
        match &self.orders {
            Orders::Captured { slots, heads, fifo } => fifo.get_or_init(|| Fifo::walk(slots, heads)),
            Orders::Ordered { .. } => unreachable!("a decoded image's orders are in order"),
        }
    }

    /// How many orders each linked level has, in the order of `linked`.
    fn counts(&self) -> &[u32] {
        match &self.orders {
            Orders::Ordered { counts, .. } => counts,
            Orders::Captured { .. } => &self.fifo().counts,
        }
    }

    /// Every linked level's orders, level by level, each level's in FIFO order.
    fn orders(&self) -> OrderIter<'_> {
        match &self.orders {
            Orders::Ordered { orders, .. } => OrderIter::Ordered(orders.iter()),
            Orders::Captured { slots, .. } => OrderIter::Captured(self.fifo().order.iter(), slots),
        }
    }

    /// The bid levels and the ask levels, each with its levels' order counts.
    fn sides(&self) -> [(&[LevelImage], &[u32]); 2] {
        let (bids, asks) = self.linked().split_at(self.bid_levels);
        let (bid_counts, ask_counts) = self.counts().split_at(self.bid_levels);
        [(bids, bid_counts), (asks, ask_counts)]
    }

    /// The config the captured book had (order capacity sized for its orders), for restoring
    /// it without knowing it up front (the Python binding's `OrderBook.restore`).
    pub fn config(&self) -> EngineResult<BookConfig> {
        let mut config = self.base_config()?;
        config.order_capacity = self.len();
        Ok(config)
    }

    /// [`BookImage::config`] with the default order capacity (needs no orders).
    fn base_config(&self) -> EngineResult<BookConfig> {
        let corrupt = |e: EngineError| EngineError::CorruptData(format!("book image: {e}"));
        let tick = parse_decimal(&self.tick_size, "tick_size").map_err(corrupt)?;
        let lot = parse_decimal(&self.lot_size, "lot_size").map_err(corrupt)?;
        let mut config = BookConfig::new(self.symbol.clone(), tick, lot).map_err(corrupt)?;
        config.retain_empty_levels = to_usize(self.retain_empty_levels, "retain_empty_levels")?;
        config.max_orders = self.max_orders.map(|m| to_usize(m, "max_orders")).transpose()?;
        Ok(config)
    }

    fn linked(&self) -> &[LevelImage] {
        &self.levels[..self.bid_levels + self.ask_levels]
    }

    fn retained(&self) -> &[LevelImage] {
        &self.levels[self.bid_levels + self.ask_levels..]
    }

    /// Exact size of [`BookImage::encode`]'s output.
    pub fn encoded_len(&self) -> usize {
        let header = 12 + 12 + self.symbol.len() + self.tick_size.len() + self.lot_size.len();
        let fixed = 8 + 1 + 8 + 8 * 7;
        let lists = 4 * 3
            + LEVEL_BYTES * (self.bid_levels + self.ask_levels)
            + ORDER_BYTES * self.len()
            + RETAINED_BYTES * self.retained().len();
        header + fixed + lists + 4
    }

    /// The image in the versioned little-endian format of `docs/snapshot-format.md`, ending
    /// with the CRC32C of everything before it.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(self.encoded_len());
        b.extend_from_slice(&BOOK_IMAGE_MAGIC);
        b.extend_from_slice(&BOOK_IMAGE_VERSION.to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        for s in [&self.symbol, &self.tick_size, &self.lot_size] {
            b.extend_from_slice(&(s.len() as u32).to_le_bytes());
            b.extend_from_slice(s.as_bytes());
        }
        b.extend_from_slice(&self.retain_empty_levels.to_le_bytes());
        b.push(self.max_orders.is_some() as u8);
        b.extend_from_slice(&self.max_orders.unwrap_or(0).to_le_bytes());
        let w = &self.words;
        for v in [w.seq, w.batch_ids, w.rng, w.stamp, self.id_counter, self.state_hash()] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&(self.len() as u64).to_le_bytes());
        let mut orders = self.orders();
        for (side, counts) in self.sides() {
            b.extend_from_slice(&(side.len() as u32).to_le_bytes());
            for (l, &n) in side.iter().zip(counts) {
                b.extend_from_slice(&l.price.to_le_bytes());
                for c in l.counters {
                    b.extend_from_slice(&c.to_le_bytes());
                }
                b.extend_from_slice(&n.to_le_bytes());
                for o in orders.by_ref().take(n as usize) {
                    encode_order(&mut b, &o);
                }
            }
        }
        b.extend_from_slice(&(self.retained().len() as u32).to_le_bytes());
        for l in self.retained() {
            b.push(l.side as u8);
            b.extend_from_slice(&l.price.to_le_bytes());
            for c in l.counters {
                b.extend_from_slice(&c.to_le_bytes());
            }
        }
        let crc = crc32c::crc32c(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        debug_assert_eq!(b.len(), self.encoded_len());
        b
    }

    /// Parse and validate an encoded image. Any defect (bad magic, unknown version or flags,
    /// CRC mismatch, truncation, trailing bytes, a value the book could not hold) is an
    /// [`EngineError::CorruptData`] naming what failed and the byte offset; it never panics
    /// and never reserves memory for more records than the remaining bytes could hold.
    pub fn decode(bytes: &[u8]) -> EngineResult<BookImage> {
        let corrupt = |m: String| EngineError::CorruptData(format!("book image: {m}"));
        if bytes.len() < 8 || bytes[..8] != BOOK_IMAGE_MAGIC {
            return Err(corrupt("bad magic (not a book image)".into()));
        }
        if bytes.len() < 12 + 4 {
            return Err(corrupt(format!("truncated at byte {} reading the header", bytes.len())));
        }
        let version = u16::from_le_bytes([bytes[8], bytes[9]]);
        if version != BOOK_IMAGE_VERSION {
            return Err(EngineError::CorruptData(format!(
                "unsupported book image version {version} (this build reads {BOOK_IMAGE_VERSION})"
            )));
        }
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        let stored = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
        if crc32c::crc32c(body) != stored {
            return Err(corrupt("CRC32C mismatch".into()));
        }
        let flags = u16::from_le_bytes([bytes[10], bytes[11]]);
        if flags != 0 {
            return Err(corrupt(format!("unknown flags {flags:#06x} at byte 10")));
        }
        let mut r = Cursor { b: body, at: 12 };
        let symbol = r.string("the symbol")?;
        let tick_size = r.string("tick_size")?;
        let lot_size = r.string("lot_size")?;
        let retain_empty_levels = r.u64("retain_empty_levels")?;
        let max_orders = match (r.u8("max_orders")?, r.u64("max_orders")?) {
            (0, 0) => None,
            (1, m) => Some(m),
            (flag, _) => {
                return Err(corrupt(format!("bad max_orders presence byte {flag} at byte {}", r.at - 9)))
            }
        };
        let words = WriterWords {
            seq: r.u64("seq")?,
            batch_ids: r.u64("batch_ids")?,
            rng: r.u64("rng")?,
            stamp: r.u64("stamp")?,
        };
        let id_counter = r.u64("id_counter")?;
        let hash_at = r.at;
        let state_hash = r.u64("state_hash")?;
        let at = r.at;
        let order_count = r.u64("the order count")?;
        let order_count = usize::try_from(order_count)
            .ok()
            .filter(|&n| n.checked_mul(ORDER_BYTES).is_some_and(|b| b <= r.left()))
            .ok_or_else(|| {
                corrupt(format!(
                    "order count {order_count} at byte {at} exceeds what the remaining bytes hold"
                ))
            })?;
        let mut image = BookImage {
            symbol,
            tick_size,
            lot_size,
            retain_empty_levels,
            max_orders,
            words,
            id_counter,
            levels: Vec::new(),
            bid_levels: 0,
            ask_levels: 0,
            orders: Orders::Ordered { orders: Vec::new(), counts: Vec::new() },
        };
        let mut check = Checker::new(&image, order_count)?;
        let mut orders = Vec::with_capacity(order_count);
        let mut counts = Vec::new();
        for side in [Side::Buy, Side::Sell] {
            let name = side_name(side);
            let count = r.count(LEVEL_BYTES, format_args!("the {name} level count"))?;
            image.levels.reserve(count);
            counts.reserve(count);
            for li in 0..count {
                let at = r.at;
                let what = format!("{name} level {li}");
                let price = r.i64(what.as_str())?;
                let counters = r.counters(what.as_str())?;
                let n = r.u32(what.as_str())?;
                let level = LevelImage { side, price, counters };
                let first = orders.len();
                for oi in 0..n {
                    let k = orders.len();
                    let o = r.order(format_args!("order {k} ({what}, its order {oi})"))?;
                    if orders.len() == order_count {
                        return Err(corrupt(format!(
                            "more orders than the order count {order_count} at byte {}",
                            r.at - ORDER_BYTES
                        )));
                    }
                    orders.push(o);
                }
                check
                    .linked_level(&level, n as usize, orders[first..].iter().copied())
                    .map_err(|m| corrupt(format!("{what} at byte {at}: {m}")))?;
                image.levels.push(level);
                counts.push(n);
            }
            match side {
                Side::Buy => image.bid_levels = count,
                Side::Sell => image.ask_levels = count,
            }
        }
        if orders.len() != order_count {
            return Err(corrupt(format!(
                "the levels hold {} orders, the header says {order_count}",
                orders.len()
            )));
        }
        image.orders = Orders::Ordered { orders, counts };
        let count = r.count(RETAINED_BYTES, "the retained level count")?;
        image.levels.reserve(count);
        for li in 0..count {
            let at = r.at;
            let what = format!("retained level {li}");
            let code = r.u8(what.as_str())?;
            let side = Side::from_code(code)
                .ok_or_else(|| corrupt(format!("{what} at byte {at}: side code {code} is not 0 or 1")))?;
            let price = r.i64(what.as_str())?;
            let counters = r.counters(what.as_str())?;
            let level = LevelImage { side, price, counters };
            check.retained_level(&level).map_err(|m| corrupt(format!("{what} at byte {at}: {m}")))?;
            image.levels.push(level);
        }
        if r.left() != 0 {
            return Err(corrupt(format!("{} unexpected bytes at byte {}", r.left(), r.at)));
        }
        check.finish(&image).map_err(corrupt)?;
        let computed = image.state_hash();
        if computed != state_hash {
            return Err(corrupt(format!(
                "state hash {state_hash:#018x} at byte {hash_at} does not match the orders' {computed:#018x}"
            )));
        }
        Ok(image)
    }

    /// Run every check [`BookImage::decode`] does on an image already in memory.
    fn validate(&self) -> EngineResult<()> {
        let corrupt = |m: String| EngineError::CorruptData(format!("book image: {m}"));
        let mut check = Checker::new(self, self.len())?;
        let mut orders = self.orders();
        for (i, (l, &n)) in self.linked().iter().zip(self.counts()).enumerate() {
            let mine = orders.by_ref().take(n as usize);
            check.linked_level(l, n as usize, mine).map_err(|m| corrupt(format!("level {i}: {m}")))?;
        }
        for (i, l) in self.retained().iter().enumerate() {
            check.retained_level(l).map_err(|m| corrupt(format!("retained level {i}: {m}")))?;
        }
        check.finish(self).map_err(corrupt)
    }
}

fn side_name(side: Side) -> &'static str {
    match side {
        Side::Buy => "bid",
        Side::Sell => "ask",
    }
}

fn to_usize(v: u64, what: &str) -> EngineResult<usize> {
    usize::try_from(v)
        .map_err(|_| EngineError::CorruptData(format!("book image: {what} {v} does not fit this platform")))
}

fn encode_order(b: &mut Vec<u8>, o: &OrderImage) {
    b.extend_from_slice(&o.id.to_le_bytes());
    b.push(o.side as u8);
    b.push(o.tif as u8);
    b.push((o.post_only as u8 * FLAG_POST_ONLY) | (o.expire.is_some() as u8 * FLAG_HAS_EXPIRE));
    for v in [
        o.price,
        o.original,
        o.open,
        o.visible,
        o.display,
        o.filled,
        o.expire.unwrap_or(0),
        o.timestamp,
        o.queued_at,
        o.accept_seq as i64,
    ] {
        b.extend_from_slice(&v.to_le_bytes());
    }
}

/// Bounds-checked little-endian reads; every error names the byte offset and what was read.
struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn left(&self) -> usize {
        self.b.len() - self.at
    }

    fn take(&mut self, n: usize, what: impl Display + Copy) -> EngineResult<&'a [u8]> {
        if n > self.left() {
            return Err(EngineError::CorruptData(format!(
                "book image: truncated at byte {} reading {what}",
                self.b.len()
            )));
        }
        let s = &self.b[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: impl Display + Copy) -> EngineResult<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, what)?);
        Ok(a)
    }

    fn u8(&mut self, what: impl Display + Copy) -> EngineResult<u8> {
        Ok(self.array::<1>(what)?[0])
    }

    fn u32(&mut self, what: impl Display + Copy) -> EngineResult<u32> {
        self.array(what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, what: impl Display + Copy) -> EngineResult<u64> {
        self.array(what).map(u64::from_le_bytes)
    }

    fn i64(&mut self, what: impl Display + Copy) -> EngineResult<i64> {
        self.array(what).map(i64::from_le_bytes)
    }

    /// A u32 record count, refused when `count * record` exceeds the bytes left (so nothing
    /// is reserved on the word of a corrupt length field).
    fn count(&mut self, record: usize, what: impl Display + Copy) -> EngineResult<usize> {
        let at = self.at;
        let n = self.u32(what)? as usize;
        if n.checked_mul(record).is_none_or(|b| b > self.left()) {
            return Err(EngineError::CorruptData(format!(
                "book image: {what} {n} at byte {at} exceeds what the remaining bytes hold"
            )));
        }
        Ok(n)
    }

    fn string(&mut self, what: impl Display + Copy) -> EngineResult<String> {
        let at = self.at;
        let n = self.u32(what)? as usize;
        let bytes = self.take(n, what)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| EngineError::CorruptData(format!("book image: {what} at byte {at} is not UTF-8")))
    }

    fn counters(&mut self, what: impl Display + Copy) -> EngineResult<[u64; COUNTER_WORDS]> {
        let mut c = [0u64; COUNTER_WORDS];
        for w in &mut c {
            *w = self.u64(what)?;
        }
        Ok(c)
    }

    fn order(&mut self, what: impl Display + Copy) -> EngineResult<OrderImage> {
        let at = self.at;
        let raw: [u8; ORDER_BYTES] = self.array(what)?;
        let bad = |m: String| EngineError::CorruptData(format!("book image: {what} at byte {at}: {m}"));
        let word = |i: usize| {
            let s = 19 + 8 * i;
            i64::from_le_bytes([
                raw[s],
                raw[s + 1],
                raw[s + 2],
                raw[s + 3],
                raw[s + 4],
                raw[s + 5],
                raw[s + 6],
                raw[s + 7],
            ])
        };
        let mut id = [0u8; 16];
        id.copy_from_slice(&raw[..16]);
        let side =
            Side::from_code(raw[16]).ok_or_else(|| bad(format!("side code {} is not 0 or 1", raw[16])))?;
        let tif = TimeInForce::from_code(raw[17])
            .ok_or_else(|| bad(format!("time_in_force code {} is not 0..=4", raw[17])))?;
        let flags = raw[18];
        if flags & !(FLAG_POST_ONLY | FLAG_HAS_EXPIRE) != 0 {
            return Err(bad(format!("unknown order flags {flags:#04x}")));
        }
        let expire = (flags & FLAG_HAS_EXPIRE != 0).then(|| word(6));
        if expire.is_none() && word(6) != 0 {
            return Err(bad("an expire time without the has-expire flag".into()));
        }
        Ok(OrderImage {
            id: u128::from_le_bytes(id),
            side,
            price: word(0),
            original: word(1),
            open: word(2),
            visible: word(3),
            display: word(4),
            filled: word(5),
            tif,
            expire,
            post_only: flags & FLAG_POST_ONLY != 0,
            timestamp: word(7),
            queued_at: word(8),
            accept_seq: word(9) as u64,
        })
    }
}

/// The consistency rules of a book, checked level by level as an image is read: what the
/// matching code takes for granted about its structures (and `BookReader::depth` about the
/// ladders: never crossed, or it would retry forever).
struct Checker {
    scale: Scale,
    seq: u64,
    ids: HashSet<OrderId>,
    accept: HashSet<u64>,
    prices: HashSet<(Side, Ticks)>,
    last: Option<(Side, Ticks)>,
    best: [Option<Ticks>; 2],
}

impl Checker {
    /// `orders`: about how many orders the image holds (sizes the sets).
    fn new(image: &BookImage, orders: usize) -> EngineResult<Self> {
        let config = image.base_config()?;
        let corrupt = |m: String| Err(EngineError::CorruptData(format!("book image: {m}")));
        if config.scale.tick_size.to_string() != image.tick_size
            || config.scale.lot_size.to_string() != image.lot_size
        {
            return corrupt(format!(
                "tick_size {:?} / lot_size {:?} are not in normal form",
                image.tick_size, image.lot_size
            ));
        }
        if image.words.rng == 0 {
            return corrupt("rng state 0 (the generator would stay at 0)".into());
        }
        Ok(Checker {
            scale: config.scale,
            seq: image.words.seq,
            ids: HashSet::with_capacity(orders),
            accept: HashSet::with_capacity(orders),
            prices: HashSet::new(),
            last: None,
            best: [None, None],
        })
    }

    fn price(&mut self, side: Side, price: Ticks) -> Result<(), String> {
        if price <= 0 || price > self.scale.max_ticks() {
            return Err(format!("price {price} is outside 1..={}", self.scale.max_ticks()));
        }
        if !self.prices.insert((side, price)) {
            return Err(format!("a second {} level at price {price}", side_name(side)));
        }
        Ok(())
    }

    fn activity(counters: &[u64; COUNTER_WORDS]) -> Result<(), String> {
        if counters[FIRST_WORD] as i64 == NO_TIME || counters[LAST_WORD] as i64 == NO_TIME {
            return Err("a level with no recorded activity".into());
        }
        Ok(())
    }

    /// `orders`: the level's `count` orders, in FIFO order.
    fn linked_level(
        &mut self,
        l: &LevelImage,
        count: usize,
        orders: impl Iterator<Item = OrderImage>,
    ) -> Result<(), String> {
        self.price(l.side, l.price)?;
        if let Some((side, last)) = self.last.filter(|(s, _)| *s == l.side) {
            let ordered = match side {
                Side::Buy => l.price < last,
                Side::Sell => l.price > last,
            };
            if !ordered {
                return Err(format!(
                    "price {} after {last}: {} levels must be strictly {}",
                    l.price,
                    side_name(side),
                    if side == Side::Buy { "descending" } else { "ascending" }
                ));
            }
        }
        self.last = Some((l.side, l.price));
        self.best[l.side as usize].get_or_insert(l.price);
        if count == 0 {
            return Err("a linked level with no orders".into());
        }
        Self::activity(&l.counters)?;
        let (mut visible, mut open): (Lots, Lots) = (0, 0);
        let mut seen = 0;
        for (i, o) in orders.enumerate() {
            seen += 1;
            self.order(l, &o)
                .map_err(|m| format!("its order {i} (id {}): {m}", crate::error::format_id(o.id)))?;
            open = open
                .checked_add(o.open)
                .filter(|&t| t <= self.scale.max_lots())
                .ok_or("the orders' open quantities add up past the book's largest level total")?;
            visible += o.visible; // each <= its open, so the sum <= the opens' (checked) sum
        }
        if seen != count {
            return Err(format!("{seen} orders for a level of {count}"));
        }
        if l.counters[VISIBLE_WORD] != visible as u64 || l.counters[ORDERS_WORD] != count as u64 {
            return Err(format!(
                "counters say {} lots visible in {} orders, the orders hold {visible} in {count}",
                l.counters[VISIBLE_WORD] as i64, l.counters[ORDERS_WORD],
            ));
        }
        Ok(())
    }

    fn order(&mut self, l: &LevelImage, o: &OrderImage) -> Result<(), String> {
        if o.side != l.side || o.price != l.price {
            return Err(format!("{:?} at {} on a {:?} level at {}", o.side, o.price, l.side, l.price));
        }
        let max = self.scale.max_lots();
        let lots = |v: Lots, what: &str| {
            if v > 0 && v <= max {
                Ok(())
            } else {
                Err(format!("{what} {v} is outside 1..={max}"))
            }
        };
        lots(o.original, "quantity")?;
        lots(o.open, "open quantity")?;
        if o.filled < 0 || o.filled.checked_add(o.open).is_none() {
            return Err(format!("filled {} with open {} is out of range", o.filled, o.open));
        }
        if o.display == 0 {
            if o.visible != o.open {
                return Err(format!("visible {} differs from open {} on a plain order", o.visible, o.open));
            }
        } else {
            if o.display < 0 || o.display > o.original {
                return Err(format!("display {} is outside 1..=quantity {}", o.display, o.original));
            }
            if o.visible < 1 || o.visible > o.display.min(o.open) {
                return Err(format!(
                    "visible {} is outside 1..={} (display {}, open {})",
                    o.visible,
                    o.display.min(o.open),
                    o.display,
                    o.open
                ));
            }
        }
        match (o.tif, o.expire) {
            (TimeInForce::Gtd, Some(e)) if e > o.timestamp && e != Timestamp::MAX => {}
            (TimeInForce::Gtd, e) => {
                return Err(format!("GTD expire time {e:?} is not after {}", o.timestamp))
            }
            (TimeInForce::Gtc | TimeInForce::Day, None) => {}
            (tif, e) => return Err(format!("{tif} cannot rest with expire time {e:?}")),
        }
        if o.accept_seq == 0 || o.accept_seq > self.seq {
            return Err(format!("accept sequence {} is outside 1..={}", o.accept_seq, self.seq));
        }
        if !self.accept.insert(o.accept_seq) {
            return Err(format!("accept sequence {} is another order's", o.accept_seq));
        }
        if !self.ids.insert(o.id) {
            return Err("duplicate order id".into());
        }
        Ok(())
    }

    fn retained_level(&mut self, l: &LevelImage) -> Result<(), String> {
        self.price(l.side, l.price)?;
        Self::activity(&l.counters)?;
        if l.counters[VISIBLE_WORD] != 0 || l.counters[ORDERS_WORD] != 0 {
            return Err(format!(
                "an empty level whose counters say {} lots in {} orders",
                l.counters[VISIBLE_WORD] as i64, l.counters[ORDERS_WORD]
            ));
        }
        Ok(())
    }

    fn finish(&self, image: &BookImage) -> Result<(), String> {
        if let [Some(bid), Some(ask)] = self.best {
            if bid >= ask {
                return Err(format!("crossed: best bid {bid} >= best ask {ask}"));
            }
        }
        let retained = image.retained().len() as u64;
        if retained > image.retain_empty_levels {
            return Err(format!(
                "{retained} retained levels, more than retain_empty_levels {}",
                image.retain_empty_levels
            ));
        }
        if retained > image.words.stamp {
            return Err(format!("{retained} retained levels but only {} emptyings", image.words.stamp));
        }
        if let Some(m) = image.max_orders.filter(|&m| image.len() as u64 > m) {
            return Err(format!("{} orders, more than max_orders {m}", image.len()));
        }
        Ok(())
    }
}

impl BookWriter {
    /// Copy the book's whole state into an owned [`BookImage`]. Runs between commands (it
    /// takes `&self`) and pauses matching, so it does as little as it can: one copy of the
    /// order slab in memory order (free slots included), and per level its price, counter
    /// words and FIFO head; no walk of any FIFO, no digest, no encoding (the image puts the
    /// orders in priority order when first needed, e.g. by [`BookImage::encode`] on another
    /// thread). On a poisoned book (see [`BookWriter::poisoned`]) the image may be
    /// inconsistent; [`BookWriter::restore`] then refuses it.
    pub fn capture(&self) -> BookImage {
        // SAFETY: `&self` on the only writer: no command runs, and this only loads.
        let guard = unsafe { LoadGuard::new() };
        let core = &self.reader.core;
        let sh = &core.shared;
        let mut levels = Vec::new();
        let mut heads = Vec::new();
        let mut counts = [0usize; 2];
        for side in [Side::Buy, Side::Sell] {
            let mut node = sh.ladder(side).list.first(&guard);
            // SAFETY: nodes reachable from the head are protected by `guard`.
            while let Some(n) = unsafe { node.as_ref() } {
                // SAFETY: we are the writer, between commands; `n` is this book's level.
                heads.push(unsafe { self.w.fifo_head(n) });
                levels.push(LevelImage { side, price: n.level.price, counters: n.level.counters.words() });
                counts[side as usize] += 1;
                node = n.next(&guard);
            }
        }
        self.w.for_each_retained(|n| {
            levels.push(LevelImage {
                side: n.level.side,
                price: n.level.price,
                counters: n.level.counters.words(),
            })
        });
        let config = &core.config;
        BookImage {
            symbol: config.symbol.clone(),
            tick_size: config.scale.tick_size.to_string(),
            lot_size: config.scale.lot_size.to_string(),
            retain_empty_levels: config.retain_empty_levels as u64,
            max_orders: config.max_orders.map(|m| m as u64),
            words: self.w.words(),
            id_counter: sh.id_counter.load(Ordering::Relaxed),
            levels,
            bid_levels: counts[0],
            ask_levels: counts[1],
            orders: Orders::Captured { slots: self.w.copy_orders(), heads, fifo: OnceLock::new() },
        }
    }

    /// [`BookWriter::capture`], encoded ([`BookImage::encode`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.capture().encode()
    }

    /// A fresh book from `config` holding exactly the state of `image`: every later command
    /// gets the same events, and depth, level statistics and order views read the same, as
    /// on the captured book. `config` supplies what is not state (retention, order limit,
    /// capacity); its symbol, tick size and lot size must be the image's
    /// ([`EngineError::InvalidConfig`] otherwise). If `config` retains fewer emptied levels
    /// than the image holds, the oldest are dropped, as the book itself would have. A
    /// result whose [`BookWriter::state_hash`] differs from the captured one is refused with
    /// [`EngineError::CorruptData`].
    pub fn restore(mut config: BookConfig, image: &BookImage) -> EngineResult<BookWriter> {
        let mismatch = |field: &str, ours: &str, theirs: &str| {
            EngineError::InvalidConfig(format!(
                "{}: {field} {theirs} in the snapshot, {ours} in the config",
                config.symbol
            ))
        };
        if config.symbol != image.symbol {
            return Err(mismatch("symbol", &config.symbol, &image.symbol));
        }
        for (field, ours, theirs) in [
            ("tick_size", config.scale.tick_size, &image.tick_size),
            ("lot_size", config.scale.lot_size, &image.lot_size),
        ] {
            if parse_decimal(theirs, field).ok() != Some(ours) {
                return Err(mismatch(field, &ours.to_string(), theirs));
            }
        }
        image.validate()?;
        config.order_capacity = config.order_capacity.max(image.len());
        let retain = config.retain_empty_levels;
        let mut book = BookWriter::try_with_config(config)?;
        {
            let sh = &book.reader.core.shared;
            let w = &mut book.w;
            // SAFETY: the book was just made and nothing else has it: we are its only writer,
            // and retire nothing.
            let guard = unsafe { LoadGuard::new() };
            let mut orders = image.orders();
            for (l, &n) in image.linked().iter().zip(image.counts()) {
                let mine = orders.by_ref().take(n as usize).map(|o| o.to_resting());
                w.restore_level(sh, &guard, l.side, l.price, &l.counters, None, mine);
            }
            let retained = image.retained();
            let skip = retained.len().saturating_sub(retain);
            for (i, l) in retained.iter().enumerate().skip(skip) {
                // Stamps 1..=k, in retention order: distinct, and below every later emptying's
                // (the image's stamp is at least k, checked by `validate`).
                let stamp = i as u64 + 1;
                w.restore_level(sh, &guard, l.side, l.price, &l.counters, Some(stamp), []);
            }
            w.set_words(image.words);
            sh.id_counter.store(image.id_counter, Ordering::Relaxed);
            w.publish_restored(sh, &guard);
        }
        let (hash, want) = (book.state_hash(), image.state_hash());
        if hash != want {
            return Err(EngineError::CorruptData(format!(
                "book image: the restored book's state hash {hash:#018x} differs from the image's {want:#018x}"
            )));
        }
        Ok(book)
    }

    /// [`BookImage::decode`] then [`BookWriter::restore`].
    pub fn from_bytes(config: BookConfig, bytes: &[u8]) -> EngineResult<BookWriter> {
        Self::restore(config, &BookImage::decode(bytes)?)
    }
}
