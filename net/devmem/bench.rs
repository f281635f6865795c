// SPDX-License-Identifier: GPL-2.0

//! `alloc-bench`: our `net_iov` allocator against `gen_pool`, the way
//! 6.12's C core uses it (one `PAGE_SIZE` unit per `net_iov`, the owner
//! looked up on allocation, `gen_pool_has_addr()` checked on release).
//!
//! Each round allocates `batch` `net_iov`s in a row and releases them all,
//! as a NAPI poll refills its ring and the stack later returns the
//! buffers. The guest's clock may tick in jiffies only (QEMU TCG), so
//! each allocator runs for at least the time asked, in whole rounds.
//!
//! `token-bench`: a socket's token store ([`crate::tokens`]) against
//! 6.12's xarray driven as `tcp.c` and `sock.c` drive it, through the same
//! read and `SO_DEVMEM_DONTNEED` paths the socket side uses. Each phase is
//! timed on its own and summed over many rounds: with a clock that ticks
//! coarsely, the ticks that fall inside a phase still add up to its share
//! of the time on average.

use crate::freestack::FreeStack;
use crate::tokens::{give_back, Batch, Tokens};
use kernel::alloc::KVVec;
use kernel::net::bench::{cond_resched, GenPool, Stopwatch, XaTokens};
use kernel::net::devmem_uapi::MAX_DONTNEED_TOKENS;
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
    // Up to 1 Mi entries each (the family's limits): vmalloc'ed when
    // large, where kmalloc would need a costly, failure-prone order.
    let mut idx = KVVec::from_elem(0usize, batch as usize, GFP_KERNEL)?;

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
    let mut chunks = KVVec::with_capacity(batch as usize, GFP_KERNEL)?;
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

/// What `token-bench` measured, per store: rounds done, and the time
/// spent receiving and handing back their tokens.
pub(crate) struct TokenResult {
    pub(crate) rounds: u64,
    pub(crate) recv_nsecs: u64,
    pub(crate) dontneed_nsecs: u64,
    pub(crate) xa_rounds: u64,
    pub(crate) xa_recv_nsecs: u64,
    pub(crate) xa_dontneed_nsecs: u64,
}

/// Tokens per round: one full `SO_DEVMEM_DONTNEED` call.
const ROUND: usize = MAX_DONTNEED_TOKENS;

/// Most frags an skb has.
pub(crate) const MAX_FRAGS: u32 = kernel::bindings::MAX_SKB_FRAGS;

/// The value stored for token `id` (odd, as a `net_iov`'s netmem is).
fn value(id: u32) -> usize {
    (id as usize) << 1 | 1
}

/// Our store's read path: `out.len()` tokens for skbs of `frags` frags,
/// committed per skb, as `socket.rs` does.
fn recv_ours(store: &Tokens<usize>, frags: usize, out: &mut [u32]) -> Result {
    let mut batch = Batch::new(store);
    for skb in out.chunks_mut(frags) {
        let n = skb.len();
        for (i, slot) in skb.iter_mut().enumerate() {
            *slot = batch.next_token(n - i)?;
            batch.give(value(*slot));
        }
        batch.commit();
    }
    Ok(())
}

/// 6.12's read path on its xarray, the same skbs.
fn recv_xa(xa: &XaTokens, frags: usize, out: &mut [u32]) -> Result {
    let mut ids = [0u32; MAX_FRAGS as usize];
    let mut vals = [0usize; MAX_FRAGS as usize];
    let (mut max, mut idx) = (0, 0);
    for skb in out.chunks_mut(frags) {
        let n = skb.len();
        for (i, slot) in skb.iter_mut().enumerate() {
            if idx == max {
                max = xa.refill(&mut ids, &vals[..idx], max, n - i)?;
                idx = 0;
            }
            *slot = ids[idx];
            vals[idx] = value(*slot);
            idx += 1;
        }
        xa.commit(&ids, &vals[..idx], max);
        (max, idx) = (0, 0);
    }
    Ok(())
}

/// `token-bench`: our token store against 6.12's xarray, in rounds of
/// `ROUND` tokens received (in skbs of `frags` frags) and handed back in one
/// `SO_DEVMEM_DONTNEED` call (one range per token, as ncdevmem sends
/// them), while `held` other tokens stay held. Both stores see the same
/// calls, alternately, for at least `msecs` in all; every round checks
/// that both handed out the same token values.
pub(crate) fn tokens(held: u32, frags: u32, msecs: u32) -> Result<TokenResult> {
    if frags == 0 || frags > MAX_FRAGS {
        return Err(EINVAL);
    }
    let frags = frags as usize;
    let store = KBox::pin_init(Tokens::<usize>::new(), GFP_KERNEL)?;
    let xa = KBox::pin_init(XaTokens::new(), GFP_KERNEL)?;
    // Up to 1 Mi tokens (the family's limit): vmalloc'ed when large.
    let mut base = KVVec::from_elem(0u32, held as usize, GFP_KERNEL)?;
    let mut base_xa = KVVec::from_elem(0u32, held as usize, GFP_KERNEL)?;
    recv_ours(&store, frags, &mut base)?;
    recv_xa(&xa, frags, &mut base_xa)?;
    if base[..] != base_xa[..] {
        pr_err!("devmem: token-bench: the stores handed out different tokens\n");
        return Err(EIO);
    }

    let want = u64::from(msecs) * 1_000_000;
    let (mut ids, mut ids_xa) = ([0u32; ROUND], [0u32; ROUND]);
    let mut ranges = [(0u32, 1u32); ROUND];
    let mut r = TokenResult {
        rounds: 0,
        recv_nsecs: 0,
        dontneed_nsecs: 0,
        xa_rounds: 0,
        xa_recv_nsecs: 0,
        xa_dontneed_nsecs: 0,
    };
    while r.recv_nsecs + r.dontneed_nsecs + r.xa_recv_nsecs + r.xa_dontneed_nsecs < want {
        for _ in 0..ROUNDS_PER_CHECK {
            let sw = Stopwatch::start();
            recv_ours(&store, frags, &mut ids)?;
            r.recv_nsecs += sw.elapsed_ns();
            for (rg, &id) in ranges.iter_mut().zip(ids.iter()) {
                rg.0 = id;
            }
            let sw = Stopwatch::start();
            let freed = give_back(&store, ranges.iter().copied());
            r.dontneed_nsecs += sw.elapsed_ns();
            r.rounds += 1;

            let sw = Stopwatch::start();
            recv_xa(&xa, frags, &mut ids_xa)?;
            r.xa_recv_nsecs += sw.elapsed_ns();
            let sw = Stopwatch::start();
            let freed_xa = xa.dontneed(&ranges);
            r.xa_dontneed_nsecs += sw.elapsed_ns();
            r.xa_rounds += 1;

            if ids != ids_xa || freed != ROUND as u32 || freed_xa != ROUND as u32 {
                pr_err!(
                    "devmem: token-bench: the stores disagree (freed {} and {})\n",
                    freed,
                    freed_xa
                );
                return Err(EIO);
            }
        }
        cond_resched();
    }
    if store.with(|t| t.held()) != held as usize {
        return Err(EIO);
    }
    Ok(r)
}
