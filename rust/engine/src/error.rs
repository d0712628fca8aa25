//! The one error type of the core; the binding maps each variant to a Python exception.

use crate::types::OrderId;

/// Everything that can make a command fail. A failed command changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// The order or modify request is malformed (price, quantity, flags, overflow...).
    #[error("invalid order: {0}")]
    InvalidOrder(String),
    /// A new order used the id of an order that is still resting.
    #[error("duplicate order id {}: an order with this id is resting", format_id(*.0))]
    DuplicateOrderId(OrderId),
    /// Cancel or modify named an id that is not resting (filled, cancelled, expired or unknown).
    #[error("order {} is not resting on the book", format_id(*.0))]
    OrderNotFound(OrderId),
    /// Book or system configuration is unusable (tick or lot size, a config key).
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// The system has no symbol of this name.
    #[error("unknown symbol {0:?}")]
    UnknownSymbol(String),
    /// The symbol's worker queue is full and the system is configured to reject
    /// (`engine.on_full: reject`); nothing was enqueued.
    #[error("queue full for {symbol} ({capacity} commands waiting); nothing was enqueued")]
    QueueFull {
        /// The symbol.
        symbol: String,
        /// The queue's capacity.
        capacity: usize,
    },
    /// The symbol's worker failed on an earlier command; no further commands are processed.
    #[error("symbol {symbol} is halted: {reason}")]
    SymbolHalted {
        /// The symbol.
        symbol: String,
        /// What went wrong.
        reason: String,
    },
    /// The system is shutting down or has shut down.
    #[error("the trading system is closed")]
    SystemClosed,
    /// A command panicked inside the book's writer earlier; the book refuses every further
    /// write (its writer-only structures may be half-updated) and stays readable.
    #[error("book {symbol} is poisoned and takes no more commands: {reason}")]
    BookPoisoned {
        /// The book's symbol.
        symbol: String,
        /// What the failed command panicked with.
        reason: String,
    },
    /// Stored data (a snapshot, a journal record) failed a check: bad magic, unsupported
    /// version, wrong CRC32C, truncated, or inconsistent. The message names what and where.
    #[error("corrupt data: {0}")]
    CorruptData(String),
    /// Reading or writing durable storage failed (the message names the file).
    #[error("storage error: {0}")]
    Storage(String),
}

impl EngineError {
    /// Shorthand for [`EngineError::InvalidOrder`].
    pub fn invalid(msg: impl Into<String>) -> Self {
        EngineError::InvalidOrder(msg.into())
    }

    /// Stable numeric code of the variant (carried by feed events).
    pub fn code(&self) -> u8 {
        match self {
            EngineError::InvalidOrder(_) => 1,
            EngineError::DuplicateOrderId(_) => 2,
            EngineError::OrderNotFound(_) => 3,
            EngineError::InvalidConfig(_) => 4,
            EngineError::UnknownSymbol(_) => 5,
            EngineError::QueueFull { .. } => 6,
            EngineError::SymbolHalted { .. } => 7,
            EngineError::SystemClosed => 8,
            EngineError::BookPoisoned { .. } => 9,
            EngineError::CorruptData(_) => 10,
            EngineError::Storage(_) => 11,
        }
    }

    /// The `Display` text, built without the formatting machinery for the id variants
    /// (cancel and modify rejects are frequent in real flow).
    pub fn message(&self) -> String {
        let with_id = |head: &str, id: OrderId, tail: &str| {
            let mut s = String::with_capacity(head.len() + 36 + tail.len());
            s.push_str(head);
            push_id(&mut s, id);
            s.push_str(tail);
            s
        };
        match self {
            EngineError::DuplicateOrderId(id) => {
                with_id("duplicate order id ", *id, ": an order with this id is resting")
            }
            EngineError::OrderNotFound(id) => with_id("order ", *id, " is not resting on the book"),
            other => other.to_string(),
        }
    }
}

/// Render an id the way Python's `uuid.UUID` prints it (hot on reject paths: no `format!`).
pub fn format_id(id: OrderId) -> String {
    let mut s = String::with_capacity(36);
    push_id(&mut s, id);
    s
}

fn push_id(s: &mut String, id: OrderId) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 36];
    let mut nibble = 32;
    for (i, slot) in out.iter_mut().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            *slot = b'-';
        } else {
            nibble -= 1;
            *slot = HEX[((id >> (nibble * 4)) & 0xf) as usize];
        }
    }
    // Only ASCII hex digits and dashes were written.
    s.push_str(std::str::from_utf8(&out).expect("ASCII"));
}

/// The message of a caught panic.
pub(crate) fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_string())
}

/// Result alias for engine operations.
pub type EngineResult<T> = Result<T, EngineError>;

#[cfg(test)]
mod tests {
    #[test]
    fn ids_print_like_python_uuids() {
        let id = 0x29c4_93a7_530d_47c9_8c69_4168_fcc7_65fc_u128;
        assert_eq!(super::format_id(id), "29c493a7-530d-47c9-8c69-4168fcc765fc");
        assert_eq!(super::format_id(1), "00000000-0000-0000-0000-000000000001");
    }

    #[test]
    fn message_matches_display() {
        for e in [super::EngineError::OrderNotFound(77), super::EngineError::DuplicateOrderId(u128::MAX)] {
            assert_eq!(e.message(), e.to_string());
        }
    }
}
