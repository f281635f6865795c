// SPDX-License-Identifier: GPL-2.0

//! An XArray that hands out ids: `xa_alloc_cyclic` over owned entries.
//!
//! C header: [`include/linux/xarray.h`](srctree/include/linux/xarray.h)
//!
//! [`XArray`] maps `u32` ids, allocated cyclically from 1, to values that
//! the array owns (anything [`ForeignOwnable`], typically an `Arc`). It
//! keeps its own lock (the XArray's spinlock): every method may be called
//! concurrently from any process context. Entries are reached only inside
//! closures that run under that lock, so an entry cannot be removed (and
//! dropped) while it is being looked at; such a closure must not sleep.
//! It usually clones an `Arc` out.

use crate::alloc::Flags;
use crate::bindings;
use crate::error::{to_result, Result};
use crate::prelude::*;
use crate::types::{ForeignOwnable, Opaque};
use core::marker::PhantomData;

/// An XArray allocating ids `1..=u32::MAX` cyclically, owning its entries.
///
/// # Invariants
///
/// `xa` is an initialised `struct xarray` with `XA_FLAGS_ALLOC1`; every
/// entry in it came from `T::into_foreign` and is owned by the array.
/// `next` is only accessed by the C side with the array's lock held.
///
/// # Examples
///
/// ```
/// use kernel::xarray::XArray;
/// use kernel::sync::Arc;
///
/// let xa = KBox::pin_init(XArray::<Arc<u64>>::new(), GFP_KERNEL)?;
/// let a = xa.alloc_cyclic(Arc::new(10, GFP_KERNEL)?, GFP_KERNEL)?;
/// let b = xa.alloc_cyclic(Arc::new(20, GFP_KERNEL)?, GFP_KERNEL)?;
/// assert_eq!((a, b), (1, 2));
///
/// // Entries are read under the lock; an `Arc` is cloned out.
/// let v: Option<Arc<u64>> = xa.get_with(b, |e| e.into());
/// assert_eq!(v.as_deref(), Some(&20));
/// assert!(xa.get_with(3, |_| ()).is_none());
///
/// // Cyclic: a removed id is not handed out again at once.
/// assert_eq!(xa.remove(a).as_deref(), Some(&10));
/// assert!(xa.remove(a).is_none());
/// let c = xa.alloc_cyclic(Arc::new(30, GFP_KERNEL)?, GFP_KERNEL)?;
/// assert_eq!(c, 3);
///
/// // Walk the entries in id order.
/// let mut seen = KVec::new();
/// let mut next = 0;
/// while let Some((id, v)) = xa.find_with(next, |id, e| (id, *e)) {
///     seen.push((id, v), GFP_KERNEL)?;
///     next = id + 1;
/// }
/// assert_eq!(&seen[..], &[(2, 20), (3, 30)]);
/// drop(v);
/// // Dropping the array drops the entries left.
/// drop(xa);
/// # Ok::<(), Error>(())
/// ```
#[pin_data(PinnedDrop)]
pub struct XArray<T: ForeignOwnable> {
    #[pin]
    xa: Opaque<bindings::xarray>,
    next: Opaque<u32>,
    _t: PhantomData<T>,
}

// SAFETY: The array owns its `T`s and gives them to whichever thread
// removes them: `T: Send` suffices to send the array.
unsafe impl<T: ForeignOwnable + Send> Send for XArray<T> {}
// SAFETY: All access to entries is serialised by the XArray's lock; shared
// access hands out `T::Borrowed` to one thread at a time, which needs
// `T: Sync` (it may be read from any thread) and `T: Send` (any thread may
// remove and drop it).
unsafe impl<T: ForeignOwnable + Send + Sync> Sync for XArray<T> {}

/// Holds the XArray's lock; unlocks on drop.
struct Locked<'a, T: ForeignOwnable>(&'a XArray<T>);

impl<T: ForeignOwnable> Drop for Locked<'_, T> {
    fn drop(&mut self) {
        // SAFETY: Locked by `XArray::lock`.
        unsafe { bindings::xa_unlock(self.0.xa.get()) };
    }
}

impl<T: ForeignOwnable> XArray<T> {
    /// An empty array.
    pub fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `xa_init_flags` initialises the whole `xarray`.
            xa <- Opaque::ffi_init(|xa| unsafe { bindings::net_ext_xa_init_alloc1(xa) }),
            next: Opaque::new(1),
            _t: PhantomData,
        })
    }

    fn lock(&self) -> Locked<'_, T> {
        // SAFETY: `xa` is initialised (type invariants).
        unsafe { bindings::xa_lock(self.xa.get()) };
        Locked(self)
    }

    /// Stores `value` under a free id, searching cyclically from after the
    /// last id handed out, and returns the id. `EBUSY` when every id is
    /// taken, `ENOMEM`; `value` is dropped on failure.
    pub fn alloc_cyclic(&self, value: T, flags: Flags) -> Result<u32> {
        let entry = value.into_foreign();
        let mut id = 0u32;
        let ret = {
            let _lock = self.lock();
            // SAFETY: `xa` is initialised and locked; `next` is only
            // accessed under the lock; `entry` is a `T::into_foreign`
            // pointer (aligned, so not an internal XArray entry). With a
            // sleeping `flags`, the call may drop and retake the lock.
            unsafe {
                bindings::net_ext_xa_alloc_cyclic_locked(
                    self.xa.get(),
                    &mut id,
                    entry.cast_mut(),
                    self.next.get(),
                    flags.as_raw(),
                )
            }
        };
        if let Err(e) = to_result(ret) {
            // SAFETY: Not stored: ownership is still ours.
            drop(unsafe { T::from_foreign(entry) });
            return Err(e);
        }
        // INVARIANT: `entry` is now owned by the array. A return of 1 means
        // the search wrapped around, which is still a success.
        Ok(id)
    }

    /// Removes the entry of `id` and returns it.
    pub fn remove(&self, id: u32) -> Option<T> {
        // SAFETY: `xa` is initialised; `xa_erase` takes the lock.
        let entry = unsafe { bindings::xa_erase(self.xa.get(), id as usize) };
        if entry.is_null() {
            return None;
        }
        // SAFETY: By the type invariants a non-null entry came from
        // `T::into_foreign`; erasing it gave its ownership back to us, and
        // no borrow of it survives the closures that run under the lock.
        Some(unsafe { T::from_foreign(entry) })
    }

    /// Runs `f` on the entry of `id` under the lock (so `f` must not
    /// sleep); `None` if there is no such entry.
    pub fn get_with<R>(&self, id: u32, f: impl FnOnce(T::Borrowed<'_>) -> R) -> Option<R> {
        let _lock = self.lock();
        // SAFETY: `xa` is initialised; `xa_load` is fine under the lock.
        let entry = unsafe { bindings::xa_load(self.xa.get(), id as usize) };
        if entry.is_null() {
            return None;
        }
        // SAFETY: The entry came from `T::into_foreign` (type invariants)
        // and cannot be removed while we hold the lock; the borrow does not
        // outlive the closure.
        Some(f(unsafe { T::borrow(entry) }))
    }

    /// Runs `f` on the first entry with an id of at least `start`, under
    /// the lock (so `f` must not sleep), with its id; `None` if there is
    /// none. Walks the array when called again with the id plus one.
    pub fn find_with<R>(&self, start: u32, f: impl FnOnce(u32, T::Borrowed<'_>) -> R) -> Option<R> {
        let mut index = start as usize;
        let _lock = self.lock();
        let entry = self.find_raw(&mut index);
        if entry.is_null() {
            return None;
        }
        // SAFETY: As in `get_with`.
        Some(f(index as u32, unsafe { T::borrow(entry) }))
    }

    /// The first entry with an index of at least `*index` (moved there),
    /// or null.
    fn find_raw(&self, index: &mut usize) -> *mut core::ffi::c_void {
        // SAFETY: `xa` is initialised (type invariants); `xa_find` takes
        // the RCU read lock itself; `index` is a valid in-out argument.
        unsafe {
            bindings::xa_find(
                self.xa.get(),
                index,
                u32::MAX as usize,
                bindings::XA_PRESENT,
            )
        }
    }
}

#[pinned_drop]
impl<T: ForeignOwnable> PinnedDrop for XArray<T> {
    fn drop(self: Pin<&mut Self>) {
        let mut index: usize = 0;
        while !self.find_raw(&mut index).is_null() {
            drop(self.remove(index as u32));
        }
        // SAFETY: `xa` is initialised and empty; frees its nodes.
        unsafe { bindings::xa_destroy(self.xa.get()) };
    }
}
