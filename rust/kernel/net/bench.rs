// SPDX-License-Identifier: GPL-2.0

//! What an in-kernel micro-benchmark needs: the kernel's generic allocator
//! (`gen_pool`, to compare against), a stopwatch, and a way to let other
//! tasks run during a long measurement.
//!
//! C headers: [`include/linux/genalloc.h`](srctree/include/linux/genalloc.h),
//! [`include/linux/sched.h`](srctree/include/linux/sched.h)

use crate::bindings;
use crate::error::{code::*, to_result, Result};
use crate::time::Ktime;
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
