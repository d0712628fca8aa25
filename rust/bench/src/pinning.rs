//! Optional thread pinning for the two-thread benches: the engine thread on the first
//! allowed core, the consumer on the second. On a 2-vCPU VM, unpinned threads migrate and
//! share a core now and then, which shows up as run-to-run spread rather than as cost.

use std::sync::OnceLock;

use serde::Serialize;

/// Where the bench threads go; set once by [`init`] before any thread is pinned.
static PLAN: OnceLock<PinPlan> = OnceLock::new();

/// The pinning used for a run (recorded in the JSON).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PinPlan {
    /// Whether pinning was asked for.
    pub enabled: bool,
    /// Core of the engine (producer) thread.
    pub engine_core: Option<usize>,
    /// Core of the consumer thread.
    pub consumer_core: Option<usize>,
}

/// Decide the plan from the cores this process may use. Call it first thing in `main`,
/// before any thread is pinned (threads inherit affinity). Without a call, nothing is pinned.
pub fn init(enabled: bool) -> PinPlan {
    PLAN.get_or_init(|| {
        let cores = lft_engine::affinity::allowed_cores();
        let usable = enabled && cores.len() >= 2;
        PinPlan {
            enabled: usable,
            engine_core: usable.then(|| cores[0]),
            consumer_core: usable.then(|| cores[1]),
        }
    })
    .clone()
}

/// The plan in force (all `None` when [`init`] was not called or pinning is off).
pub fn plan() -> PinPlan {
    PLAN.get().cloned().unwrap_or_default()
}

/// Run `work` on a fresh thread pinned as the engine thread (if the plan says so), so the
/// calling thread keeps its affinity for whatever runs next (the scaling bench needs every
/// core).
pub fn on_engine_thread<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|s| {
        s.spawn(|| {
            if let Some(core) = plan().engine_core {
                lft_engine::affinity::pin_current_thread(core);
            }
            // Register this thread with the epoch collector before the clock starts (the
            // first pin allocates its per-thread state; the book pins when it retires a level).
            drop(crossbeam_epoch::pin());
            work()
        })
        .join()
        .expect("engine thread panicked")
    })
}

/// Pin the calling thread as the consumer thread, if the plan says so.
pub fn pin_consumer_thread() {
    if let Some(core) = plan().consumer_core {
        lft_engine::affinity::pin_current_thread(core);
    }
}
