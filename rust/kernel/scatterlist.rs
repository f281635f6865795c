// SPDX-License-Identifier: GPL-2.0

//! Scatter-gather tables mapped for DMA.
//!
//! C header: [`include/linux/scatterlist.h`](srctree/include/linux/scatterlist.h)
//!
//! [`SgTable`] is a mapped table someone else owns (a dma-buf exporter's,
//! reached through [`crate::dma_buf::Mapping`]); its
//! [`SgTable::dma_segments`] walks the DMA side of it, the way
//! `for_each_sgtable_dma_sg()` does. [`MappedSgTable`] builds and maps
//! one from pages, as an exporter does in its `map_dma_buf` callback.

use crate::alloc::{flags::GFP_KERNEL, KBox};
use crate::bindings;
use crate::device::Device;
use crate::dma::Direction;
use crate::error::{code::*, to_result, Result};
use crate::types::{ARef, Opaque};
use core::marker::PhantomData;

/// A scatter-gather table mapped for a device (`struct sg_table`).
///
/// # Invariants
///
/// The table is valid and DMA-mapped (its first `nents` entries carry DMA
/// addresses and lengths) for as long as the reference to it lives.
#[repr(transparent)]
pub struct SgTable(Opaque<bindings::sg_table>);

// SAFETY: A mapped table is only read through `&SgTable`.
unsafe impl Sync for SgTable {}
// SAFETY: As above.
unsafe impl Send for SgTable {}

/// One DMA segment of a mapped table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DmaSegment {
    /// Its DMA address, as the device sees it.
    pub addr: u64,
    /// Its length in bytes.
    pub len: u32,
}

impl SgTable {
    /// # Safety
    ///
    /// `ptr` must point to a DMA-mapped `sg_table` that stays valid and
    /// mapped, and is not changed, for `'a`.
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::sg_table) -> &'a Self {
        // CAST: `Self` is `repr(transparent)` over `sg_table`.
        // SAFETY: guaranteed by the caller.
        unsafe { &*ptr.cast() }
    }

    /// The raw table.
    pub fn as_raw(&self) -> *mut bindings::sg_table {
        self.0.get()
    }

    /// Number of DMA segments (`nents`).
    pub fn nents(&self) -> u32 {
        // SAFETY: The table is valid (type invariants).
        unsafe { (*self.0.get()).nents }
    }

    /// Its DMA segments, in order.
    pub fn dma_segments(&self) -> DmaSegments<'_> {
        // INVARIANT: `sgl` has `nents` mapped entries (type invariants).
        DmaSegments {
            // SAFETY: The table is valid (type invariants).
            sg: unsafe { (*self.0.get()).sgl },
            left: self.nents(),
            _t: PhantomData,
        }
    }

    /// Total length of its DMA segments.
    pub fn dma_len(&self) -> u64 {
        self.dma_segments().map(|s| u64::from(s.len)).sum()
    }
}

/// Iterator over the DMA segments of an [`SgTable`].
///
/// # Invariants
///
/// While `left > 0`, `sg` is the next of the table's first `nents`
/// entries.
pub struct DmaSegments<'a> {
    sg: *mut bindings::scatterlist,
    left: u32,
    _t: PhantomData<&'a SgTable>,
}

impl Iterator for DmaSegments<'_> {
    type Item = DmaSegment;

    fn next(&mut self) -> Option<DmaSegment> {
        if self.left == 0 {
            return None;
        }
        // SAFETY: By the type invariants `sg` is a mapped entry of a table
        // borrowed for the iterator's lifetime.
        let seg = unsafe {
            DmaSegment {
                addr: bindings::sg_dma_address(self.sg),
                len: bindings::sg_dma_len(self.sg),
            }
        };
        self.left -= 1;
        if self.left > 0 {
            // SAFETY: `sg` is a valid entry and more follow it.
            self.sg = unsafe { bindings::sg_next(self.sg) };
        }
        Some(seg)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left as usize, Some(self.left as usize))
    }
}

/// A part of a page to put in a table: `len` bytes at `offset`.
///
/// # Invariants
///
/// `page` is a valid `struct page` and `offset + len` lies within its
/// (possibly compound) allocation.
#[derive(Clone, Copy)]
pub struct PageRange {
    page: *mut bindings::page,
    offset: u32,
    len: u32,
}

impl PageRange {
    /// # Safety
    ///
    /// `page` must be a valid page whose allocation covers `offset + len`
    /// bytes, and it must stay allocated while any table built from this
    /// range is mapped.
    pub unsafe fn new(page: *mut bindings::page, offset: u32, len: u32) -> Self {
        // INVARIANT: guaranteed by the caller.
        Self { page, offset, len }
    }
}

/// The owned part of a [`MappedSgTable`]; `sgt` first, so a pointer to
/// the table is one to this.
#[repr(C)]
struct Owned {
    sgt: Opaque<bindings::sg_table>,
    dev: ARef<Device>,
    dir: Direction,
}

/// A table built from page ranges and DMA-mapped for a device; unmapped and
/// freed on drop.
///
/// # Invariants
///
/// `owned.sgt` is allocated by `sg_alloc_table`, filled with the ranges
/// (whose pages outlive it, see [`PageRange::new`]) and mapped with
/// `dma_map_sgtable` for `owned.dev` in direction `owned.dir`.
///
/// # Examples
///
/// ```
/// use kernel::c_str;
/// use kernel::dma::{self, Direction, PlatformDevice};
/// use kernel::scatterlist::{MappedSgTable, PageRange};
/// use kernel::page::{Page, PAGE_SIZE};
///
/// let pdev = PlatformDevice::new(c_str!("rs-sg-doc"), PlatformDevice::ID_AUTO)?;
/// dma::set_mask_64(pdev.device())?;
/// let pages = [Page::alloc_page(GFP_KERNEL)?, Page::alloc_page(GFP_KERNEL)?];
/// // SAFETY: The pages outlive the table (dropped after it, below).
/// let ranges = [unsafe { PageRange::new(pages[0].as_ptr(), 0, PAGE_SIZE as u32) },
///               unsafe { PageRange::new(pages[1].as_ptr(), 512, 1024) }];
/// let t = MappedSgTable::new(pdev.device(), &ranges, Direction::FromDevice)?;
/// assert_eq!(t.table().dma_len(), (PAGE_SIZE + 1024) as u64);
/// let n = t.table().dma_segments().count();
/// assert!(n >= 1 && n <= 2 && n == t.table().nents() as usize);
/// assert!(t.table().dma_segments().all(|s| s.addr != 0 && s.len > 0));
/// drop(t);
/// drop(pages);
/// # Ok::<(), Error>(())
/// ```
pub struct MappedSgTable {
    owned: KBox<Owned>,
}

// SAFETY: The table may be unmapped from any thread (process context).
unsafe impl Send for MappedSgTable {}
// SAFETY: `&MappedSgTable` only reads the table.
unsafe impl Sync for MappedSgTable {}

impl MappedSgTable {
    /// Builds a table of `ranges` and maps it for `dev`. `EINVAL` for no
    /// range or an empty one; errors of `sg_alloc_table` and
    /// `dma_map_sgtable`.
    pub fn new(dev: &Device, ranges: &[PageRange], dir: Direction) -> Result<Self> {
        let n = u32::try_from(ranges.len()).map_err(|_| EINVAL)?;
        if n == 0 || ranges.iter().any(|r| r.len == 0) {
            return Err(EINVAL);
        }
        let owned = KBox::new(
            Owned {
                // SAFETY: All zeroes is an empty, unallocated `sg_table`.
                sgt: Opaque::new(unsafe { core::mem::zeroed() }),
                dev: dev.into(),
                dir,
            },
            GFP_KERNEL,
        )?;
        let sgt = owned.sgt.get();
        // SAFETY: `sgt` is a valid, empty table.
        to_result(unsafe { bindings::sg_alloc_table(sgt, n, GFP_KERNEL.as_raw()) })?;
        // SAFETY: `sg_alloc_table` made `n` chained entries.
        let mut sg = unsafe { (*sgt).sgl };
        for (i, r) in ranges.iter().enumerate() {
            // SAFETY: `sg` is entry `i` of the table; the range is valid
            // (`PageRange` invariants).
            unsafe { bindings::sg_set_page(sg, r.page, r.len, r.offset) };
            if i + 1 < ranges.len() {
                // SAFETY: More entries follow.
                sg = unsafe { bindings::sg_next(sg) };
            }
        }
        // SAFETY: `sgt` is filled; `dev` is a valid device.
        let ret = unsafe { bindings::dma_map_sgtable(dev.as_raw(), sgt, dir.as_raw(), 0) };
        if let Err(e) = to_result(ret) {
            // SAFETY: Allocated above, not mapped.
            unsafe { bindings::sg_free_table(sgt) };
            return Err(e);
        }
        // INVARIANT: built and mapped above.
        Ok(Self { owned })
    }

    /// The mapped table.
    pub fn table(&self) -> &SgTable {
        // SAFETY: Mapped and valid while `self` is (type invariants).
        unsafe { SgTable::from_raw(self.owned.sgt.get()) }
    }

    /// Hands the table to C (an exporter's `map_dma_buf` returns it); get
    /// it back with [`MappedSgTable::from_raw`].
    pub fn into_raw(self) -> *mut bindings::sg_table {
        let me = core::mem::ManuallyDrop::new(self);
        // SAFETY: `me` is never used or dropped again: the box moves out.
        let owned = unsafe { core::ptr::read(&me.owned) };
        KBox::into_raw(owned).cast()
    }

    /// # Safety
    ///
    /// `ptr` must come from [`MappedSgTable::into_raw`] and not have been
    /// taken back yet.
    pub unsafe fn from_raw(ptr: *mut bindings::sg_table) -> Self {
        // CAST: `sgt` is the first field of the `repr(C)` `Owned`.
        // SAFETY: guaranteed by the caller.
        let owned = unsafe { KBox::from_raw(ptr.cast::<Owned>()) };
        // INVARIANT: as handed out by `into_raw`.
        Self { owned }
    }
}

impl Drop for MappedSgTable {
    fn drop(&mut self) {
        let sgt = self.owned.sgt.get();
        // SAFETY: By the type invariants the table is mapped for `dev` in
        // `dir`, and allocated by `sg_alloc_table`.
        unsafe {
            bindings::dma_unmap_sgtable(self.owned.dev.as_raw(), sgt, self.owned.dir.as_raw(), 0);
            bindings::sg_free_table(sgt);
        }
    }
}
