// SPDX-License-Identifier: GPL-2.0

//! The `net_iov` allocator of a binding: a lock-free free stack.
//!
//! Every `net_iov` of a binding has an index. The free ones form a stack
//! threaded through `next` (one `u32` per `net_iov`), whose top and a tag
//! live together in one 64-bit word, `head`. Allocating pops the top,
//! releasing pushes: each is one compare-and-exchange on `head` (retried
//! only when another CPU changed it in between), no lock, no sleeping, no
//! memory allocation, so both run from the page pool's softirq paths as
//! well as from process context. The tag, incremented by every successful
//! pop and push, makes a stale compare-and-exchange fail (the ABA problem:
//! the same top index may come back in between with a different `next`).
//!
//! Last freed is first reused, which keeps recently touched `net_iov`s
//! (and their cache lines) in use.

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use kernel::alloc::KVVec;
use kernel::prelude::*;

/// End of the stack.
const NIL: u32 = u32::MAX;

/// Free `net_iov` indices of one binding, with its counters.
pub(crate) struct FreeStack {
    /// `next[i]`: the index below `i` on the stack while `i` is free.
    next: KVVec<AtomicU32>,
    /// Low 32 bits: the top index (`NIL`: empty); high 32 bits: the tag.
    head: AtomicU64,
    in_use: AtomicU32,
    failures: AtomicU64,
    /// Cleared when the dma-buf is unmapped: nothing is handed out after.
    open: AtomicBool,
}

impl FreeStack {
    /// A stack with indices `0..n` free (`n < u32::MAX`), 0 on top.
    pub(crate) fn new(n: usize) -> Result<Self> {
        if n >= NIL as usize {
            return Err(E2BIG);
        }
        let mut next = KVVec::with_capacity(n, GFP_KERNEL)?;
        for i in 1..=n {
            let below = if i == n { NIL } else { i as u32 };
            next.push(AtomicU32::new(below), GFP_KERNEL)?;
        }
        Ok(Self {
            next,
            head: AtomicU64::new(if n == 0 { NIL.into() } else { 0 }),
            in_use: AtomicU32::new(0),
            failures: AtomicU64::new(0),
            open: AtomicBool::new(true),
        })
    }

    fn tagged(head: u64, top: u32) -> u64 {
        ((head >> 32).wrapping_add(1) << 32) | u64::from(top)
    }

    /// Takes a free index; `None` (counted as a failure) when none is left
    /// or the stack is closed.
    pub(crate) fn alloc(&self) -> Option<usize> {
        if !self.open.load(Ordering::Relaxed) {
            self.failures.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let mut head = self.head.load(Ordering::Acquire);
        loop {
            let top = head as u32;
            let Some(slot) = self.next.get(top as usize) else {
                // `NIL`: empty.
                self.failures.fetch_add(1, Ordering::Relaxed);
                return None;
            };
            // May be stale if another CPU pops `top` meanwhile; then `head`
            // changed (its tag at least) and the exchange fails.
            let below = slot.load(Ordering::Relaxed);
            match self.head.compare_exchange_weak(
                head,
                Self::tagged(head, below),
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    self.in_use.fetch_add(1, Ordering::Relaxed);
                    return Some(top as usize);
                }
                Err(now) => head = now,
            }
        }
    }

    /// Gives index `i` back. The caller makes sure it was allocated and is
    /// given back once (the memory provider abstraction tracks that).
    pub(crate) fn release(&self, i: usize) {
        let Some(slot) = self.next.get(i) else {
            return;
        };
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            slot.store(head as u32, Ordering::Relaxed);
            // Release: a CPU that pops `i` sees the `next` stored above.
            match self.head.compare_exchange_weak(
                head,
                Self::tagged(head, i as u32),
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(now) => head = now,
            }
        }
        self.in_use.fetch_sub(1, Ordering::Relaxed);
    }

    /// Stops handing out indices (releases still work).
    #[cfg_attr(not(CONFIG_NET_DEVMEM_CORE_RUST), allow(dead_code))]
    pub(crate) fn close(&self) {
        self.open.store(false, Ordering::Relaxed);
    }

    /// Number of indices.
    #[cfg_attr(not(CONFIG_NET_DEVMEM_CORE_RUST), allow(dead_code))]
    pub(crate) fn total(&self) -> u32 {
        self.next.len() as u32
    }

    /// Indices allocated and not released.
    pub(crate) fn in_use(&self) -> u32 {
        self.in_use.load(Ordering::Relaxed)
    }

    /// Allocations that found nothing.
    pub(crate) fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }
}
