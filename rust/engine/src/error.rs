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
    /// Book construction parameters are unusable (tick or lot size).
    #[error("invalid book configuration: {0}")]
    InvalidConfig(String),
}

impl EngineError {
    /// Shorthand for [`EngineError::InvalidOrder`].
    pub fn invalid(msg: impl Into<String>) -> Self {
        EngineError::InvalidOrder(msg.into())
    }
}

/// Render an id the way Python's `uuid.UUID` prints it.
pub fn format_id(id: OrderId) -> String {
    let h = format!("{id:032x}");
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// Result alias for engine operations.
pub type EngineResult<T> = Result<T, EngineError>;
