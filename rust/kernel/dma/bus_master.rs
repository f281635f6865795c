// SPDX-License-Identifier: GPL-2.0

//! The device side of DMA, for devices modelled in the kernel.
//!
//! C header: [`include/linux/dma-map-ops.h`](srctree/include/linux/dma-map-ops.h)
//!
//! A real device reads and writes memory at the DMA addresses its driver
//! gives it; behind an IOMMU, only memory that is mapped for it. A device
//! modelled in the kernel ([`ModelDevice`]) has DMA ops that track every
//! mapping made for it (`dma_map_page`, `dma_map_sg`, coherent
//! allocations; by its driver, a page pool, a dma-buf exporter alike) and
//! give memory its physical address as DMA address. Its model reaches
//! memory only through a [`BusMaster`], which refuses any access that is
//! not within one live mapping allowing it (`DMA_TO_DEVICE` memory is only
//! read, `DMA_FROM_DEVICE` memory only written), and holds the tracker's
//! lock while it copies, so a mapping cannot go away under a copy.
//!
//! Every mapping holds a reference to the device, so the device and its
//! tracker outlive the mappings even when the device is unregistered
//! first (a dma-buf attachment may be unmapped long after).
//!
//! So whatever addresses a driver posts, the model can only touch memory
//! the DMA API handed to the device, which no Rust code may access as its
//! own while it is mapped ([`Mapping`](super::Mapping) borrows the memory,
//! [`CoherentBuffer`](super::CoherentBuffer) and page-pool buffers are only
//! copied to and from): a safe model cannot corrupt memory Rust code holds.
//!
//! [`ModelDevice`]: crate::platform::ModelDevice

use super::Direction;
use crate::alloc::flags::GFP_ATOMIC;
use crate::bindings;
use crate::device::Device;
use crate::error::{code::*, Result};
use crate::ffi::{c_int, c_ulong, c_void};
use crate::new_spinlock_irq;
use crate::platform::tracker_of;
use crate::prelude::*;
use crate::rbtree::{RBTree, RBTreeNodeReservation};
use crate::sync::SpinLockIrq;
use crate::types::ARef;
use core::ptr::NonNull;

/// `DMA_MAPPING_ERROR`.
const MAPPING_ERROR: bindings::dma_addr_t = bindings::dma_addr_t::MAX;

/// One mapping: `len` bytes from its key's address, which the device may
/// read and/or write.
#[derive(Clone, Copy)]
struct Map {
    len: u64,
    dir: Direction,
}

impl Map {
    fn allows(&self, write: bool) -> bool {
        match self.dir {
            Direction::Bidirectional => true,
            Direction::ToDevice => !write,
            Direction::FromDevice => write,
        }
    }
}

/// The mappings, by (DMA address, sequence number): the same memory may be
/// mapped more than once.
struct Maps {
    tree: RBTree<(u64, u64), Map>,
    seq: u64,
    /// Longest mapping ever made: a mapping covering an address starts at
    /// most this far below it.
    max_len: u64,
}

/// The live DMA mappings of a device model's device.
///
/// # Invariants
///
/// `maps.tree` holds one entry per live mapping of the device (made by
/// `TRACKED_OPS` and not unmapped yet), each holding a reference to the
/// device; `max_len` is at least the length of every entry.
#[pin_data]
pub(crate) struct Tracker {
    #[pin]
    maps: SpinLockIrq<Maps>,
}

impl Tracker {
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            maps <- new_spinlock_irq!(Maps {
                tree: RBTree::new(),
                seq: 0,
                max_len: 0,
            }),
        })
    }

    /// Records a mapping of `len > 0` bytes at `addr` of `dev`, whose
    /// tracker this is, and takes a reference to `dev` for it.
    ///
    /// # Safety
    ///
    /// `dev` must be the device whose tracker this is.
    unsafe fn track(
        &self,
        dev: *mut bindings::device,
        addr: u64,
        len: u64,
        dir: Direction,
    ) -> Result {
        if len == 0 || addr.checked_add(len).is_none() {
            return Err(EINVAL);
        }
        // Mappings are made in any context; allocate before locking.
        let node = RBTreeNodeReservation::new(GFP_ATOMIC)?;
        let mut maps = self.maps.lock();
        maps.seq += 1;
        let key = (addr, maps.seq);
        // INVARIANT: a new mapping, whose device reference is taken below.
        maps.max_len = maps.max_len.max(len);
        maps.tree.insert(node.into_node(key, Map { len, dir }));
        // SAFETY: `dev` is valid (caller); the reference goes with the
        // mapping, in `untrack`.
        unsafe { bindings::get_device(dev) };
        Ok(())
    }

    /// Forgets one mapping of `len` bytes at `addr` of `dev`, and drops
    /// its reference to `dev` (after which the tracker may be gone).
    ///
    /// # Safety
    ///
    /// `dev` must be the device whose tracker this is.
    unsafe fn untrack(&self, dev: *mut bindings::device, addr: u64, len: u64) {
        let found = {
            let mut maps = self.maps.lock();
            let key = match maps.tree.cursor_lower_bound(&(addr, 0)) {
                None => None,
                Some(mut cursor) => loop {
                    let (k, m) = cursor.current();
                    if k.0 != addr {
                        break None;
                    }
                    if m.len == len {
                        break Some(*k);
                    }
                    match cursor.move_next() {
                        Some(c) => cursor = c,
                        None => break None,
                    }
                },
            };
            key.and_then(|k| maps.tree.remove(&k)).is_some()
        };
        if found {
            // SAFETY: The mapping held this reference (`track`); the lock
            // is released, so the tracker may go with the device.
            unsafe { bindings::put_device(dev) };
        }
    }

    /// Calls `f` with the kernel address of `addr..addr + len`, with the
    /// lock held, if one mapping covers the range and allows the access.
    fn access(&self, addr: u64, len: usize, write: bool, f: impl FnOnce(*mut u8)) -> Result {
        let len64 = u64::try_from(len).map_err(|_| EFAULT)?;
        let end = addr.checked_add(len64).ok_or(EFAULT)?;
        let mut maps = self.maps.lock();
        let floor = addr.saturating_sub(maps.max_len);
        // Mappings starting at or below `addr`, nearest first.
        let mut cursor = match maps.tree.cursor_lower_bound(&(addr, u64::MAX)) {
            Some(c) => c.move_prev(),
            None => maps.tree.cursor_back(),
        };
        let mut ok = false;
        while let Some(c) = cursor {
            let (k, m) = c.current();
            if k.0 < floor {
                break;
            }
            if k.0 <= addr && end <= k.0 + m.len && m.allows(write) {
                ok = true;
                break;
            }
            cursor = c.move_prev();
        }
        if !ok {
            return Err(EFAULT);
        }
        // SAFETY: The range is within a live mapping, so it is memory (the
        // DMA address is the physical address); every page is in the
        // kernel's direct map (x86-64 has no highmem).
        f(unsafe { bindings::phys_to_virt(addr) }.cast());
        Ok(())
    }
}

/// The device side of a device model's DMA (see the module documentation).
///
/// # Invariants
///
/// `tracker` is the tracker of `dev`, which lives as long as `dev` does.
///
/// # Examples
///
/// ```
/// use kernel::c_str;
/// use kernel::dma::{CoherentBuffer, Mapping, PlatformDevice};
/// use kernel::platform::ModelDevice;
///
/// let model = ModelDevice::new(c_str!("rs-busmaster-doc"), PlatformDevice::ID_AUTO, ())?;
/// let dev = model.device();
/// let bus = model.bus_master();
///
/// // The device writes a ring the driver allocated; the CPU sees it.
/// let ring = CoherentBuffer::new(dev, 8192, GFP_KERNEL)?;
/// bus.write(ring.dma_addr() + 4090, b"straddles a page")?;
/// let mut seen = [0u8; 16];
/// ring.read(4090, &mut seen)?;
/// assert_eq!(&seen, b"straddles a page");
/// // Not past the allocation, though.
/// assert_eq!(bus.write(ring.dma_addr() + 8190, b"too far"), Err(EFAULT));
///
/// // The device reads a frame mapped for it to read, and may not write it.
/// let mut frame = KVec::new();
/// for i in 0..1500u32 {
///     frame.push(i as u8, GFP_KERNEL)?;
/// }
/// let map = Mapping::map_single(dev, &frame)?;
/// let mut wire = KVec::from_elem(0u8, 1500, GFP_KERNEL)?;
/// bus.read(map.addr(), &mut wire)?;
/// assert!(wire == frame);
/// assert_eq!(bus.write(map.addr(), b"x"), Err(EFAULT));
///
/// // Once unmapped, the memory is out of the device's reach.
/// let addr = map.addr();
/// drop(map);
/// assert_eq!(bus.read(addr, &mut wire), Err(EFAULT));
///
/// // As is anything never mapped, or a range that wraps.
/// let mut b = [0u8; 8];
/// assert_eq!(bus.read(1 << 40, &mut b), Err(EFAULT));
/// assert_eq!(bus.read(u64::MAX - 3, &mut b), Err(EFAULT));
/// # Ok::<(), Error>(())
/// ```
pub struct BusMaster {
    dev: ARef<Device>,
    tracker: NonNull<Tracker>,
}

// SAFETY: The tracker is locked; the device reference may go anywhere.
unsafe impl Send for BusMaster {}
// SAFETY: As above.
unsafe impl Sync for BusMaster {}

impl BusMaster {
    /// # Safety
    ///
    /// `tracker` must be the tracker of `dev`, alive as long as `dev` is.
    pub(crate) unsafe fn new(dev: &Device, tracker: &Tracker) -> Self {
        // INVARIANT: guaranteed by the caller.
        Self {
            dev: dev.into(),
            tracker: NonNull::from(tracker),
        }
    }

    fn tracker(&self) -> &Tracker {
        // SAFETY: By the type invariants the tracker lives while `dev`,
        // which we hold a reference to, does.
        unsafe { self.tracker.as_ref() }
    }

    /// The device.
    pub fn device(&self) -> &Device {
        &self.dev
    }

    /// Writes `data` to the memory at DMA address `addr`, as the device;
    /// `EFAULT` unless one live mapping the device may write covers it.
    pub fn write(&self, addr: u64, data: &[u8]) -> Result {
        if data.is_empty() {
            return Ok(());
        }
        self.tracker().access(addr, data.len(), true, |dst| {
            // SAFETY: `dst` is valid for `data.len()` bytes of memory the
            // device owns (mapped for it), which no Rust reference covers.
            unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), dst, data.len()) }
        })
    }

    /// Reads the memory at DMA address `addr` into `buf`, as the device;
    /// `EFAULT` unless one live mapping the device may read covers it.
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result {
        if buf.is_empty() {
            return Ok(());
        }
        let len = buf.len();
        self.tracker().access(addr, len, false, |src| {
            // SAFETY: `src` is valid for `len` bytes mapped for the device
            // to read; `buf` is ours.
            unsafe { core::ptr::copy_nonoverlapping(src, buf.as_mut_ptr(), len) }
        })
    }
}

/// The DMA ops of every [`ModelDevice`](crate::platform::ModelDevice):
/// identity translation (a DMA address is the physical address) with every
/// mapping tracked.
pub(crate) static TRACKED_OPS: bindings::dma_map_ops = bindings::dma_map_ops {
    alloc: Some(alloc_callback),
    free: Some(free_callback),
    map_page: Some(map_page_callback),
    unmap_page: Some(unmap_page_callback),
    map_sg: Some(map_sg_callback),
    unmap_sg: Some(unmap_sg_callback),
    // SAFETY: All-zero is "not supported" (or "nothing to do", for syncs:
    // the memory is coherent) for the rest of the table.
    ..unsafe { core::mem::zeroed() }
};

fn direction(dir: bindings::dma_data_direction) -> Direction {
    match dir {
        bindings::dma_data_direction_DMA_TO_DEVICE => Direction::ToDevice,
        bindings::dma_data_direction_DMA_FROM_DEVICE => Direction::FromDevice,
        _ => Direction::Bidirectional,
    }
}

/// # Safety
///
/// Called by the DMA API for a `ModelDevice`'s `dev` (`dma_alloc_attrs`).
unsafe extern "C" fn alloc_callback(
    dev: *mut bindings::device,
    size: usize,
    dma_handle: *mut bindings::dma_addr_t,
    gfp: bindings::gfp_t,
    _attrs: c_ulong,
) -> *mut c_void {
    // SAFETY: FFI call; the DMA API cleared the zone flags.
    let cpu = unsafe { bindings::alloc_pages_exact(size, gfp | bindings::__GFP_ZERO) };
    if cpu.is_null() {
        return cpu;
    }
    // SAFETY: `cpu` is in the direct map.
    let phys = unsafe { bindings::virt_to_phys(cpu) };
    // SAFETY: guaranteed by the caller.
    let tracked =
        unsafe { tracker_of(dev).track(dev, phys, size as u64, Direction::Bidirectional) };
    if tracked.is_err() {
        // SAFETY: Allocated above, not handed out.
        unsafe { bindings::free_pages_exact(cpu, size) };
        return core::ptr::null_mut();
    }
    // SAFETY: `dma_handle` is valid for writes (caller).
    unsafe { *dma_handle = phys };
    cpu
}

/// # Safety
///
/// Called by the DMA API for a `ModelDevice`'s `dev` (`dma_free_attrs`) with
/// what `alloc_callback` returned.
unsafe extern "C" fn free_callback(
    dev: *mut bindings::device,
    size: usize,
    cpu: *mut c_void,
    dma_handle: bindings::dma_addr_t,
    _attrs: c_ulong,
) {
    // SAFETY: guaranteed by the caller.
    unsafe { tracker_of(dev).untrack(dev, dma_handle, size as u64) };
    // SAFETY: Allocated by `alloc_callback` with this size; the device may
    // not reach it any more (untracked above).
    unsafe { bindings::free_pages_exact(cpu, size) };
}

/// # Safety
///
/// Called by the DMA API for a `ModelDevice`'s `dev` (`dma_map_page_attrs`)
/// with a valid page range.
unsafe extern "C" fn map_page_callback(
    dev: *mut bindings::device,
    page: *mut bindings::page,
    offset: c_ulong,
    size: usize,
    dir: bindings::dma_data_direction,
    _attrs: c_ulong,
) -> bindings::dma_addr_t {
    // SAFETY: `page` is valid (caller).
    let phys = unsafe { bindings::page_to_phys(page) } + offset as u64;
    // SAFETY: guaranteed by the caller.
    match unsafe { tracker_of(dev).track(dev, phys, size as u64, direction(dir)) } {
        Ok(()) => phys,
        Err(_) => MAPPING_ERROR,
    }
}

/// # Safety
///
/// Called by the DMA API for a `ModelDevice`'s `dev` (`dma_unmap_page_attrs`).
unsafe extern "C" fn unmap_page_callback(
    dev: *mut bindings::device,
    addr: bindings::dma_addr_t,
    size: usize,
    _dir: bindings::dma_data_direction,
    _attrs: c_ulong,
) {
    // SAFETY: guaranteed by the caller.
    unsafe { tracker_of(dev).untrack(dev, addr, size as u64) };
}

/// # Safety
///
/// Called by the DMA API for a `ModelDevice`'s `dev` (`dma_map_sg_attrs`)
/// with a valid list of `nents` entries.
unsafe extern "C" fn map_sg_callback(
    dev: *mut bindings::device,
    sgl: *mut bindings::scatterlist,
    nents: c_int,
    dir: bindings::dma_data_direction,
    _attrs: c_ulong,
) -> c_int {
    // SAFETY: guaranteed by the caller.
    let tracker = unsafe { tracker_of(dev) };
    let mut sg = sgl;
    for i in 0..nents {
        // SAFETY: `sg` is entry `i` of the list (caller).
        let (phys, len) = unsafe { (bindings::sg_phys(sg), (*sg).length) };
        // SAFETY: `tracker` is `dev`'s.
        if unsafe { tracker.track(dev, phys, len.into(), direction(dir)) }.is_err() {
            // SAFETY: The first `i` entries were mapped above, each with a
            // device reference; the one we still hold (the caller's) keeps
            // `tracker` alive.
            unsafe { unmap_sg(dev, sgl, i) };
            return ENOMEM.to_errno();
        }
        // SAFETY: As above; the DMA address and length are the entry's
        // (`sg_dma_len` is `length` itself without
        // `CONFIG_NEED_SG_DMA_LENGTH`).
        unsafe {
            (*sg).dma_address = phys;
            #[cfg(CONFIG_NEED_SG_DMA_LENGTH)]
            {
                (*sg).dma_length = len;
            }
            sg = bindings::sg_next(sg);
        }
    }
    nents
}

/// # Safety
///
/// The first `nents` entries of `sgl` must have been mapped by
/// `map_sg_callback` for `dev`, a `ModelDevice`'s device that stays alive
/// during the call.
unsafe fn unmap_sg(dev: *mut bindings::device, sgl: *mut bindings::scatterlist, nents: c_int) {
    let mut sg = sgl;
    for _ in 0..nents {
        // SAFETY: `sg` is a mapped entry of the list, and `dev` alive
        // (caller).
        unsafe {
            tracker_of(dev).untrack(dev, (*sg).dma_address, bindings::sg_dma_len(sg).into());
            sg = bindings::sg_next(sg);
        }
    }
}

/// # Safety
///
/// Called by the DMA API for a `ModelDevice`'s `dev` (`dma_unmap_sg_attrs`)
/// with what `map_sg_callback` mapped.
unsafe extern "C" fn unmap_sg_callback(
    dev: *mut bindings::device,
    sgl: *mut bindings::scatterlist,
    nents: c_int,
    _dir: bindings::dma_data_direction,
    _attrs: c_ulong,
) {
    // SAFETY: guaranteed by the caller, who holds a reference to `dev`
    // (through the mappings, at least until the last one goes: `unmap_sg`
    // reads nothing of the tracker after dropping that one).
    unsafe { unmap_sg(dev, sgl, nents) };
}
