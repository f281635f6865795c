// SPDX-License-Identifier: GPL-2.0

//! State of built-in code, set once at init and kept for good.
//!
//! Built-in code that C calls into through plain functions (the devmem
//! core's `net_devmem_*` entry points) needs state that those functions
//! find without an argument. [`Global`] is a `static` slot for it: the
//! code's init publishes the state once (pinned on the heap, never freed);
//! until then, and if init failed, readers see `None`.

use crate::alloc::KBox;
use crate::error::{code::EBUSY, Result};
use core::pin::Pin;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicPtr, Ordering};

/// A slot for state that is set once and then lives forever.
///
/// # Invariants
///
/// `ptr` is null or comes from `KBox::into_raw` of a pinned, fully
/// initialised `T` that is never freed nor moved.
///
/// # Examples
///
/// ```
/// use kernel::global::Global;
/// use kernel::sync::{new_mutex, Mutex};
///
/// static STATE: Global<Mutex<u32>> = Global::new();
///
/// // Nothing before init (and this doctest may run more than once).
/// if STATE.get().is_none() {
///     let st = STATE.set(KBox::pin_init(new_mutex!(7), GFP_KERNEL)?)?;
///     assert_eq!(*st.lock(), 7);
/// }
/// *STATE.get().ok_or(EINVAL)?.lock() += 1;
/// assert!(*STATE.get().ok_or(EINVAL)?.lock() >= 8);
/// // A second set is refused; the value offered is dropped.
/// assert_eq!(STATE.set(KBox::pin_init(new_mutex!(0), GFP_KERNEL)?).err(), Some(EBUSY));
/// # Ok::<(), Error>(())
/// ```
pub struct Global<T> {
    ptr: AtomicPtr<T>,
}

// SAFETY: Shared access only hands out `&T`, which needs `T: Sync`; the
// value is dropped by nobody, so it never needs to be sent.
unsafe impl<T: Sync> Sync for Global<T> {}

impl<T: Sync> Global<T> {
    /// An empty slot.
    pub const fn new() -> Self {
        // INVARIANT: null.
        Self {
            ptr: AtomicPtr::new(null_mut()),
        }
    }

    /// Publishes `value`, which is then never freed. `EBUSY` (and `value`
    /// dropped) if the slot was already set.
    pub fn set(&self, value: Pin<KBox<T>>) -> Result<&T> {
        // SAFETY: The box is leaked below and its contents never moved.
        let raw = KBox::into_raw(unsafe { Pin::into_inner_unchecked(value) });
        match self
            .ptr
            .compare_exchange(null_mut(), raw, Ordering::AcqRel, Ordering::Acquire)
        {
            // INVARIANT: `raw` is a leaked, initialised, pinned box.
            // SAFETY: `raw` is valid forever (never freed) and only shared.
            Ok(_) => Ok(unsafe { &*raw }),
            Err(_) => {
                // SAFETY: `raw` was not published: we still own it, and
                // dropping it in place respects the pinning.
                drop(unsafe { Pin::new_unchecked(KBox::from_raw(raw)) });
                Err(EBUSY)
            }
        }
    }

    /// The value, once set.
    pub fn get(&self) -> Option<&T> {
        let p = self.ptr.load(Ordering::Acquire);
        // SAFETY: By the type invariants a non-null `p` is a value that is
        // never freed; `Acquire` pairs with the `AcqRel` of `set`, so its
        // initialisation is visible.
        (!p.is_null()).then(|| unsafe { &*p })
    }
}

impl<T: Sync> Default for Global<T> {
    fn default() -> Self {
        Self::new()
    }
}
