//! Pinning a thread to one core: keeps a book's worker (and its caches) on the core that
//! first touched its memory. Best effort: where the OS refuses, the thread simply runs
//! unpinned and the caller is told.

/// The cores the calling thread may run on, in the order the OS lists them. Read it before
/// pinning anything: threads inherit their parent's affinity.
pub fn allowed_cores() -> Vec<usize> {
    core_affinity::get_core_ids().map(|ids| ids.into_iter().map(|c| c.id).collect()).unwrap_or_default()
}

/// Pin the calling thread to `core` (an id from [`allowed_cores`]). Returns whether the
/// OS accepted it.
pub fn pin_current_thread(core: usize) -> bool {
    core_affinity::set_for_current(core_affinity::CoreId { id: core })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_pinned_thread_runs_only_on_its_core() {
        let allowed = super::allowed_cores();
        let last = *allowed.last().expect("at least one core");
        let seen = std::thread::spawn(move || super::pin_current_thread(last).then(super::allowed_cores))
            .join()
            .unwrap();
        if let Some(seen) = seen {
            assert_eq!(seen, vec![last]);
        }
    }
}
