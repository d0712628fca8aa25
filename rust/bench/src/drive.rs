//! Replaying workload records through `lft-engine`, exactly like `BookWriter.replay` in the
//! Python binding: new → `submit_into` (GTC or IOC limit), cancel → `cancel`, modify →
//! `modify` with the record's price and quantity.

use lft_engine::{BookWriter, Command, Decimal, ExecutionReport, Modify, NewOrder, Side, TimeInForce};
use lft_workload::{Kind, Record};

use crate::events::{OutEvent, RejectNotice, Sink};

/// A fresh engine book with tick and lot of 1 (records are already in ticks and lots).
pub fn new_engine_book() -> BookWriter {
    BookWriter::new("BENCH", Decimal::ONE, Decimal::ONE).expect("tick and lot of 1 are valid")
}

/// One engine book plus the reused report buffer of its hot loop.
pub struct EngineDriver {
    /// The book.
    pub book: BookWriter,
    report: ExecutionReport,
}

impl Default for EngineDriver {
    fn default() -> Self {
        Self::new()
    }
}

/// The engine command of a workload record.
#[inline]
pub fn command(r: &Record) -> Command {
    let id = r.order_id as u128;
    match r.kind {
        k if k == Kind::New as u8 => {
            let side = if r.side == 0 { Side::Buy } else { Side::Sell };
            let tif = if r.tif == 1 { TimeInForce::Ioc } else { TimeInForce::Gtc };
            Command::New(NewOrder::limit(id, side, r.price, r.quantity, r.timestamp).with_tif(tif))
        }
        k if k == Kind::Cancel as u8 => Command::Cancel { id, timestamp: r.timestamp },
        _ => Command::Modify(Modify {
            id,
            quantity: Some(r.quantity),
            price: Some(r.price),
            timestamp: r.timestamp,
        }),
    }
}

impl EngineDriver {
    /// A driver over a fresh book.
    pub fn new() -> Self {
        EngineDriver { book: new_engine_book(), report: ExecutionReport::default() }
    }

    /// Apply one record and hand every resulting event to `sink`: trades and maker
    /// updates in sequence order, then the command's own report; a reject notice when the
    /// command fails; then [`Sink::end_command`]. Returns whether it was accepted.
    #[inline]
    pub fn apply<S: Sink>(&mut self, r: &Record, sink: &mut S) -> bool {
        // Every kind writes into the one reused report, so the report allocates only when a
        // command needs more room than any before; the book still allocates when a command
        // opens a price level or grows a pool.
        let result = match command(r) {
            Command::New(order) => self.book.submit_into(&order, &mut self.report),
            Command::Cancel { id, timestamp } => self.book.cancel_into(id, timestamp, &mut self.report),
            Command::Modify(m) => self.book.modify_into(&m, &mut self.report),
            other => unreachable!("streams hold new, cancel and modify only: {other:?}"),
        };
        if result.is_ok() {
            emit(&self.report, sink);
        }
        let accepted = match result {
            Ok(()) => true,
            Err(e) => {
                let code = e.code();
                sink.event(OutEvent::Reject(RejectNotice { order_id: r.order_id, kind: r.kind, code }));
                false
            }
        };
        sink.end_command();
        accepted
    }
}

/// Trades and updates merged by sequence number, then the command's report.
#[inline]
fn emit<S: Sink>(rep: &ExecutionReport, sink: &mut S) {
    let (trades, updates) = (&rep.trades, &rep.updates);
    let (mut i, mut j) = (0, 0);
    while i < trades.len() || j < updates.len() {
        let take_trade = j >= updates.len() || (i < trades.len() && trades[i].sequence < updates[j].sequence);
        if take_trade {
            sink.event(OutEvent::Trade(trades[i]));
            i += 1;
        } else {
            sink.event(OutEvent::Update(updates[j]));
            j += 1;
        }
    }
    if let Some(r) = rep.report {
        sink.event(OutEvent::Update(r));
    }
}
