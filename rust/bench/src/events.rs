//! What the engine thread hands downstream, and where it goes.

use lft_engine::{OrderUpdate, Trade};

use crate::spsc::{channel, Consumer, Producer};

/// A command the book refused (unknown id on cancel/modify, duplicate id, invalid order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RejectNotice {
    /// Id named by the command.
    pub order_id: u64,
    /// Record kind (0 new, 1 cancel, 2 modify).
    pub kind: u8,
    /// 1 invalid order, 2 duplicate id, 3 not resting, 4 other.
    pub code: u8,
}

/// One event on the engine's output stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutEvent {
    /// An execution.
    Trade(Trade),
    /// An order's state change (a maker touched, or the command's own order).
    Update(OrderUpdate),
    /// A command that failed.
    Reject(RejectNotice),
}

/// Where a replay puts its events.
pub trait Sink {
    /// Take one event.
    fn event(&mut self, e: OutEvent);
    /// The current command's events are complete (a queue makes them visible now).
    #[inline]
    fn end_command(&mut self) {}
}

/// Counts and sums events in place (the "no consumer thread" reference).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventTally {
    /// All events.
    pub events: u64,
    /// Trades.
    pub trades: u64,
    /// Order updates (reports included).
    pub updates: u64,
    /// Reject notices.
    pub rejects: u64,
    /// Sum of traded lots.
    pub traded_lots: i64,
    /// Order-independent checksum of the events' sequence numbers and ids.
    pub checksum: u64,
}

impl EventTally {
    /// Account for one event.
    #[inline]
    pub fn add(&mut self, e: &OutEvent) {
        self.events += 1;
        match e {
            OutEvent::Trade(t) => {
                self.trades += 1;
                self.traded_lots += t.quantity;
                self.checksum = self.checksum.wrapping_add(t.sequence ^ t.maker_order_id as u64);
            }
            OutEvent::Update(u) => {
                self.updates += 1;
                self.checksum = self.checksum.wrapping_add(u.sequence ^ ((u.status as u64) << 56));
            }
            OutEvent::Reject(r) => {
                self.rejects += 1;
                self.checksum = self.checksum.wrapping_add(r.order_id);
            }
        }
    }
}

impl Sink for EventTally {
    #[inline]
    fn event(&mut self, e: OutEvent) {
        self.add(&e);
    }
}

/// Pushes every event onto the SPSC ring (spinning while it is full) and publishes them
/// at the end of each command.
pub struct QueueSink {
    /// The ring's sending half.
    pub producer: Producer<OutEvent>,
    /// Events pushed.
    pub sent: u64,
}

impl Sink for QueueSink {
    #[inline]
    fn event(&mut self, e: OutEvent) {
        self.sent += 1;
        self.producer.push(e);
    }
    #[inline]
    fn end_command(&mut self) {
        self.producer.flush();
    }
}

/// The consumer thread's body: drain until the producer closes, tallying everything.
pub fn consume(mut consumer: Consumer<OutEvent>) -> EventTally {
    let mut tally = EventTally::default();
    consumer.run(|e| tally.add(&e));
    tally
}

/// Run `produce` on this thread with a [`QueueSink`] over a fresh ring of `queue_capacity`
/// events, while a consumer thread (pinned as the consumer, see [`crate::pinning`]) tallies
/// every event. Once `produce` returns, the ring is closed and the consumer drained and
/// joined; returns what `produce` returned, the events it pushed, and the consumer's tally.
pub fn with_consumer_thread<R>(
    queue_capacity: usize,
    produce: impl FnOnce(&mut QueueSink) -> R,
) -> (R, u64, EventTally) {
    let (producer, consumer) = channel(queue_capacity);
    let consumer_running = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let joiner = s.spawn(|| {
            crate::pinning::pin_consumer_thread();
            consumer_running.store(true, std::sync::atomic::Ordering::Release);
            consume(consumer)
        });
        // Produce only once the consumer runs on its own core: started at once, the producer
        // filled the ring before the consumer's thread was up, and the command that met the
        // full ring (the ring's capacity in events into the stream) waited 50-100 µs for it,
        // which the latency trace then blamed on that command.
        while !consumer_running.load(std::sync::atomic::Ordering::Acquire) {
            if joiner.is_finished() {
                // It ended without starting to consume: it panicked (report it, never wait).
                let _ = joiner.join().map_err(std::panic::resume_unwind);
                unreachable!("the consumer thread returned before it consumed");
            }
            std::thread::yield_now();
        }
        let mut sink = QueueSink { producer, sent: 0 };
        let out = produce(&mut sink);
        let sent = sink.sent;
        drop(sink); // closes the ring
        (out, sent, joiner.join().expect("consumer thread panicked"))
    })
}
