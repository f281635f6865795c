// SPDX-License-Identifier: GPL-2.0

//! A socket's token store: which frags user space holds, by token.
//!
//! A devmem read hands user space one token per frag; `SO_DEVMEM_DONTNEED`
//! hands tokens back. 6.12 keeps them in an xarray (`sk->sk_user_frags`):
//! a tree walk, node allocations and a compare-and-exchange per token.
//! Here a token is an index into a flat table: `slots[token - 1]` holds the
//! frag, and a bitmap (`used`, one bit per slot) says which slots are taken
//! (reserved by a read in progress, or held by user space), so that the
//! lowest free token is found a word at a time. Tokens are handed out
//! lowest free first from 1, as `__xa_alloc()` with `XA_FLAGS_ALLOC1`
//! does, so user space sees the same token values as with 6.12.
//!
//! The table grows by doubling (allocated with the lock dropped, then
//! moved in under it) and never shrinks while the socket lives; its size
//! follows the most tokens held at once, as the xarray's does.

use kernel::alloc::KVVec;
use kernel::bindings;
use kernel::net::devmem_uapi::MAX_DONTNEED_FRAGS;
use kernel::prelude::*;
use kernel::sync::{new_spinlock, SpinLock};

/// Most tokens a socket may hold (ids `1..=i32::MAX`, 6.12's
/// `xa_limit_31b`); past it a read fails with `EBUSY` as there.
pub(crate) const MAX_TOKENS: usize = i32::MAX as usize;

/// Most frags an skb has (`MAX_SKB_FRAGS`).
const MAX_FRAGS: usize = bindings::MAX_SKB_FRAGS as usize;

/// Frags `SO_DEVMEM_DONTNEED` takes out of the table per lock hold.
const DONTNEED_BATCH: usize = 64;

/// Slots of a new table.
const FIRST_SLOTS: usize = 256;

const WORD: usize = u64::BITS as usize;

/// The table, under the store's lock.
///
/// # Invariants
///
/// - `slots.len() == used.len() * 64`.
/// - Bit `i` of `used` is set iff slot `i` is reserved or held;
///   `slots[i]` is `Some` only if the bit is set (then it is held).
/// - Every word of `used` below `hint` is full.
pub(crate) struct Table<T> {
    slots: KVVec<Option<T>>,
    used: KVVec<u64>,
    hint: usize,
    held: usize,
}

/// Storage for a bigger table, allocated without the lock.
pub(crate) struct Storage<T> {
    slots: KVVec<Option<T>>,
    used: KVVec<u64>,
}

impl<T> Storage<T> {
    fn new(words: usize) -> Result<Self> {
        let mut slots = KVVec::with_capacity(words * WORD, GFP_KERNEL)?;
        for _ in 0..words * WORD {
            // Within the capacity: does not allocate.
            slots.push(None, GFP_KERNEL)?;
        }
        Ok(Self {
            slots,
            used: KVVec::from_elem(0u64, words, GFP_KERNEL)?,
        })
    }
}

impl<T> Table<T> {
    /// An empty table.
    pub(crate) fn new() -> Self {
        Self {
            slots: KVVec::new(),
            used: KVVec::new(),
            hint: 0,
            held: 0,
        }
    }

    /// Tokens user space holds.
    pub(crate) fn held(&self) -> usize {
        self.held
    }

    /// Reserves the lowest free tokens, at most `out.len()`, into `out`;
    /// returns how many (0 if the table is full).
    pub(crate) fn reserve(&mut self, out: &mut [u32]) -> usize {
        let mut n = 0;
        let mut w = self.hint;
        while n < out.len() && w < self.used.len() {
            let free = !self.used[w];
            if free == 0 {
                w += 1;
                continue;
            }
            let bit = free.trailing_zeros() as usize;
            let i = w * WORD + bit;
            if i >= MAX_TOKENS {
                break;
            }
            self.used[w] |= 1 << bit;
            // Below `MAX_TOKENS`, so the token fits in 31 bits.
            out[n] = i as u32 + 1;
            n += 1;
        }
        // INVARIANT: words below `w` are full (`hint` only grows to them).
        self.hint = w;
        n
    }

    fn index(&self, token: u32) -> Option<usize> {
        let i = (token as usize).checked_sub(1)?;
        (i < self.slots.len()).then_some(i)
    }

    fn is_taken(&self, i: usize) -> bool {
        self.used[i / WORD] & (1 << (i % WORD)) != 0
    }

    fn free(&mut self, i: usize) {
        self.used[i / WORD] &= !(1 << (i % WORD));
        // INVARIANT: the word of `i` is no longer full.
        self.hint = self.hint.min(i / WORD);
    }

    /// Gives user space `v` under `token`, which [`Table::reserve`] gave
    /// and nothing used since. A token that is not reserved (a caller bug)
    /// drops `v` instead and returns `false`.
    pub(crate) fn commit(&mut self, token: u32, v: T) -> bool {
        match self.index(token) {
            Some(i) if self.is_taken(i) && self.slots[i].is_none() => {
                self.slots[i] = Some(v);
                self.held += 1;
                true
            }
            _ => false,
        }
    }

    /// Frees a token [`Table::reserve`] gave that no frag was given
    /// under.
    pub(crate) fn unreserve(&mut self, token: u32) {
        if let Some(i) = self.index(token) {
            if self.is_taken(i) && self.slots[i].is_none() {
                self.free(i);
            }
        }
    }

    /// Takes back what user space holds under `token`; `None` for a token
    /// it does not hold (never given, given back already, or reserved by a
    /// read still in progress).
    pub(crate) fn take(&mut self, token: u32) -> Option<T> {
        let i = self.index(token)?;
        let v = self.slots[i].take()?;
        self.free(i);
        self.held -= 1;
        Some(v)
    }

    /// Words of a table twice this size (at least `FIRST_SLOTS`); `None`
    /// once the table covers every token.
    fn next_words(&self) -> Option<usize> {
        if self.slots.len() >= MAX_TOKENS {
            return None;
        }
        Some((self.used.len() * 2).max(FIRST_SLOTS / WORD))
    }

    /// Moves the table into `new` if `new` is bigger. Returns the storage
    /// left over, for the caller to free once it dropped the lock (freeing
    /// `vmalloc` memory may sleep).
    fn adopt(&mut self, mut new: Storage<T>) -> Storage<T> {
        if new.used.len() <= self.used.len() {
            return new;
        }
        for (i, s) in self.slots.iter_mut().enumerate() {
            new.slots[i] = s.take();
        }
        new.used[..self.used.len()].copy_from_slice(&self.used);
        // INVARIANT: same slots and bits, the new words free; `hint` still
        // points at the first word that may have room.
        core::mem::swap(&mut self.slots, &mut new.slots);
        core::mem::swap(&mut self.used, &mut new.used);
        new
    }
}

/// A socket's token store: the table and its lock.
///
/// Reads (under the socket lock) and `SO_DEVMEM_DONTNEED` (without it)
/// may run at the same time on one socket; the spinlock orders them. It
/// is never taken in softirq context: the store is dropped there at most,
/// when its socket is destroyed and nobody else can use it.
#[pin_data]
pub(crate) struct Tokens<T> {
    #[pin]
    table: SpinLock<Table<T>>,
}

impl<T> Tokens<T> {
    /// An empty store.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            table <- new_spinlock!(Table::new(), "devmem_tokens"),
        })
    }

    /// Runs `f` on the table, with the lock held.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Table<T>) -> R) -> R {
        f(&mut self.table.lock())
    }

    /// Runs `f` with the table locked, then reserves up to `out.len()`
    /// tokens into `out` in the same critical section, growing the table
    /// (allocating with the lock dropped) if it is full. Returns how many
    /// were reserved (at least one), or `ENOMEM`, or `EBUSY` when every
    /// token is held.
    pub(crate) fn reserve_after(
        &self,
        f: impl FnOnce(&mut Table<T>),
        out: &mut [u32],
    ) -> Result<usize> {
        let mut t = self.table.lock();
        f(&mut t);
        loop {
            let n = t.reserve(out);
            if n > 0 || out.is_empty() {
                return Ok(n);
            }
            let words = t.next_words().ok_or(EBUSY)?;
            drop(t);
            let new = Storage::new(words)?;
            t = self.table.lock();
            let old = t.adopt(new);
            if !old.used.is_empty() {
                drop(t);
                drop(old);
                t = self.table.lock();
            }
        }
    }
}

/// Takes the frags of the token ranges `(start, count)` back from `store`
/// and drops them (for frags, gives them back to their page pools),
/// `DONTNEED_BATCH` per lock hold, without the lock; returns how many.
///
/// Every (range, index) pair counts against `MAX_DONTNEED_FRAGS`, whether
/// user space holds that token or not, and ids wrap at 2^32, as in 6.12.
pub(crate) fn give_back<T>(store: &Tokens<T>, ranges: impl Iterator<Item = (u32, u32)>) -> u32 {
    let mut ids = ranges
        .flat_map(|(start, count)| (0..count).map(move |j| start.wrapping_add(j)))
        .take(MAX_DONTNEED_FRAGS);
    let mut out: [Option<T>; DONTNEED_BATCH] = [const { None }; DONTNEED_BATCH];
    let mut freed = 0u32;
    loop {
        let (n, more) = store.with(|t| {
            let mut n = 0;
            for id in ids.by_ref() {
                if let Some(v) = t.take(id) {
                    out[n] = Some(v);
                    n += 1;
                    if n == DONTNEED_BATCH {
                        return (n, true);
                    }
                }
            }
            (n, false)
        });
        out[..n].iter_mut().for_each(|s| drop(s.take()));
        freed += n as u32;
        if !more {
            return freed;
        }
    }
}

/// Tokens reserved for the frags of one skb and the frags given to user
/// space under them, committed to the store together (one lock hold for
/// the frags of an skb, as 6.12 batches its xarray operations).
///
/// `tokens[..max]` are reserved; the frags of `tokens[..idx]` are in
/// `held[..idx]`.
pub(crate) struct Batch<'a, T> {
    store: &'a Tokens<T>,
    tokens: [u32; MAX_FRAGS],
    held: [Option<T>; MAX_FRAGS],
    max: usize,
    idx: usize,
}

impl<'a, T> Batch<'a, T> {
    pub(crate) fn new(store: &'a Tokens<T>) -> Self {
        Self {
            store,
            tokens: [0; MAX_FRAGS],
            held: [const { None }; MAX_FRAGS],
            max: 0,
            idx: 0,
        }
    }

    /// Commits the frags given and frees the tokens left over, with the
    /// table locked.
    fn commit_locked(&mut self, t: &mut Table<T>) {
        for i in 0..self.idx {
            if let Some(v) = self.held[i].take() {
                t.commit(self.tokens[i], v);
            }
        }
        for &id in &self.tokens[self.idx..self.max] {
            t.unreserve(id);
        }
        self.max = 0;
        self.idx = 0;
    }

    pub(crate) fn commit(&mut self) {
        if self.max > 0 {
            let store = self.store;
            store.with(|t| self.commit_locked(t));
        }
    }

    /// The next reserved token: if all are used, commits them and reserves
    /// up to `want` (at least one) new ones.
    pub(crate) fn next_token(&mut self, want: usize) -> Result<u32> {
        if self.idx == self.max {
            let store = self.store;
            let mut fresh = [0u32; MAX_FRAGS];
            let want = want.clamp(1, MAX_FRAGS);
            let n = store.reserve_after(|t| self.commit_locked(t), &mut fresh[..want])?;
            self.tokens = fresh;
            self.max = n;
        }
        Ok(self.tokens[self.idx])
    }

    /// Gives user space `v` under the token [`Batch::next_token`] returned.
    pub(crate) fn give(&mut self, v: T) {
        self.held[self.idx] = Some(v);
        self.idx += 1;
    }
}
