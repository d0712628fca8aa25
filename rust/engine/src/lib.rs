//! Matching core of lockfree-trading: one symbol's limit order book with strict
//! price-time priority, integer ticks and lots, and deterministic events.
//!
//! Concurrency model: one writer at a time per book (serialised by a CAS token, never a
//! mutex); any number of readers walk the epoch-protected price ladders without locks and
//! without ever blocking the writer. See `README.md` for exactly what is lock-free.
#![warn(missing_docs, unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod affinity;
mod arena;
mod book;
mod command;
mod error;
mod event;
mod ids;
mod level;
mod matching;
mod price_index;
mod primitive;
mod scale;
mod skiplist;
mod state;
pub mod system;
mod types;
mod writer_token;

pub use book::{
    BatchInput, BatchOutput, BookConfig, Depth, DepthLevel, OrderBook, OrderView, DEFAULT_RETAIN_EMPTY_LEVELS,
};
pub use command::{Command, Modify, NewOrder};
pub use error::{format_id, EngineError, EngineResult};
pub use event::{Event, ExecutionReport, OrderUpdate, Trade};
pub use ids::Fnv64;
pub use level::{LevelChange, LevelSnapshot};
pub use matching::check_new_order;
pub use rust_decimal::Decimal;
pub use scale::{parse_decimal, Scale};
pub use types::{Lots, OrderId, OrderStatus, OrderType, RejectReason, Side, Ticks, TimeInForce, Timestamp};
