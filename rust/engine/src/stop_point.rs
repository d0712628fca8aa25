//! Test hook: the places where the writer stores something readers may see call
//! [`hit`]. In the crate's own test build a test can make the writer thread stop there
//! (and check that readers keep completing); in every other build `hit` is an empty inline
//! function, so it costs nothing.

#[cfg(all(test, not(loom)))]
mod imp {
    use std::cell::RefCell;

    thread_local! {
        static HOOK: RefCell<Option<Box<dyn FnMut()>>> = const { RefCell::new(None) };
    }

    /// Run `hook` at every store point this thread reaches until [`clear`] is called.
    pub(crate) fn set(hook: impl FnMut() + 'static) {
        HOOK.with(|h| *h.borrow_mut() = Some(Box::new(hook)));
    }

    /// Remove this thread's hook.
    pub(crate) fn clear() {
        HOOK.with(|h| *h.borrow_mut() = None);
    }

    #[inline]
    pub(crate) fn hit() {
        HOOK.with(|h| {
            if let Ok(mut hook) = h.try_borrow_mut() {
                if let Some(f) = hook.as_mut() {
                    f();
                }
            }
        });
    }
}

#[cfg(all(test, not(loom)))]
pub(crate) use imp::{clear, hit, set};

/// No hook outside the crate's tests.
#[cfg(not(all(test, not(loom))))]
#[inline(always)]
pub(crate) fn hit() {}
