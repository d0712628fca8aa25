//! Matching core of lockfree-trading: one symbol's limit order book with strict
//! price-time priority, integer ticks and lots, and deterministic events.
//!
//! Concurrency model: each book has exactly one [`BookWriter`] (`Send`, not `Sync`, not
//! `Clone`: ownership is the serialisation, no token or lock), and any number of
//! [`BookReader`]s that read the epoch-protected price ladders without waiting for the writer
//! and without delaying it. Each method's doc says its progress guarantee; `README.md` has
//! the table.
#![warn(missing_docs, unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod affinity;
mod arena;
mod book;
mod command;
mod error;
mod event;
mod id_index;
mod ids;
pub mod journal;
mod latch;
mod level;
mod matching;
mod price_index;
mod primitive;
mod reclaim;
mod retained;
mod scale;
mod skiplist;
mod state;
pub mod stats;
mod stop_point;
pub mod system;
mod types;

pub use book::{
    BatchInput, BatchOutput, BookConfig, BookImage, BookReader, BookWriter, Depth, DepthLevel, OrderView,
    BOOK_IMAGE_MAGIC, BOOK_IMAGE_VERSION, DEFAULT_RETAIN_EMPTY_LEVELS,
};
pub use command::{Command, Modify, NewOrder};
pub use error::{format_id, EngineError, EngineResult};
pub use event::{Event, ExecutionReport, OrderUpdate, Trade};
pub use ids::Fnv64;
pub use level::{LevelActivity, LevelChange, LevelSnapshot};
pub use matching::check_new_order;
pub use rust_decimal::Decimal;
pub use scale::{parse_decimal, Scale};
pub use types::{Lots, OrderId, OrderStatus, OrderType, RejectReason, Side, Ticks, TimeInForce, Timestamp};
