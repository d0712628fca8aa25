//! The FIX 4.4 gateway of lockfree-trading (issue 11, in progress): so far the wire codec
//! ([`codec`]): framing with BodyLength and CheckSum verified, fields with limits on size
//! and count, and an encoder that computes both. Sessions, order entry and market data
//! build on it.
#![warn(missing_docs, unsafe_op_in_unsafe_fn)]
#![forbid(unsafe_code)]

pub mod codec;
