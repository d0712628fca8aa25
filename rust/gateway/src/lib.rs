//! The network face of lockfree-trading: a FIX 4.4 acceptor and an HTTP admin API.
//!
//! - [`codec`]: the wire format: framing with BodyLength and CheckSum verified, fields with
//!   limits on size and count, field problems as SessionRejectReasons, and an encoder that
//!   computes both.
//! - [`session`]: the session layer as a pure state machine (Logon, sequence numbers,
//!   heartbeats, test requests, resend requests answered with gap fills, rejects, logout).
//! - [`orders`]: NewOrderSingle fields read into engine orders (decimals checked against
//!   the tick and lot size), with the standard's split between Reject and order reject.
//! - [`entry`]: order entry for every session from one thread: NewOrderSingle,
//!   OrderCancelRequest, OrderCancelReplaceRequest, OrderMassCancelRequest into engine
//!   commands (NewOrderSingles pipelined), and ExecutionReports to the taker's and the
//!   makers' sessions, also for what commands from elsewhere do to their orders.
//! - [`market_data`]: MarketDataRequest subscriptions: a snapshot (W), then incremental
//!   refreshes (X) built from the broadcast ring; slow readers resynchronised.
//! - [`reports`]: ExecutionReports (ExecType, OrdStatus, CumQty, LeavesQty, AvgPx, LastPx,
//!   LastQty) from an order's state.
//!
//! - [`server`]: the acceptor: every connection on one `mio` thread, with limits on
//!   connections, message size, time to Logon and message rate.
//!
//! - [`admin`]: the HTTP admin API (`/health`, `/symbols`, `/book/{symbol}`, `/metrics` in
//!   the Prometheus text format) on its own `mio` thread, reading only atomics and book
//!   readers.
#![warn(missing_docs, unsafe_op_in_unsafe_fn)]
#![forbid(unsafe_code)]

pub mod admin;
pub mod codec;
pub mod entry;
pub mod market_data;
pub mod orders;
pub mod reports;
pub mod server;
pub mod session;
