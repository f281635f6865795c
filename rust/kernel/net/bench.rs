// SPDX-License-Identifier: GPL-2.0

//! What an in-kernel micro-benchmark needs: the kernel's generic allocator
//! (`gen_pool`) and 6.12's xarray token store ([`XaTokens`]) to compare
//! against, a stopwatch, and a way to let other tasks run during a long
//! measurement.
//!
//! C headers: [`include/linux/genalloc.h`](srctree/include/linux/genalloc.h),
//! [`include/linux/sched.h`](srctree/include/linux/sched.h)

use crate::bindings;
use crate::error::{code::*, to_result, Result};
use crate::prelude::*;
use crate::time::Ktime;
use crate::types::Opaque;
use core::pin::Pin;
use core::ptr::NonNull;

/// A `gen_pool` managing an address range in units of `1 << order` bytes.
///
/// # Invariants
///
/// `pool` was made by `gen_pool_create` and is destroyed by `drop`; every
/// allocation from it is a live [`GenChunk`] borrowing it, so none is left
/// when it is destroyed.
///
/// # Examples
///
/// ```
/// use kernel::net::bench::GenPool;
///
/// let pool = GenPool::new(12)?;
/// pool.add(0x10_0000, 4 << 12)?;
/// let a = pool.alloc(4096).ok_or(ENOMEM)?;
/// let b = pool.alloc(4096).ok_or(ENOMEM)?;
/// assert_ne!(a.addr(), b.addr());
/// assert!(a.addr() >= 0x10_0000 && a.addr() < 0x10_0000 + (4 << 12));
/// let rest = (pool.alloc(4096).ok_or(ENOMEM)?, pool.alloc(4096).ok_or(ENOMEM)?);
/// assert!(pool.alloc(4096).is_none());
/// drop(rest);
/// assert_eq!(pool.avail(), 2 << 12);
/// drop((a, b));
/// assert_eq!(pool.avail(), pool.size());
/// assert_eq!(pool.add(0x20_0000, 0).err(), Some(EINVAL));
/// # Ok::<(), Error>(())
/// ```
pub struct GenPool {
    pool: NonNull<bindings::gen_pool>,
}

// SAFETY: gen_pool is safe to use from any context and thread (its
// allocations are lock-free, adding chunks takes its own lock).
unsafe impl Send for GenPool {}
// SAFETY: As above.
unsafe impl Sync for GenPool {}

impl GenPool {
    /// An empty pool with allocation units of `1 << order` bytes.
    pub fn new(order: u32) -> Result<Self> {
        if order >= usize::BITS {
            return Err(EINVAL);
        }
        // SAFETY: FFI call.
        let pool = unsafe { bindings::gen_pool_create(order as i32, bindings::NUMA_NO_NODE) };
        // INVARIANT: created above.
        Ok(Self {
            pool: NonNull::new(pool).ok_or(ENOMEM)?,
        })
    }

    /// Adds `size` bytes at `addr` (any numbers: the pool never
    /// dereferences them).
    pub fn add(&self, addr: usize, size: usize) -> Result {
        if size == 0 || addr.checked_add(size).is_none() {
            return Err(EINVAL);
        }
        // SAFETY: The pool is valid (type invariants).
        to_result(unsafe {
            bindings::gen_pool_add_owner(
                self.pool.as_ptr(),
                addr as _,
                addr as _,
                size,
                bindings::NUMA_NO_NODE,
                core::ptr::null_mut(),
            )
        })
    }

    /// Allocates `size` bytes; `None` when no range is free. The chunk is
    /// freed when dropped.
    pub fn alloc(&self, size: usize) -> Option<GenChunk<'_>> {
        if size == 0 {
            return None;
        }
        let mut owner = core::ptr::null_mut();
        // SAFETY: The pool is valid; `owner` is a valid out pointer.
        let addr = unsafe { bindings::gen_pool_alloc_owner(self.pool.as_ptr(), size, &mut owner) };
        // INVARIANT: allocated above with this size.
        (addr != 0).then_some(GenChunk {
            pool: self,
            addr: addr as usize,
            size,
        })
    }

    /// Bytes free.
    pub fn avail(&self) -> usize {
        // SAFETY: The pool is valid.
        unsafe { bindings::gen_pool_avail(self.pool.as_ptr()) }
    }

    /// Bytes managed.
    pub fn size(&self) -> usize {
        // SAFETY: The pool is valid.
        unsafe { bindings::gen_pool_size(self.pool.as_ptr()) }
    }
}

impl Drop for GenPool {
    fn drop(&mut self) {
        // SAFETY: No allocation is left (type invariants: chunks borrow the
        // pool).
        unsafe { bindings::gen_pool_destroy(self.pool.as_ptr()) };
    }
}

/// An allocation from a [`GenPool`], freed on drop.
///
/// # Invariants
///
/// `size` bytes at `addr` are allocated from `pool` for this object.
pub struct GenChunk<'a> {
    pool: &'a GenPool,
    addr: usize,
    size: usize,
}

impl GenChunk<'_> {
    /// Its address.
    pub fn addr(&self) -> usize {
        self.addr
    }
}

impl Drop for GenChunk<'_> {
    fn drop(&mut self) {
        let pool = self.pool.pool.as_ptr();
        // What 6.12's C devmem core does before each free.
        // SAFETY: The pool is valid.
        if unsafe { bindings::gen_pool_has_addr(pool, self.addr as _, self.size) } {
            // SAFETY: Allocated by us with this size (type invariants).
            unsafe {
                bindings::gen_pool_free_owner(
                    pool,
                    self.addr as _,
                    self.size,
                    core::ptr::null_mut(),
                )
            };
        }
    }
}

/// Lets other tasks run if this one should yield (`cond_resched()`); for
/// long loops in process context.
pub fn cond_resched() {
    // SAFETY: FFI call; only called from process context, where sleeping
    // is allowed (a debug kernel checks).
    unsafe { bindings::cond_resched() };
}

/// A stopwatch over the monotonic clock.
#[derive(Clone, Copy)]
pub struct Stopwatch(Ktime);

impl Stopwatch {
    /// Starts it.
    pub fn start() -> Self {
        Self(Ktime::ktime_get())
    }

    /// Nanoseconds since the start.
    pub fn elapsed_ns(&self) -> u64 {
        (Ktime::ktime_get() - self.0).to_ns().max(0) as u64
    }
}

/// 6.12's socket token store, for comparison: an xarray
/// (`XA_FLAGS_ALLOC1`) driven as `tcp.c` drives `sk->sk_user_frags` on a
/// devmem read (`__xa_alloc()` of `XA_ZERO_ENTRY` placeholders, then
/// `__xa_cmpxchg()` of the frags, under `xa_lock_bh()`) and as `sock.c`
/// drives it for `SO_DEVMEM_DONTNEED` (`__xa_erase()` per token, the lock
/// dropped every 16 frags to give them back).
///
/// The entries are odd numbers, as the netmem references of `net_iov`s
/// are, and are never dereferenced: this measures the store alone.
///
/// # Invariants
///
/// `xa` is an initialised `struct xarray` with `XA_FLAGS_ALLOC1` whose
/// entries are odd numbers or `XA_ZERO_ENTRY`.
///
/// # Examples
///
/// ```
/// use kernel::net::bench::XaTokens;
///
/// let xa = KBox::pin_init(XaTokens::new(), GFP_KERNEL)?;
/// let mut ids = [0u32; 4];
/// // A read reserves tokens for 4 frags and gives 3 of them.
/// assert_eq!(xa.refill(&mut ids, &[], 0, 4)?, 4);
/// assert_eq!(ids, [1, 2, 3, 4]);
/// xa.commit(&ids, &[11, 13, 15], 4);
/// // Token 4 was given back unused: it is the next one handed out.
/// assert_eq!(xa.refill(&mut ids, &[], 0, 1)?, 1);
/// assert_eq!(ids[0], 4);
/// xa.commit(&ids, &[], 1);
/// assert_eq!(xa.dontneed(&[(2, 5)]), 2); // 2 and 3 held, 4..6 not
/// assert_eq!(xa.dontneed(&[(1, 1), (1, 1)]), 1);
/// # Ok::<(), Error>(())
/// ```
#[pin_data(PinnedDrop)]
pub struct XaTokens {
    #[pin]
    xa: Opaque<bindings::xarray>,
}

// SAFETY: The xarray has its own lock; entries are plain numbers.
unsafe impl Send for XaTokens {}
// SAFETY: As above.
unsafe impl Sync for XaTokens {}

impl XaTokens {
    /// An empty store.
    pub fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `xa_init_flags` initialises the whole `xarray`.
            xa <- Opaque::ffi_init(|xa| unsafe { bindings::net_ext_xa_init_alloc1(xa) }),
        })
    }

    /// Commits `values` under `ids[..values.len()]` and erases the rest of
    /// `ids[..max]`; the lock is held.
    fn commit_locked(&self, ids: &[u32], values: &[usize], max: usize) {
        for (i, &id) in ids[..max].iter().enumerate() {
            // SAFETY: `xa` is initialised and locked; the entries stored
            // are odd numbers (type invariants).
            unsafe {
                match values.get(i) {
                    Some(&v) => {
                        bindings::net_ext_xa_commit_zero(
                            self.xa.get(),
                            id as _,
                            (v | 1) as *mut core::ffi::c_void,
                            bindings::GFP_KERNEL,
                        );
                    }
                    None => {
                        bindings::__xa_erase(self.xa.get(), id as _);
                    }
                }
            }
        }
    }

    /// `tcp_xa_pool_refill()`: commits the previous batch (`prev` under
    /// `ids[..prev_max]`, see [`XaTokens::commit`]) and reserves up to
    /// `want` new tokens into `ids`; returns how many (`EINVAL` if `ids`
    /// is shorter than `want` or `prev_max`).
    pub fn refill(
        &self,
        ids: &mut [u32],
        prev: &[usize],
        prev_max: usize,
        want: usize,
    ) -> Result<usize> {
        if want > ids.len() || prev_max > ids.len() || prev.len() > prev_max {
            return Err(EINVAL);
        }
        // SAFETY: `xa` is initialised (type invariants).
        unsafe { bindings::xa_lock_bh(self.xa.get()) };
        self.commit_locked(ids, prev, prev_max);
        let mut n = 0;
        let mut err = 0;
        while n < want {
            // SAFETY: As above, locked; reserves an entry with a
            // placeholder (may drop and retake the lock to allocate).
            err = unsafe {
                bindings::net_ext_xa_alloc_zero_31b(
                    self.xa.get(),
                    &mut ids[n],
                    bindings::GFP_KERNEL,
                )
            };
            if err != 0 {
                break;
            }
            n += 1;
        }
        // SAFETY: Locked above.
        unsafe { bindings::xa_unlock_bh(self.xa.get()) };
        if n == 0 && want > 0 {
            to_result(err)?;
        }
        Ok(n)
    }

    /// `tcp_xa_pool_commit()`: `values[i]` goes under `ids[i]`, the other
    /// tokens of `ids[..max]` are erased.
    pub fn commit(&self, ids: &[u32], values: &[usize], max: usize) {
        if max == 0 || max > ids.len() || values.len() > max {
            return;
        }
        // SAFETY: `xa` is initialised (type invariants).
        unsafe { bindings::xa_lock_bh(self.xa.get()) };
        self.commit_locked(ids, values, max);
        // SAFETY: Locked above.
        unsafe { bindings::xa_unlock_bh(self.xa.get()) };
    }

    /// `sock_devmem_dontneed()` for the ranges `(start, count)`: erases
    /// the tokens, at most 1024, dropping the lock every 16 frags found;
    /// returns how many were found.
    pub fn dontneed(&self, ranges: &[(u32, u32)]) -> u32 {
        let (mut found, mut batch, mut tried) = (0u32, 0u32, 0u32);
        let xa = self.xa.get();
        // SAFETY: `xa` is initialised (type invariants).
        unsafe { bindings::xa_lock_bh(xa) };
        'all: for &(start, count) in ranges {
            for j in 0..count {
                tried += 1;
                if tried > 1024 {
                    break 'all;
                }
                // SAFETY: Locked.
                let e = unsafe { bindings::__xa_erase(xa, start.wrapping_add(j) as _) };
                if e.is_null() {
                    continue;
                }
                found += 1;
                batch += 1;
                if batch == 16 {
                    batch = 0;
                    // SAFETY: Locked; 6.12 gives the frags back unlocked.
                    unsafe {
                        bindings::xa_unlock_bh(xa);
                        bindings::xa_lock_bh(xa);
                    }
                }
            }
        }
        // SAFETY: Locked above.
        unsafe { bindings::xa_unlock_bh(xa) };
        found
    }
}

#[pinned_drop]
impl PinnedDrop for XaTokens {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: `xa` is initialised; its entries are numbers, nothing to
        // free but the nodes.
        unsafe { bindings::xa_destroy(self.xa.get()) };
    }
}
