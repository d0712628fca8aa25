//! Benchmark harness of lockfree-trading (the `lft-bench` binary's library).
//!
//! - [`throughput`]: closed-loop replay of seeded workload streams, one engine thread
//!   handing every event to a consumer thread over a lock-free SPSC ring ([`spsc`]).
//! - [`latency`]: open-loop replay at fixed offered rates, latency measured from each
//!   command's scheduled time (no coordinated omission), HdrHistogram percentiles.
//! - [`compare`]: the same stream through `lft-engine`, the published `orderbook-rs`
//!   crate ([`obrs`]) and a BTreeMap-of-levels baseline ([`baseline`]).
//! - [`memory`]: bytes per resting order and RSS growth over a long replay.
//! - [`scaling`]: the multi-symbol `TradingSystem` at 1, 2, ... workers.
//! - [`gateway`]: NewOrderSingles through the FIX gateway on loopback (1 and 4 sessions,
//!   open-loop latency, where the time goes).
//! - [`shape`]: what a stream does to a book (resting orders, levels, fills, the mid's range).
//! - [`pinning`]: engine and consumer threads on their own cores (`--no-pin` to turn off).
//!
//! Nothing in the product crates depends on this one.
#![warn(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod args;
pub mod baseline;
pub mod compare;
pub mod drive;
pub mod durability;
pub mod events;
pub mod gateway;
pub mod latency;
pub mod machine;
pub mod memory;
pub mod obrs;
pub mod pinning;
pub mod scaling;
pub mod shape;
pub mod spsc;
pub mod statistics_cost;
pub mod stats;
pub mod throughput;
