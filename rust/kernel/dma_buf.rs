// SPDX-License-Identifier: GPL-2.0

//! dma-buf importing: references, attachments and mappings.
//!
//! C header: [`include/linux/dma-buf.h`](srctree/include/linux/dma-buf.h)
//!
//! An importer takes a reference on a dma-buf from a file descriptor
//! ([`DmaBuf::get`]), attaches it to the device that will DMA into it
//! ([`DmaBuf::attach`]) and maps the attachment ([`Attachment::map`]),
//! which gives the DMA addresses as a scatter-gather table
//! ([`Mapping::table`]). Each step is undone when its object is dropped:
//! [`Mapping`] unmaps, then detaches, then puts the reference, always in
//! that order. All of it runs in process context (the calls sleep).
//!
//! [`export_pages`] makes a dma-buf of kernel pages, as an exporter (a GPU
//! driver, udmabuf) would; tests use it to get a dma-buf without user space.

use crate::alloc::{flags::GFP_KERNEL, KBox, KVec};
use crate::bindings;
use crate::device::Device;
use crate::dma::Direction;
use crate::error::{code::*, from_err_ptr, Error, Result};
use crate::page::PAGE_SIZE;
use crate::scatterlist::{MappedSgTable, PageRange, SgTable};
use crate::types::ARef;
use core::ptr::NonNull;

/// A reference to a dma-buf (the reference of its file).
///
/// # Invariants
///
/// `ptr` is a valid `struct dma_buf` on which this object owns one
/// reference.
pub struct DmaBuf {
    ptr: NonNull<bindings::dma_buf>,
}

// SAFETY: dma-buf references may be taken and dropped from any thread.
unsafe impl Send for DmaBuf {}
// SAFETY: `&DmaBuf` only reads immutable fields.
unsafe impl Sync for DmaBuf {}

impl DmaBuf {
    /// The dma-buf of file descriptor `fd` of the current process
    /// (`dma_buf_get`). `EBADF` for a descriptor that is not open (any
    /// above `i32::MAX` included, as C's `int` parameter sees them
    /// negative), `EINVAL` for a file that is not a dma-buf.
    pub fn get(fd: u32) -> Result<Self> {
        let fd = i32::try_from(fd).map_err(|_| EBADF)?;
        // SAFETY: FFI call; any descriptor value is allowed.
        let ptr = from_err_ptr(unsafe { bindings::dma_buf_get(fd) })?;
        // INVARIANT: `dma_buf_get` returned a reference.
        Ok(Self {
            ptr: NonNull::new(ptr).ok_or(EBADF)?,
        })
    }

    /// The raw `struct dma_buf`.
    pub fn as_raw(&self) -> *mut bindings::dma_buf {
        self.ptr.as_ptr()
    }

    /// Its size in bytes (fixed at export).
    pub fn size(&self) -> usize {
        // SAFETY: Valid by the type invariants; `size` never changes.
        unsafe { (*self.ptr.as_ptr()).size }
    }

    /// Attaches the dma-buf to `dev`, the device that will access it
    /// (`dma_buf_attach`). The attachment keeps a reference on the
    /// dma-buf and on `dev`.
    pub fn attach(&self, dev: &Device) -> Result<Attachment> {
        // SAFETY: The dma-buf and `dev` are valid.
        let att = from_err_ptr(unsafe { bindings::dma_buf_attach(self.as_raw(), dev.as_raw()) })?;
        // INVARIANT: `dma_buf_attach` attached `dev`; we hold references on
        // both for as long as the attachment exists.
        Ok(Attachment {
            att: NonNull::new(att).ok_or(EINVAL)?,
            dmabuf: self.clone(),
            dev: dev.into(),
        })
    }
}

impl Clone for DmaBuf {
    fn clone(&self) -> Self {
        // SAFETY: We hold a reference, so the dma-buf is alive.
        unsafe { bindings::get_dma_buf(self.as_raw()) };
        // INVARIANT: `get_dma_buf` took a reference for the new object.
        Self { ptr: self.ptr }
    }
}

impl Drop for DmaBuf {
    fn drop(&mut self) {
        // SAFETY: By the type invariants we own a reference.
        unsafe { bindings::dma_buf_put(self.as_raw()) };
    }
}

/// A dma-buf attached to a device; detached on drop.
///
/// # Invariants
///
/// `att` was returned by `dma_buf_attach(dmabuf, dev)` and is not
/// detached yet.
pub struct Attachment {
    att: NonNull<bindings::dma_buf_attachment>,
    dmabuf: DmaBuf,
    // Keeps the `struct device` the attachment points to allocated until
    // it is detached, whenever that happens.
    dev: ARef<Device>,
}

// SAFETY: An attachment may be mapped and detached from any thread.
unsafe impl Send for Attachment {}
// SAFETY: `&Attachment` gives nothing that is not thread-safe.
unsafe impl Sync for Attachment {}

impl Attachment {
    /// Maps the attachment for DMA in direction `dir`
    /// (`dma_buf_map_attachment_unlocked`); on failure the attachment is
    /// dropped (detached).
    pub fn map(self, dir: Direction) -> Result<Mapping> {
        // SAFETY: The attachment is valid (type invariants).
        let sgt = from_err_ptr(unsafe {
            bindings::dma_buf_map_attachment_unlocked(self.att.as_ptr(), dir.as_raw())
        })?;
        // INVARIANT: mapped just now.
        Ok(Mapping {
            sgt: NonNull::new(sgt).ok_or(ENOMEM)?,
            dir,
            att: self,
        })
    }

    /// The device the dma-buf is attached to.
    pub fn device(&self) -> &Device {
        &self.dev
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        // SAFETY: By the type invariants `att` is an attachment of
        // `dmabuf` that is not mapped (a `Mapping` unmaps it before) nor
        // detached.
        unsafe { bindings::dma_buf_detach(self.dmabuf.as_raw(), self.att.as_ptr()) };
    }
}

/// A mapped attachment: the dma-buf's memory as DMA addresses of the
/// attached device. Unmaps, detaches and puts the dma-buf on drop.
///
/// # Invariants
///
/// `sgt` was returned by `dma_buf_map_attachment_unlocked(att, dir)` and
/// is not unmapped yet.
///
/// # Examples
///
/// ```
/// use kernel::c_str;
/// use kernel::dma::{self, Direction, PlatformDevice};
/// use kernel::dma_buf::{self, DmaBuf};
/// use kernel::page::PAGE_SIZE;
///
/// let pdev = PlatformDevice::new(c_str!("rs-dmabuf-doc"), PlatformDevice::ID_AUTO)?;
/// dma::set_mask_64(pdev.device())?;
/// // Three chunks: 1, 4 and 2 contiguous pages.
/// let buf = dma_buf::export_pages(&[0, 2, 1])?;
/// assert_eq!(buf.size(), 7 * PAGE_SIZE);
///
/// let map = buf.attach(pdev.device())?.map(Direction::FromDevice)?;
/// assert_eq!(map.table().dma_len(), 7 * PAGE_SIZE as u64);
/// for seg in map.table().dma_segments() {
///     assert_eq!(seg.addr % PAGE_SIZE as u64, 0);
///     assert_eq!(seg.len as usize % PAGE_SIZE, 0);
/// }
/// assert_eq!(map.dmabuf().size(), buf.size());
/// // The mapping keeps its own reference: the dma-buf outlives `buf`.
/// drop(buf);
/// drop(map);
///
/// // Descriptors that are not dma-bufs.
/// assert_eq!(DmaBuf::get(u32::MAX).err(), Some(EBADF));
/// assert_eq!(DmaBuf::get(0x7fff_fff0).err(), Some(EBADF));
/// # Ok::<(), Error>(())
/// ```
pub struct Mapping {
    sgt: NonNull<bindings::sg_table>,
    dir: Direction,
    att: Attachment,
}

// SAFETY: A mapping may be used and unmapped from any thread.
unsafe impl Send for Mapping {}
// SAFETY: `&Mapping` only reads the table.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// The DMA addresses of the dma-buf for the attached device.
    pub fn table(&self) -> &SgTable {
        // SAFETY: Mapped until `self` is dropped (type invariants) and the
        // exporter does not change it meanwhile.
        unsafe { SgTable::from_raw(self.sgt.as_ptr()) }
    }

    /// The dma-buf.
    pub fn dmabuf(&self) -> &DmaBuf {
        &self.att.dmabuf
    }

    /// The device it is mapped for.
    pub fn device(&self) -> &Device {
        self.att.device()
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: By the type invariants `sgt` is the mapping of `att` in
        // `dir`. The attachment is detached afterwards (field drop).
        unsafe {
            bindings::dma_buf_unmap_attachment_unlocked(
                self.att.att.as_ptr(),
                self.sgt.as_ptr(),
                self.dir.as_raw(),
            )
        };
    }
}

/// Pages of a dma-buf made by [`export_pages`]: (first page, order).
struct Pages(KVec<(NonNull<bindings::page>, u32)>);

impl Drop for Pages {
    fn drop(&mut self) {
        for (page, order) in self.0.iter() {
            // SAFETY: Allocated by `alloc_pages` with this order, and no
            // mapping of the dma-buf exists any more (release callback).
            unsafe { bindings::__free_pages(page.as_ptr(), *order) };
        }
    }
}

fn direction_from_raw(dir: bindings::dma_data_direction) -> Option<Direction> {
    [
        Direction::ToDevice,
        Direction::FromDevice,
        Direction::Bidirectional,
    ]
    .into_iter()
    .find(|d| d.as_raw() == dir)
}

/// # Safety
///
/// Called by the dma-buf core for an attachment of a dma-buf made by
/// [`export_pages`].
unsafe extern "C" fn pages_map(
    att: *mut bindings::dma_buf_attachment,
    dir: bindings::dma_data_direction,
) -> *mut bindings::sg_table {
    let r = (|| -> Result<*mut bindings::sg_table> {
        let dir = direction_from_raw(dir).ok_or(EINVAL)?;
        // SAFETY: guaranteed by the caller: `att` and its dma-buf are valid
        // and the dma-buf's `priv` is our `Pages`, alive until `release`.
        let (pages, dev) = unsafe {
            (
                &*(*(*att).dmabuf).priv_.cast::<Pages>(),
                Device::as_ref((*att).dev),
            )
        };
        let mut ranges = KVec::with_capacity(pages.0.len(), GFP_KERNEL)?;
        for (page, order) in pages.0.iter() {
            let len = u32::try_from(PAGE_SIZE << order).map_err(|_| EINVAL)?;
            // SAFETY: An allocation of `1 << order` pages, which stays
            // until `release`, after every mapping is gone.
            ranges.push(unsafe { PageRange::new(page.as_ptr(), 0, len) }, GFP_KERNEL)?;
        }
        Ok(MappedSgTable::new(dev, &ranges, dir)?.into_raw())
    })();
    r.unwrap_or_else(|e: Error| e.to_ptr())
}

/// # Safety
///
/// Called by the dma-buf core with a table `pages_map` returned.
unsafe extern "C" fn pages_unmap(
    _att: *mut bindings::dma_buf_attachment,
    sgt: *mut bindings::sg_table,
    _dir: bindings::dma_data_direction,
) {
    // SAFETY: `sgt` came from `MappedSgTable::into_raw` in `pages_map`.
    drop(unsafe { MappedSgTable::from_raw(sgt) });
}

/// # Safety
///
/// Called by the dma-buf core once, when the last reference of a dma-buf
/// made by [`export_pages`] is gone.
unsafe extern "C" fn pages_release(dmabuf: *mut bindings::dma_buf) {
    // SAFETY: `priv` is the `Pages` box `export_pages` leaked.
    drop(unsafe { KBox::from_raw((*dmabuf).priv_.cast::<Pages>()) });
}

/// The ops table of [`export_pages`].
struct Ops(bindings::dma_buf_ops);

// SAFETY: Immutable; only function pointers.
unsafe impl Sync for Ops {}

static PAGES_OPS: Ops = Ops(bindings::dma_buf_ops {
    map_dma_buf: Some(pages_map),
    unmap_dma_buf: Some(pages_unmap),
    release: Some(pages_release),
    // SAFETY: All other callbacks are optional; zero means unset.
    ..unsafe { core::mem::zeroed() }
});

/// Exports a dma-buf of kernel pages: one chunk of `1 << order`
/// physically contiguous pages per entry of `orders`, in order. Its size
/// is the sum of the chunks; it is mapped chunk by chunk (one
/// scatter-gather entry each, unless the DMA layer merges them).
///
/// `EINVAL` for no chunk or an order above 10, `ENOMEM`.
pub fn export_pages(orders: &[u32]) -> Result<DmaBuf> {
    if orders.is_empty() || orders.iter().any(|&o| o > 10) {
        return Err(EINVAL);
    }
    let mut pages = Pages(KVec::with_capacity(orders.len(), GFP_KERNEL)?);
    let mut size = 0usize;
    for &order in orders {
        // SAFETY: FFI call; `order` is small.
        let page = unsafe { bindings::alloc_pages(GFP_KERNEL.as_raw(), order) };
        let page = NonNull::new(page).ok_or(ENOMEM)?;
        // Cannot fail: the capacity is reserved.
        pages.0.push((page, order), GFP_KERNEL)?;
        size += PAGE_SIZE << order;
    }
    let pages = KBox::into_raw(KBox::new(pages, GFP_KERNEL)?);
    let info = bindings::dma_buf_export_info {
        exp_name: crate::c_str!("net_ext_pages").as_char_ptr(),
        owner: core::ptr::null_mut(),
        ops: &PAGES_OPS.0,
        size,
        flags: bindings::O_RDWR as i32,
        resv: core::ptr::null_mut(),
        priv_: pages.cast(),
    };
    // SAFETY: `info` is complete; on success the dma-buf owns `pages`.
    match from_err_ptr(unsafe { bindings::dma_buf_export(&info) }) {
        // INVARIANT: a new dma-buf with one reference, now ours.
        Ok(ptr) => Ok(DmaBuf {
            ptr: NonNull::new(ptr).ok_or(ENOMEM)?,
        }),
        Err(e) => {
            // SAFETY: Not exported: the pages are still ours.
            drop(unsafe { KBox::from_raw(pages) });
            Err(e)
        }
    }
}
