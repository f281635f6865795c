// SPDX-License-Identifier: GPL-2.0

//! `alloc-bench`: our `net_iov` allocator against `gen_pool`, the way
//! 6.12's C core uses it (one `PAGE_SIZE` unit per `net_iov`, the owner
//! looked up on allocation, `gen_pool_has_addr()` checked on release).
//!
//! Each round allocates `batch` `net_iov`s in a row and releases them all,
//! as a NAPI poll refills its ring and the stack later returns the
//! buffers. The guest's clock may tick in jiffies only (QEMU TCG), so
//! each allocator runs for at least the time asked, in whole rounds.

use crate::freestack::FreeStack;
use kernel::net::bench::{cond_resched, GenPool, Stopwatch};
use kernel::page::{PAGE_SHIFT, PAGE_SIZE};
use kernel::prelude::*;

/// Allocate+release pairs done and nanoseconds taken, per allocator.
pub(crate) struct Result2 {
    pub(crate) ops: u64,
    pub(crate) nsecs: u64,
    pub(crate) genpool_ops: u64,
    pub(crate) genpool_nsecs: u64,
}

/// Rounds between clock reads and reschedules.
const ROUNDS_PER_CHECK: u32 = 16;

pub(crate) fn run(niovs: u32, batch: u32, msecs: u32) -> Result<Result2> {
    if batch > niovs {
        return Err(EINVAL);
    }
    let want = u64::from(msecs) * 1_000_000;
    let mut idx = KVec::from_elem(0usize, batch as usize, GFP_KERNEL)?;

    let stack = FreeStack::new(niovs as usize)?;
    let (mut ops, sw) = (0u64, Stopwatch::start());
    let nsecs = loop {
        for _ in 0..ROUNDS_PER_CHECK {
            for slot in idx.iter_mut() {
                *slot = stack.alloc().ok_or(ENOMEM)?;
            }
            for &i in idx.iter().rev() {
                stack.release(i);
            }
            ops += u64::from(batch);
        }
        let t = sw.elapsed_ns();
        if t >= want {
            break t;
        }
        cond_resched();
    };
    if stack.in_use() != 0 || stack.failures() != 0 {
        return Err(EIO);
    }

    let pool = GenPool::new(PAGE_SHIFT as u32)?;
    // Addresses as a dma-buf's DMA addresses would be (never dereferenced).
    pool.add(1 << 32, niovs as usize * PAGE_SIZE)?;
    let mut chunks = KVec::with_capacity(batch as usize, GFP_KERNEL)?;
    for _ in 0..batch {
        chunks.push(None, GFP_KERNEL)?;
    }
    let (mut genpool_ops, sw) = (0u64, Stopwatch::start());
    let genpool_nsecs = loop {
        for _ in 0..ROUNDS_PER_CHECK {
            for slot in chunks.iter_mut() {
                *slot = Some(pool.alloc(PAGE_SIZE).ok_or(ENOMEM)?);
            }
            for slot in chunks.iter_mut().rev() {
                drop(slot.take());
            }
            genpool_ops += u64::from(batch);
        }
        let t = sw.elapsed_ns();
        if t >= want {
            break t;
        }
        cond_resched();
    };
    Ok(Result2 {
        ops,
        nsecs,
        genpool_ops,
        genpool_nsecs,
    })
}
