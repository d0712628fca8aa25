//! What a submitter sends to a symbol's worker, and what comes back.

use crate::book::{BatchInput, BatchOutput};
use crate::command::{Command, Modify, NewOrder};
use crate::event::ExecutionReport;
use crate::types::{OrderId, Timestamp};

/// A command for one symbol.
#[derive(Clone, Debug)]
pub enum Request {
    /// A new order.
    New(NewOrder),
    /// Cancel a resting order.
    Cancel {
        /// The order.
        id: OrderId,
        /// Command time.
        timestamp: Timestamp,
    },
    /// Change a resting order's quantity and/or price.
    Modify(Modify),
    /// Expire due GTD orders.
    Expire {
        /// Current time.
        now: Timestamp,
    },
    /// Expire due GTD orders and every DAY order (the session's end).
    EndOfDay {
        /// Current time.
        now: Timestamp,
    },
    /// New orders in columns, matched in row order as one command.
    Batch(OwnedBatch),
    /// Several commands in one hand-off: each runs exactly as if it had been sent alone
    /// (its own sequence number, its own events); the reply sums them up.
    Commands(Vec<Command>),
    /// Close every statistics period of the symbol that ended by `now`: a command like the
    /// others (a sequence number, a journal record) that changes no book, so periods of a
    /// quiet symbol close on time and a replay closes the same ones.
    ClosePeriods {
        /// Current time.
        now: Timestamp,
    },
    /// Ask the symbol's worker for its book's [`state_hash`](crate::BookWriter::state_hash):
    /// a query the book's owner answers between commands (it takes no sequence number).
    StateHash,
    /// Ask the symbol's worker for the top `levels` levels of each side as its last command
    /// left them: a query answered between commands (no sequence number), so the depth is
    /// exactly the book after command `command_sequence` of the reply, and every event of the
    /// commands up to it was published before the reply (a subscriber that applies only later
    /// events to it stays exact).
    Depth {
        /// Levels per side at most.
        levels: usize,
    },
    /// Capture the book now and write it as a snapshot file (answered once the file is
    /// durable); takes no sequence number.
    Snapshot,
    /// Make the worker panic while handling this command (tests of the halting path).
    #[doc(hidden)]
    InjectPanic,
}

impl Request {
    /// Replace the command's timestamp (used when the worker stamps commands).
    pub(crate) fn set_timestamp(&mut self, ts: Timestamp) {
        match self {
            Request::New(o) => o.timestamp = ts,
            Request::Cancel { timestamp, .. } => *timestamp = ts,
            Request::Modify(m) => m.timestamp = ts,
            Request::Expire { now } | Request::EndOfDay { now } | Request::ClosePeriods { now } => *now = ts,
            Request::Batch(b) => b.timestamp = ts,
            Request::Commands(_)
            | Request::StateHash
            | Request::Depth { .. }
            | Request::Snapshot
            | Request::InjectPanic => {}
        }
    }

    /// The command's timestamp.
    pub fn timestamp(&self) -> Timestamp {
        match self {
            Request::New(o) => o.timestamp,
            Request::Cancel { timestamp, .. } => *timestamp,
            Request::Modify(m) => m.timestamp,
            Request::Expire { now } | Request::EndOfDay { now } | Request::ClosePeriods { now } => *now,
            Request::Batch(b) => b.timestamp,
            Request::Commands(c) => c.last().map_or(0, command_timestamp),
            Request::StateHash | Request::Depth { .. } | Request::Snapshot | Request::InjectPanic => 0,
        }
    }

    /// The order the command is about, if one.
    pub fn order_id(&self) -> OrderId {
        match self {
            Request::New(o) => o.id,
            Request::Cancel { id, .. } => *id,
            Request::Modify(m) => m.id,
            _ => 0,
        }
    }
}

fn command_timestamp(c: &Command) -> Timestamp {
    match c {
        Command::New(o) => o.timestamp,
        Command::Cancel { timestamp, .. } => *timestamp,
        Command::Modify(m) => m.timestamp,
        Command::Expire { now } | Command::EndOfDay { now } => *now,
    }
}

impl From<Command> for Request {
    fn from(c: Command) -> Request {
        match c {
            Command::New(o) => Request::New(o),
            Command::Cancel { id, timestamp } => Request::Cancel { id, timestamp },
            Command::Modify(m) => Request::Modify(m),
            Command::Expire { now } => Request::Expire { now },
            Command::EndOfDay { now } => Request::EndOfDay { now },
        }
    }
}

/// A columnar batch that owns its columns (it crosses to the worker thread).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnedBatch {
    /// 0 buy, 1 sell.
    pub side: Vec<i8>,
    /// Limit price in ticks; 0 for a market order.
    pub price: Vec<i64>,
    /// Quantity in lots.
    pub quantity: Vec<i64>,
    /// Time-in-force codes, or `None` for the defaults.
    pub time_in_force: Option<Vec<u8>>,
    /// Order ids, or `None` to let the book number them.
    pub order_id: Option<Vec<u64>>,
    /// Timestamp of every row.
    pub timestamp: Timestamp,
}

impl OwnedBatch {
    /// Borrow as the book's batch input.
    pub fn as_input(&self) -> BatchInput<'_> {
        BatchInput {
            side: &self.side,
            price: &self.price,
            quantity: &self.quantity,
            time_in_force: self.time_in_force.as_deref(),
            order_id: self.order_id.as_deref(),
            timestamp: self.timestamp,
        }
    }
}

/// The answer to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemReport {
    /// Index of the symbol.
    pub symbol: u32,
    /// Per-symbol sequence number the worker gave the command: 1, 2, 3, ... in the order the
    /// worker took commands for this symbol from its queue (refused commands included).
    pub command_sequence: u64,
    /// Timestamp the command ran with (the worker's clock when the submitter gave none).
    pub timestamp: Timestamp,
    /// What the book did.
    pub outcome: Outcome,
}

/// The book's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// One command's report.
    Report(ExecutionReport),
    /// A batch's columns.
    Batch(BatchOutput),
    /// What a [`Request::Commands`] did.
    Commands(CommandsSummary),
    /// The answer to a [`Request::StateHash`].
    StateHash(u64),
    /// The answer to a [`Request::Depth`].
    Depth(crate::book::Depth),
    /// The answer to a [`Request::Snapshot`].
    Snapshot(SnapshotTaken),
}

/// A snapshot file written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotTaken {
    /// The file.
    pub path: std::path::PathBuf,
    /// Its size.
    pub bytes: u64,
    /// Orders the book held.
    pub resting_orders: u64,
    /// How long the worker paused to capture the book, in nanoseconds.
    pub capture_ns: u64,
}

/// Totals of a [`Request::Commands`] hand-off.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommandsSummary {
    /// Commands run.
    pub commands: u64,
    /// Of which refused (bad input, unknown order).
    pub rejected: u64,
    /// Of those, refused because the order they name is not resting on the book: a cancel
    /// or modify that arrived after the order traded, expired or was cancelled (in a
    /// workload stream, the expected misses of flow that races fills).
    pub not_found: u64,
    /// Trades they printed.
    pub trades: u64,
    /// Book events they produced.
    pub events: u64,
    /// Sequence number of the last command (the first is `last - commands + 1`).
    pub last_command_sequence: u64,
}

impl SystemReport {
    /// The execution report, for single commands.
    pub fn report(&self) -> Option<&ExecutionReport> {
        match &self.outcome {
            Outcome::Report(r) => Some(r),
            Outcome::Batch(_)
            | Outcome::Commands(_)
            | Outcome::StateHash(_)
            | Outcome::Depth(_)
            | Outcome::Snapshot(_) => None,
        }
    }
}
