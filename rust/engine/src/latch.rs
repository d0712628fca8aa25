//! A few words one writer publishes and any number of readers copy without ever waiting:
//! two copies and a sequence counter (the "latch" form of a sequence lock, as in Linux's
//! `raw_write_seqcount_latch`).
//!
//! The writer bumps the counter before it rewrites each copy, so at every instant one copy
//! is stable and the counter's low bit names it. Guarantees, per operation:
//! - [`Latch::publish`] (writer): wait-free, a fixed number of stores; it never looks at
//!   readers.
//! - [`Latch::read`] (reader): lock-free. It retries only when the writer started another
//!   publish during the copy, so every retry means the writer made progress; a writer
//!   stopped anywhere (even between two stores) leaves a stable copy that the next attempt
//!   reads. A reader can be starved only by a writer that publishes this latch continuously.
//!
//! There is deliberately no single-word read: reading one word from "the stable copy" is
//! wait-free but not monotonic (during a publish a reader can see the new value, then the old
//! one from the other copy). A value that must be read alone goes in its own atomic.

use crate::primitive::sync::atomic::{fence, AtomicU64, Ordering};

/// `N` words behind a double-buffered sequence counter. One writer, many readers.
pub(crate) struct Latch<const N: usize> {
    /// Even: readers use copy 0; odd: copy 1. The writer rewrites the other copy.
    seq: AtomicU64,
    copies: [[AtomicU64; N]; 2],
}

impl<const N: usize> Latch<N> {
    pub(crate) fn new(initial: [u64; N]) -> Self {
        Latch { seq: AtomicU64::new(0), copies: [initial.map(AtomicU64::new), initial.map(AtomicU64::new)] }
    }

    /// Writer only: the words as last published (the writer's own stores, so either copy).
    #[inline]
    pub(crate) fn current(&self) -> [u64; N] {
        core::array::from_fn(|i| self.copies[1][i].load(Ordering::Relaxed))
    }

    /// Writer only: one word as last published.
    #[inline]
    pub(crate) fn current_word(&self, i: usize) -> u64 {
        self.copies[1][i].load(Ordering::Relaxed)
    }

    /// Writer only: make `values` the latch's content. Wait-free.
    #[inline]
    pub(crate) fn publish(&self, values: &[u64; N]) {
        self.publish_with(|copy| {
            for (word, &v) in copy.iter().zip(values) {
                crate::stop_point::hit();
                word.store(v, Ordering::Relaxed);
            }
        });
    }

    /// Writer only: rewrite each copy in turn with `write`, pointing readers at the other
    /// copy meanwhile. Wait-free. `write` may store only the words that change: both copies
    /// hold the same content between publishes, so each needs the same stores.
    #[inline(always)]
    pub(crate) fn publish_with(&self, write: impl Fn(&[AtomicU64; N])) {
        let s = self.seq.load(Ordering::Relaxed);
        for (half, copy) in self.copies.iter().enumerate() {
            // Point readers at the other copy, then rewrite this one. The fence orders the
            // counter store before the data stores for any reader that sees one of them.
            let counter = crate::primitive::mutant::ordering("latch-seq-relaxed", Ordering::Release);
            self.seq.store(s.wrapping_add(half as u64 + 1), counter);
            if !crate::primitive::mutant::active("latch-writer-no-fence") {
                fence(Ordering::Release);
            }
            write(copy);
        }
    }

    /// Any thread: all words as one publish left them. Lock-free (see the module comment).
    #[inline]
    pub(crate) fn read(&self) -> [u64; N] {
        loop {
            let s1 = self.seq.load(Ordering::Acquire);
            let copy = &self.copies[(s1 & 1) as usize];
            let values: [u64; N] = core::array::from_fn(|i| copy[i].load(Ordering::Relaxed));
            if !crate::primitive::mutant::active("latch-reader-no-fence") {
                fence(Ordering::Acquire);
            }
            if self.seq.load(Ordering::Relaxed) == s1 {
                return values;
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_reader_sees_the_last_publish_whole() {
        let latch = Latch::new([1, 2, 3]);
        assert_eq!(latch.read(), [1, 2, 3]);
        latch.publish(&[4, 5, 6]);
        assert_eq!(latch.read(), [4, 5, 6]);
        assert_eq!(latch.current(), [4, 5, 6]);
        latch.publish_with(|copy| {
            copy[0].store(7, Ordering::Relaxed);
            copy[2].store(9, Ordering::Relaxed);
        });
        assert_eq!(latch.read(), [7, 5, 9]);
        assert_eq!(latch.current_word(0), 7);
        assert_eq!(latch.current(), [7, 5, 9]);
    }

    #[test]
    fn concurrent_readers_never_see_a_mixed_copy() {
        let latch = std::sync::Arc::new(Latch::new([0, 0, 0]));
        let n = if cfg!(miri) { 200 } else { 200_000 };
        let reader = {
            let latch = latch.clone();
            std::thread::spawn(move || {
                let mut last = 0;
                for _ in 0..n {
                    let [a, b, c] = latch.read();
                    assert!(a == b && b == c, "torn copy {a} {b} {c}");
                    assert!(a >= last, "went back from {last} to {a}");
                    last = a;
                }
            })
        };
        for v in 1..=n as u64 {
            latch.publish(&[v, v, v]);
        }
        reader.join().unwrap();
    }
}

/// Loom model: a reader racing one or two publishes always gets a whole copy, and weakening
/// the publish orderings makes this model fail.
#[cfg(all(test, loom))]
mod loom_model {
    use loom::sync::Arc;
    use loom::thread;

    use super::*;

    #[test]
    fn loom_latch_reader_gets_a_whole_copy_while_the_writer_publishes() {
        loom::model(|| {
            let latch = Arc::new(Latch::new([0, 0]));
            let reader = {
                let latch = latch.clone();
                thread::spawn(move || {
                    let [a, b] = latch.read();
                    assert_eq!(a, b, "torn copy");
                    let [c, _] = latch.read();
                    assert!(c >= a, "went back from {a} to {c}");
                })
            };
            latch.publish(&[1, 1]);
            latch.publish(&[2, 2]);
            reader.join().unwrap();
        });
    }
}
