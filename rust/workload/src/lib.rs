//! Seeded order-flow generator shaped like equity flow, for benchmarks and soak tests.
//!
//! - The mid price follows geometric Brownian motion (plus a one-way drift in
//!   `flash-crash`). The five public shapes (`pub-*`, [`Scenario::PUBLIC`]) instead follow a
//!   smooth precomputed path whose range over the stream is their target share of the start.
//! - Passive orders rest on their own side of the mid, at a distance drawn from a power law
//!   (density ∝ d^-2.2) shifted so the mass humps a few ticks out.
//! - Quantities are uniform in 1..=100 lots.
//! - About 15% of new orders are marketable IOC. About 95% of resting orders are cancelled
//!   later, and about 20% get a modify (reprice by a tick, or a quantity increase).
//! - Cancels and modifies are scheduled blind to fills, so some hit orders that already
//!   traded, as in real flow; an engine must reject those.
//!
//! The same seed gives the same stream on every machine: the random generator is in this
//! crate, and all floating-point maths goes through `libm`.
#![warn(missing_docs)]

mod format;
mod generator;
mod rng;

pub use format::{read_stream, write_stream, FormatError, HEADER_LEN, MAGIC, RECORD_LEN};
pub use generator::{generate, Generator, GeneratorConfig, Scenario};
pub use rng::Rng;

/// Kind of a stream record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Kind {
    /// A new limit order (`tif` 0 GTC rests, 1 IOC takes).
    New = 0,
    /// Cancel `order_id`.
    Cancel = 1,
    /// Modify `order_id` to `price` and open `quantity`.
    Modify = 2,
}

/// One command of a stream: 40 bytes, little-endian on disk, same layout as the numpy
/// structured dtype `lockfree_trading.workload.DTYPE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct Record {
    /// [`Kind`] code.
    pub kind: u8,
    /// 0 buy, 1 sell (new orders; informational for cancel/modify).
    pub side: u8,
    /// Time-in-force code (0 GTC, 1 IOC).
    pub tif: u8,
    /// Reserved, 0.
    pub flags: u8,
    /// Symbol index (0 in single-symbol streams).
    pub symbol: u16,
    /// Reserved, 0.
    pub reserved: u16,
    /// Order id (unique per stream for new orders).
    pub order_id: u64,
    /// Limit price in ticks (new price for a modify).
    pub price: i64,
    /// Quantity in lots (new open quantity for a modify).
    pub quantity: i64,
    /// Nanoseconds since the start of the stream.
    pub timestamp: i64,
}
