// SPDX-License-Identifier: GPL-2.0

//! `net_iov`s: network memory the CPU does not touch (a dma-buf's pages).
//!
//! C headers: [`include/net/netmem.h`](srctree/include/net/netmem.h),
//! [`net/core/devmem.h`](srctree/net/core/devmem.h)
//!
//! A [`NetIovArea`] carves the DMA segments of a mapped dma-buf into
//! `PAGE_SIZE` `net_iov`s, laid out as Linux 6.12's C code expects: one
//! chunk owner (`struct dmabuf_genpool_chunk_owner`) per segment, whose
//! `niovs` are contiguous, each `net_iov` pointing at its owner. The
//! static inlines of `net/core/devmem.h` that `tcp.c` calls
//! (`net_iov_virtual_addr()`, `net_iov_binding_id()`) read exactly that:
//! the owner's `base_virtual` and `niovs`, and its binding's `id`.
//!
//! All `net_iov`s of an area live in one array, so a `net_iov` is known by
//! its index, and [`NetIovArea::index_of`] finds the index of a `netmem_ref`
//! in O(1), refusing anything outside the area.

use crate::alloc::{flags::GFP_KERNEL, KVVec};
use crate::bindings;
use crate::error::{code::*, Result};
use crate::page::{PAGE_SHIFT, PAGE_SIZE};
use crate::scatterlist::SgTable;
use crate::sync::Arc;
use crate::types::Opaque;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// What user space does with the `net_iov`s of an area: tokens it holds
/// and payload bytes it was handed (counted with the Rust devmem core,
/// the only one whose `net_iov`s lead here).
pub struct UserStats {
    held: AtomicU64,
    received: AtomicU64,
}

impl UserStats {
    /// Zero counters.
    pub fn new() -> Self {
        Self {
            held: AtomicU64::new(0),
            received: AtomicU64::new(0),
        }
    }

    /// `net_iov` references user space holds (devmem tokens).
    pub fn held(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }

    /// Payload bytes in `net_iov`s handed to user space.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }
}

impl Default for UserStats {
    fn default() -> Self {
        Self::new()
    }
}

/// A chunk owner as C sees it, followed by what Rust keeps per chunk.
///
/// # Invariants
///
/// `stats` points to the [`UserStats`] the area holds a reference on.
#[repr(C)]
struct ChunkOwner {
    c: Opaque<bindings::dmabuf_genpool_chunk_owner>,
    stats: *const UserStats,
}

/// The `net_iov`s of a mapped dma-buf and their chunk owners.
///
/// # Invariants
///
/// - `owners[c]` describes DMA segment `c` of the table the area was made
///   from: `base_virtual` is the segment's offset in the dma-buf,
///   `base_dma_addr` its DMA address, `niovs` points at
///   `niovs[first(c)]` and `num_niovs` is the segment's length in whole
///   pages; the chunks' `net_iov`s follow each other in `niovs`.
/// - every `niovs[i]` has `owner` set to its chunk's owner and `dma_addr`
///   to its page's DMA address; its page pool fields are zero until a
///   memory provider hands it out.
/// - `owners` and `niovs` are never resized, so the pointers between them
///   stay valid while the area lives (moving the area moves no element);
///   each `net_iov`'s `owner` points at the C part of a [`ChunkOwner`],
///   which is its first field, so at the [`ChunkOwner`].
/// - every owner's `stats` points into `stats`.
///
/// # Examples
///
/// ```
/// use kernel::c_str;
/// use kernel::dma::{self, Direction, PlatformDevice};
/// use kernel::dma_buf;
/// use kernel::net::netmem::{NetIovArea, UserStats};
/// use kernel::page::PAGE_SIZE;
/// use kernel::sync::Arc;
///
/// let pdev = PlatformDevice::new(c_str!("rs-niov-doc"), PlatformDevice::ID_AUTO)?;
/// dma::set_mask_64(pdev.device())?;
/// let map = dma_buf::export_pages(&[0, 2, 1])?
///     .attach(pdev.device())?
///     .map(Direction::FromDevice)?;
/// let area = NetIovArea::new(map.table(), Arc::new(UserStats::new(), GFP_KERNEL)?)?;
/// assert_eq!(area.len(), 7);
///
/// // net_iov i covers bytes [i * PAGE_SIZE, (i + 1) * PAGE_SIZE) of the
/// // dma-buf, at the matching DMA address of its segment.
/// let mut i = 0;
/// for seg in map.table().dma_segments() {
///     for p in 0..seg.len as usize / PAGE_SIZE {
///         assert_eq!(area.virtual_addr(i), Some(i * PAGE_SIZE));
///         assert_eq!(area.dma_addr(i), Some(seg.addr + (p * PAGE_SIZE) as u64));
///         i += 1;
///     }
/// }
/// assert_eq!(area.virtual_addr(7), None);
/// assert_eq!(area.binding_id(0), None); // no binding yet
///
/// // netmem references map back to their index; nothing else does.
/// for i in 0..area.len() {
///     assert_eq!(area.index_of(area.netmem(i).ok_or(EINVAL)?), Some(i));
/// }
/// let nm = area.netmem(3).ok_or(EINVAL)?;
/// assert_eq!(area.index_of(nm & !1), None); // a page, not a net_iov
/// assert_eq!(area.index_of(nm + 8), None); // not the start of a net_iov
/// assert_eq!(area.index_of(area.netmem(6).ok_or(EINVAL)? + 48), None); // past the end
/// # Ok::<(), Error>(())
/// ```
pub struct NetIovArea {
    owners: KVVec<ChunkOwner>,
    stats: Arc<UserStats>,
    niovs: KVVec<Opaque<bindings::net_iov>>,
    out: KVVec<AtomicBool>,
}

// SAFETY: The C structures are only written by `new` (before the area is
// shared), by `set_binding` (under its contract) and, for a `net_iov`
// handed out, by the page pool that owns it at that time, under the page
// pool's rules; Rust reads only fields that no longer change.
unsafe impl Send for NetIovArea {}
// SAFETY: As above.
unsafe impl Sync for NetIovArea {}

impl NetIovArea {
    /// Carves the DMA segments of `table` into `PAGE_SIZE` `net_iov`s,
    /// like the C core: a segment gives `len / PAGE_SIZE` of them (a tail
    /// shorter than a page is not used) and advances the dma-buf offset by
    /// its full length. `E2BIG` for more than `u32::MAX - 1` `net_iov`s,
    /// `EINVAL` for a DMA address the page pool cannot store, `ENOMEM`.
    /// What user space does with them is counted in `stats`.
    pub fn new(table: &SgTable, stats: Arc<UserStats>) -> Result<Self> {
        let mut chunks = 0usize;
        let mut total = 0usize;
        for seg in table.dma_segments() {
            chunks += 1;
            total += seg.len as usize >> PAGE_SHIFT;
        }
        if total >= u32::MAX as usize {
            return Err(E2BIG);
        }
        let mut owners: KVVec<ChunkOwner> = KVVec::with_capacity(chunks, GFP_KERNEL)?;
        let mut niovs: KVVec<Opaque<bindings::net_iov>> = KVVec::with_capacity(total, GFP_KERNEL)?;
        let mut out = KVVec::with_capacity(total, GFP_KERNEL)?;
        for _ in 0..chunks {
            owners.push(
                ChunkOwner {
                    // SAFETY: All zeroes is a valid chunk owner (no pointers
                    // set).
                    c: Opaque::new(unsafe { core::mem::zeroed() }),
                    stats: &*stats,
                },
                GFP_KERNEL,
            )?;
        }
        for _ in 0..total {
            // SAFETY: All zeroes is a free `net_iov`.
            niovs.push(Opaque::new(unsafe { core::mem::zeroed() }), GFP_KERNEL)?;
            out.push(AtomicBool::new(false), GFP_KERNEL)?;
        }
        let mut virt = 0usize;
        let mut first = 0usize;
        for (c, seg) in table.dma_segments().enumerate() {
            let n = seg.len as usize >> PAGE_SHIFT;
            // The whole `ChunkOwner`'s pointer, cast to its first field.
            let owner: *mut bindings::dmabuf_genpool_chunk_owner =
                core::ptr::from_ref(&owners[c]).cast_mut().cast();
            // SAFETY: `owner` is ours and not shared yet; `first + n <=
            // total`, so the `niovs` pointer stays within the array (or
            // one past its end for an empty tail chunk).
            unsafe {
                (*owner).base_virtual = virt as _;
                (*owner).base_dma_addr = seg.addr;
                (*owner).niovs = niovs.as_ptr().add(first).cast_mut().cast();
                (*owner).num_niovs = n;
            }
            for p in 0..n {
                let addr = seg.addr + (p << PAGE_SHIFT) as u64;
                // SAFETY: `niovs[first + p]` is ours and not shared yet;
                // `owner` outlives it (same area).
                if unsafe { bindings::net_ext_niov_init(niovs[first + p].get(), owner, addr) } {
                    return Err(EINVAL);
                }
            }
            first += n;
            virt += seg.len as usize;
        }
        // INVARIANT: set up above as described.
        Ok(Self {
            owners,
            stats,
            niovs,
            out,
        })
    }

    /// Number of `net_iov`s.
    pub fn len(&self) -> usize {
        self.niovs.len()
    }

    /// Whether there is none (a dma-buf smaller than a page).
    pub fn is_empty(&self) -> bool {
        self.niovs.is_empty()
    }

    /// Points every chunk owner at `binding`, for `net_iov_binding_id()`.
    ///
    /// # Safety
    ///
    /// `binding` must stay valid for as long as the area and any of its
    /// `net_iov`s that C code can reach, and the area must not be shared
    /// yet (no `net_iov` handed out, no other thread using it).
    pub unsafe fn set_binding(&self, binding: *mut bindings::net_devmem_dmabuf_binding) {
        for o in self.owners.iter() {
            // SAFETY: Not shared yet (guaranteed by the caller).
            unsafe { (*o.c.get()).binding = binding };
        }
    }

    /// What user space does with the area's `net_iov`s.
    pub fn stats(&self) -> &Arc<UserStats> {
        &self.stats
    }

    /// The `net_iov` of index `i`.
    pub fn get(&self, i: usize) -> Option<*mut bindings::net_iov> {
        self.niovs.get(i).map(|n| n.get())
    }

    /// The `netmem_ref` of `net_iov` `i` (its address, tagged `NET_IOV`).
    pub fn netmem(&self, i: usize) -> Option<bindings::netmem_ref> {
        self.get(i).map(|p| p as usize | 1)
    }

    /// The index of `netmem` if it is a `net_iov` of this area.
    pub fn index_of(&self, netmem: bindings::netmem_ref) -> Option<usize> {
        let raw: usize = netmem;
        if raw & 1 == 0 {
            return None;
        }
        let off = (raw & !1).checked_sub(self.niovs.as_ptr() as usize)?;
        let size = core::mem::size_of::<bindings::net_iov>();
        (off % size == 0 && off / size < self.len()).then_some(off / size)
    }

    /// Whether `net_iov` `i` is handed out: the flag a memory provider keeps
    /// so that it never hands out one twice nor takes back one it did not
    /// hand out.
    pub(crate) fn out_flag(&self, i: usize) -> Option<&AtomicBool> {
        self.out.get(i)
    }

    /// Offset in the dma-buf of `net_iov` `i`, as `net_iov_virtual_addr()`
    /// computes it from its owner.
    pub fn virtual_addr(&self, i: usize) -> Option<usize> {
        let niov = self.get(i)?;
        // SAFETY: The owner pointer and the owner's fields are set by `new`
        // and never change (type invariants).
        unsafe {
            let owner = (*niov).owner;
            let idx = niov.offset_from((*owner).niovs) as usize;
            Some((*owner).base_virtual + (idx << PAGE_SHIFT))
        }
    }

    /// Id of the binding of `net_iov` `i`, as `net_iov_binding_id()` reads
    /// it through its owner; `None` before [`NetIovArea::set_binding`].
    pub fn binding_id(&self, i: usize) -> Option<u32> {
        let niov = self.get(i)?;
        // SAFETY: The owner pointer is set by `new`; the binding pointer is
        // null or valid as long as the area (`set_binding`'s contract).
        unsafe {
            let binding = (*(*niov).owner).binding;
            (!binding.is_null()).then(|| (*binding).id)
        }
    }

    /// DMA address of `net_iov` `i`, as the page pool hands it to drivers.
    pub fn dma_addr(&self, i: usize) -> Option<u64> {
        let niov = self.get(i)?;
        // SAFETY: Set by `new` and never changed (type invariants).
        Some(unsafe { (*niov).dma_addr } as u64)
    }

    /// Bytes covered.
    pub fn bytes(&self) -> usize {
        self.len() * PAGE_SIZE
    }
}

/// A `net_iov` seen in an skb frag: a chunk of a bound dma-buf holding
/// received payload.
///
/// Reached only through [`Frag::net_iov`](crate::net::skb::Frag::net_iov),
/// so only while the frag's reference keeps the `net_iov` in use by its
/// page pool.
///
/// # Invariants
///
/// The wrapped `net_iov` belongs to a devmem binding (its `owner` is a
/// chunk owner, as every `net_iov` in Linux 6.12 is) and is handed out by a
/// page pool, which holds it while `&self` lives.
#[repr(transparent)]
pub struct NetIov(Opaque<bindings::net_iov>);

impl NetIov {
    /// Wraps `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` is a `net_iov` of a devmem binding, in use by a page pool that
    /// holds it for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::net_iov) -> &'a Self {
        // CAST: `repr(transparent)` over the `net_iov`.
        // SAFETY: Valid for `'a` (the caller's guarantee).
        unsafe { &*ptr.cast() }
    }

    fn as_ptr(&self) -> *mut bindings::net_iov {
        self.0.get()
    }

    /// Offset of the chunk in its dma-buf (`net_iov_virtual_addr()`).
    pub fn dmabuf_offset(&self) -> u64 {
        // SAFETY: By the type invariants the `net_iov` and its owner are
        // valid.
        unsafe { bindings::net_iov_virtual_addr(self.as_ptr()) as u64 }
    }

    /// Id of the binding the chunk belongs to (`net_iov_binding_id()`).
    pub fn binding_id(&self) -> u32 {
        // SAFETY: As above; a binding outlives the page pools serving it.
        unsafe { bindings::net_iov_binding_id(self.as_ptr()) }
    }

    /// The counters of the chunk's area.
    #[cfg(CONFIG_NET_DEVMEM_CORE_RUST)]
    fn stats(&self) -> &UserStats {
        stats_of(self.as_ptr())
    }

    /// Counts `bytes` of the chunk's payload as handed to user space.
    pub fn note_received(&self, bytes: u32) {
        #[cfg(CONFIG_NET_DEVMEM_CORE_RUST)]
        self.stats()
            .received
            .fetch_add(bytes.into(), Ordering::Relaxed);
        #[cfg(not(CONFIG_NET_DEVMEM_CORE_RUST))]
        let _ = bytes;
    }

    /// Takes a page-pool reference on the chunk for user space: the
    /// chunk goes back to its pool only once the returned [`NetIovRef`]
    /// is dropped too. Counted as held by its area's [`UserStats`].
    pub fn hold(&self) -> NetIovRef {
        // SAFETY: By the type invariants the `net_iov` is in use by a page
        // pool; one more reference on its `pp_ref_count`, as
        // `tcp_recvmsg_dmabuf()` takes.
        unsafe { bindings::net_ext_net_iov_get_pp_ref(self.as_ptr()) };
        #[cfg(CONFIG_NET_DEVMEM_CORE_RUST)]
        self.stats().held.fetch_add(1, Ordering::Relaxed);
        // INVARIANT: the reference just taken.
        NetIovRef(core::ptr::NonNull::from(&self.0).cast())
    }
}

/// A page-pool reference on a `net_iov` that user space holds (a devmem
/// token's frag); dropping it gives the reference back
/// (`napi_pp_put_page()`), from any context.
///
/// # Invariants
///
/// `self.0` is a `net_iov` on whose `pp_ref_count` this object owns one
/// reference; the page pool keeps the `net_iov` (and its binding) while
/// any reference is left.
pub struct NetIovRef(core::ptr::NonNull<bindings::net_iov>);

// SAFETY: A page-pool reference may be given back from any thread.
unsafe impl Send for NetIovRef {}
// SAFETY: `&NetIovRef` gives access to nothing.
unsafe impl Sync for NetIovRef {}

/// The [`UserStats`] of the area of `niov`.
///
/// With the Rust devmem core, the only devmem core built, every `net_iov`
/// is one of a [`NetIovArea`], whose `owner` is a [`ChunkOwner`] (type
/// invariants of [`NetIovArea`]).
#[cfg(CONFIG_NET_DEVMEM_CORE_RUST)]
fn stats_of<'a>(niov: *mut bindings::net_iov) -> &'a UserStats {
    // SAFETY: `niov` is a `net_iov` in use (callers' type invariants), of a
    // `NetIovArea` (above): its owner is a `ChunkOwner` whose `stats`
    // lives as long as the area, which outlives every use of its
    // `net_iov`s (a binding outlives its page pools and held references).
    unsafe { &*(*(*niov).owner.cast::<ChunkOwner>()).stats }
}

impl Drop for NetIovRef {
    fn drop(&mut self) {
        #[cfg(CONFIG_NET_DEVMEM_CORE_RUST)]
        stats_of(self.0.as_ptr())
            .held
            .fetch_sub(1, Ordering::Relaxed);
        // SAFETY: We own one reference (type invariants), given back here.
        if !unsafe { bindings::napi_pp_put_page(bindings::net_iov_to_netmem(self.0.as_ptr())) } {
            crate::pr_err!("devmem: a held net_iov was not a page-pool buffer\n");
        }
    }
}
