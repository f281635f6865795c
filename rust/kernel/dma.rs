// SPDX-License-Identifier: GPL-2.0

//! DMA for network drivers.
//!
//! C headers: [`include/linux/dma-mapping.h`](srctree/include/linux/dma-mapping.h),
//! [`include/linux/platform_device.h`](srctree/include/linux/platform_device.h)
//!
//! [`set_mask_64`] makes a device DMA-capable, [`CoherentBuffer`] is memory
//! the CPU and the device share (descriptor rings), [`Mapping`] a streaming
//! mapping of kernel memory (a packet to transmit). [`PlatformDevice`]
//! registers a plain platform device, a DMA-capable device for tests.
//!
//! The device side of DMA, for devices modelled in the kernel, is
//! [`BusMaster`].
//!
//! # Races with the device
//!
//! Memory shared with a device may change under the CPU at any time. This
//! module never hands out a Rust reference to such memory: the CPU reads and
//! writes it with copies ([`CoherentBuffer::read`], [`CoherentBuffer::write`])
//! made of volatile accesses, so the compiler neither invents, merges nor
//! drops accesses. A copy racing with the device may see a mix of old and
//! new bytes; aligned `u32`/`u64` accesses ([`CoherentBuffer::read_u32`] and
//! friends) are single accesses and are not torn. Ordering between accesses
//! (a descriptor before its doorbell) is the caller's business, as in C
//! (`dma_wmb()`/`dma_rmb()`; on x86-64 these are compiler barriers).

use crate::alloc::Flags;
use crate::bindings;
use crate::device::Device;
use crate::error::{code::*, from_err_ptr, to_result, Result};
use crate::page::{Page, PAGE_SIZE};
use crate::str::CStr;
use crate::types::ARef;
use core::marker::PhantomData;
use core::ptr::NonNull;

#[cfg(CONFIG_ARCH_HAS_DMA_OPS)]
mod bus_master;
#[cfg(CONFIG_ARCH_HAS_DMA_OPS)]
pub use bus_master::BusMaster;
#[cfg(CONFIG_ARCH_HAS_DMA_OPS)]
pub(crate) use bus_master::{Tracker, TRACKED_OPS};

/// Direction of a DMA transfer (`enum dma_data_direction`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Direction {
    /// The device reads the memory (`DMA_TO_DEVICE`), e.g. a packet to send.
    ToDevice,
    /// The device writes the memory (`DMA_FROM_DEVICE`), e.g. an rx buffer.
    FromDevice,
    /// Both (`DMA_BIDIRECTIONAL`).
    Bidirectional,
}

impl Direction {
    pub(crate) fn as_raw(self) -> bindings::dma_data_direction {
        match self {
            Direction::ToDevice => bindings::dma_data_direction_DMA_TO_DEVICE,
            Direction::FromDevice => bindings::dma_data_direction_DMA_FROM_DEVICE,
            Direction::Bidirectional => bindings::dma_data_direction_DMA_BIDIRECTIONAL,
        }
    }
}

/// Lets `dev` address all 64 bits, for streaming and coherent DMA
/// (`dma_coerce_mask_and_coherent(dev, DMA_BIT_MASK(64))`).
///
/// This also gives a DMA mask to a device that had none (a device on a
/// private bus, a platform device), without which the DMA API refuses to
/// map memory for it.
pub fn set_mask_64(dev: &Device) -> Result {
    // SAFETY: `dev` is a valid device; setting its masks has no other
    // requirement.
    to_result(unsafe { bindings::dma_coerce_mask_and_coherent(dev.as_raw(), u64::MAX) })
}

/// Copies `dst.len()` bytes from `src` with volatile byte reads.
///
/// # Safety
///
/// `src` must be valid for reads of `dst.len()` bytes; the bytes may be
/// written concurrently by a device (see the [module docs](self)).
pub(crate) unsafe fn copy_from_shared(src: *const u8, dst: &mut [u8]) {
    for (i, d) in dst.iter_mut().enumerate() {
        // SAFETY: `i < dst.len()`, and `src` is valid for that many bytes.
        *d = unsafe { src.add(i).read_volatile() };
    }
}

/// Copies `src` to `dst` with volatile byte writes.
///
/// # Safety
///
/// `dst` must be valid for writes of `src.len()` bytes and not be memory
/// Rust code holds a reference to; a device may access it concurrently.
pub(crate) unsafe fn copy_to_shared(src: &[u8], dst: *mut u8) {
    for (i, s) in src.iter().enumerate() {
        // SAFETY: `i < src.len()`, and `dst` is valid for that many bytes.
        unsafe { dst.add(i).write_volatile(*s) };
    }
}

/// Checks that `offset..offset + len` lies within `0..size`.
fn check_range(offset: usize, len: usize, size: usize) -> Result {
    match offset.checked_add(len) {
        Some(end) if end <= size => Ok(()),
        _ => Err(EINVAL),
    }
}

/// A platform device registered by Rust code, unregistered when dropped.
///
/// It has no data and no resources; it exists to be a DMA-capable
/// `struct device` (after [`set_mask_64`]) for a test. Drivers of device
/// models do not bind to it, whatever its name (see
/// [`ModelDevice`](crate::platform::ModelDevice)).
///
/// # Invariants
///
/// `pdev` is a platform device this object registered and has not yet
/// unregistered.
///
/// # Examples
///
/// ```
/// use kernel::c_str;
/// use kernel::dma::{self, PlatformDevice};
///
/// let pdev = PlatformDevice::new(c_str!("rs-dma-doc"), PlatformDevice::ID_AUTO)?;
/// dma::set_mask_64(pdev.device())?;
/// drop(pdev);
/// # Ok::<(), Error>(())
/// ```
pub struct PlatformDevice {
    pdev: NonNull<bindings::platform_device>,
}

// SAFETY: The platform device may be used and unregistered from any thread
// (in process context).
unsafe impl Send for PlatformDevice {}
// SAFETY: `&PlatformDevice` only gives `&Device`, which is `Sync`.
unsafe impl Sync for PlatformDevice {}

impl PlatformDevice {
    /// No instance number: the device is called `name` (`PLATFORM_DEVID_NONE`).
    pub const ID_NONE: i32 = bindings::PLATFORM_DEVID_NONE;
    /// A free instance number picked by the kernel (`PLATFORM_DEVID_AUTO`).
    pub const ID_AUTO: i32 = bindings::PLATFORM_DEVID_AUTO;

    /// Registers a platform device called `name.id` (`name` alone with
    /// [`Self::ID_NONE`]). The name is copied. A name and id that already
    /// exist give an error (and a warning from sysfs in the log): prefer
    /// [`Self::ID_AUTO`].
    pub fn new(name: &CStr, id: i32) -> Result<Self> {
        // SAFETY: `name` is a valid NUL-terminated string, which the C
        // side copies.
        let pdev = from_err_ptr(unsafe {
            bindings::platform_device_register_simple(name.as_char_ptr(), id, core::ptr::null(), 0)
        })?;
        // INVARIANT: registered just now; a non-error pointer is non-null.
        Ok(Self {
            pdev: NonNull::new(pdev).ok_or(ENOMEM)?,
        })
    }

    /// The device.
    pub fn device(&self) -> &Device {
        // SAFETY: By the type invariants the platform device is registered,
        // so its `struct device` is valid and holds a reference (the
        // registration's) until `drop` unregisters it, which cannot happen
        // while `&self` is borrowed.
        unsafe { Device::as_ref(core::ptr::addr_of_mut!((*self.pdev.as_ptr()).dev)) }
    }
}

impl Drop for PlatformDevice {
    fn drop(&mut self) {
        // SAFETY: By the type invariants the device is registered by us.
        // `ARef<Device>`s taken from it (buffers, mappings) keep the memory
        // of the `struct device` alive past this.
        unsafe { bindings::platform_device_unregister(self.pdev.as_ptr()) }
    }
}

/// A DMA-coherent buffer (`dma_alloc_coherent`), freed when dropped.
///
/// The device and the CPU see each other's writes without syncs. The CPU
/// reaches the buffer only through copies (see the [module docs](self) for
/// the race model).
///
/// # Invariants
///
/// `cpu` and `dma` are the CPU and DMA addresses of `len > 0` bytes
/// allocated by `dma_alloc_attrs` for `dev`, owned by this object.
///
/// # Examples
///
/// ```
/// use kernel::c_str;
/// use kernel::dma::{self, CoherentBuffer, PlatformDevice};
///
/// let pdev = PlatformDevice::new(c_str!("rs-coherent-doc"), PlatformDevice::ID_AUTO)?;
/// dma::set_mask_64(pdev.device())?;
/// let buf = CoherentBuffer::new(pdev.device(), 256, GFP_KERNEL)?;
/// assert_ne!(buf.dma_addr(), 0);
/// assert_eq!(buf.len(), 256);
/// buf.write(8, b"ring")?;
/// let mut out = [0u8; 4];
/// buf.read(8, &mut out)?;
/// assert_eq!(&out, b"ring");
/// buf.write_u64(16, 0x1122_3344_5566_7788)?;
/// assert_eq!(buf.read_u64(16)?, 0x1122_3344_5566_7788);
/// buf.write_u32(24, 0xdead_beef)?;
/// assert_eq!(buf.read_u32(24)?, 0xdead_beef);
/// assert_eq!(buf.read_u32(2), Err(EINVAL));
/// assert_eq!(buf.write(250, b"too long"), Err(EINVAL));
/// # Ok::<(), Error>(())
/// ```
pub struct CoherentBuffer {
    dev: ARef<Device>,
    cpu: NonNull<u8>,
    dma: bindings::dma_addr_t,
    len: usize,
}

// SAFETY: The buffer may be used and freed from any thread; CPU accesses go
// through volatile copies (see the module docs).
unsafe impl Send for CoherentBuffer {}
// SAFETY: As above; concurrent copies race like copies with the device do.
unsafe impl Sync for CoherentBuffer {}

impl CoherentBuffer {
    /// Allocates `len` bytes of zeroed coherent memory for `dev`. `flags`
    /// is usually `GFP_KERNEL`. `EIO` if `dev` has no DMA mask (see
    /// [`set_mask_64`]), `EINVAL` if `len` is 0.
    pub fn new(dev: &Device, len: usize, flags: Flags) -> Result<Self> {
        if len == 0 {
            return Err(EINVAL);
        }
        if dev_has_no_dma_mask(dev) {
            return Err(EIO);
        }
        let mut dma: bindings::dma_addr_t = 0;
        // SAFETY: `dev` is valid and has a coherent mask; `dma` is valid for
        // writes. `dma_alloc_coherent` zeroes the memory.
        let cpu =
            unsafe { bindings::dma_alloc_attrs(dev.as_raw(), len, &mut dma, flags.as_raw(), 0) };
        let cpu = NonNull::new(cpu.cast::<u8>()).ok_or(ENOMEM)?;
        // INVARIANT: allocated just now.
        Ok(Self {
            dev: dev.into(),
            cpu,
            dma,
            len,
        })
    }

    /// The address the device uses.
    pub fn dma_addr(&self) -> u64 {
        self.dma
    }

    /// Size in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: buffers are never empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copies `buf.len()` bytes at `offset` into `buf`; `EINVAL` if out of
    /// bounds.
    pub fn read(&self, offset: usize, buf: &mut [u8]) -> Result {
        check_range(offset, buf.len(), self.len)?;
        // SAFETY: The range is in bounds of the buffer, which the type
        // invariants say we own.
        unsafe { copy_from_shared(self.cpu.as_ptr().add(offset), buf) };
        Ok(())
    }

    /// Copies `data` to `offset`; `EINVAL` if out of bounds.
    pub fn write(&self, offset: usize, data: &[u8]) -> Result {
        check_range(offset, data.len(), self.len)?;
        // SAFETY: The range is in bounds of the buffer, which the type
        // invariants say we own; no Rust reference to it exists.
        unsafe { copy_to_shared(data, self.cpu.as_ptr().add(offset)) };
        Ok(())
    }

    /// Pointer to an aligned `T` at `offset`, or `EINVAL`.
    fn field<T>(&self, offset: usize) -> Result<*mut T> {
        check_range(offset, core::mem::size_of::<T>(), self.len)?;
        // SAFETY: In bounds (checked above).
        let p = unsafe { self.cpu.as_ptr().add(offset) };
        // The DMA API aligns coherent memory to at least a page, so this is
        // `offset`'s alignment; checked on the address all the same.
        if p as usize % core::mem::align_of::<T>() != 0 {
            return Err(EINVAL);
        }
        // CAST: `p` is aligned for `T` and `size_of::<T>()` bytes of the
        // buffer follow it (checked above).
        Ok(p.cast::<T>())
    }

    /// Reads the naturally aligned native-endian `u32` at `offset` with one
    /// access; `EINVAL` if out of bounds or misaligned.
    pub fn read_u32(&self, offset: usize) -> Result<u32> {
        // SAFETY: `field` returns an aligned in-bounds pointer into the
        // buffer we own; volatile because the device may write it.
        Ok(unsafe { self.field::<u32>(offset)?.read_volatile() })
    }

    /// Writes the naturally aligned native-endian `u32` at `offset` with
    /// one access; `EINVAL` if out of bounds or misaligned.
    pub fn write_u32(&self, offset: usize, value: u32) -> Result {
        // SAFETY: As in `read_u32`.
        unsafe { self.field::<u32>(offset)?.write_volatile(value) };
        Ok(())
    }

    /// Reads the naturally aligned native-endian `u64` at `offset` with one
    /// access; `EINVAL` if out of bounds or misaligned.
    pub fn read_u64(&self, offset: usize) -> Result<u64> {
        // SAFETY: As in `read_u32`.
        Ok(unsafe { self.field::<u64>(offset)?.read_volatile() })
    }

    /// Writes the naturally aligned native-endian `u64` at `offset` with
    /// one access; `EINVAL` if out of bounds or misaligned.
    pub fn write_u64(&self, offset: usize, value: u64) -> Result {
        // SAFETY: As in `read_u32`.
        unsafe { self.field::<u64>(offset)?.write_volatile(value) };
        Ok(())
    }
}

impl Drop for CoherentBuffer {
    fn drop(&mut self) {
        // SAFETY: By the type invariants we own this allocation of `dev`;
        // `dev` is still alive (we hold a reference).
        unsafe {
            bindings::dma_free_attrs(
                self.dev.as_raw(),
                self.len,
                self.cpu.as_ptr().cast(),
                self.dma,
                0,
            )
        }
    }
}

/// Whether `dev` has no streaming DMA mask (the DMA API would WARN).
fn dev_has_no_dma_mask(dev: &Device) -> bool {
    // SAFETY: `dev` is valid; `dma_mask` and `coherent_dma_mask` are read
    // like `dma_map_page_attrs` does, without locks.
    unsafe { (*dev.as_raw()).dma_mask.is_null() || (*dev.as_raw()).coherent_dma_mask == 0 }
}

/// What kind of C mapping a [`Mapping`] is (how it is unmapped).
#[derive(Clone, Copy)]
enum MapKind {
    Single,
    Page,
}

/// A streaming DMA mapping of kernel memory, unmapped when dropped.
///
/// The lifetime `'a` is that of the mapped memory: the safe constructors
/// borrow it, so it can neither be freed nor (for [`Direction::ToDevice`])
/// changed while the device may read it.
///
/// # Invariants
///
/// `addr` is the DMA address, for `dev`, of a mapping of `len > 0` bytes in
/// direction `dir`, made by `kind`'s map function and owned by this object;
/// the mapped memory stays allocated for `'a`.
///
/// # Examples
///
/// ```
/// use kernel::c_str;
/// use kernel::dma::{self, Mapping, PlatformDevice};
///
/// let pdev = PlatformDevice::new(c_str!("rs-map-doc"), PlatformDevice::ID_AUTO)?;
/// dma::set_mask_64(pdev.device())?;
/// let frame = KBox::new([0x5au8; 128], GFP_KERNEL)?;
/// let map = Mapping::map_single(pdev.device(), &frame[..])?;
/// assert_ne!(map.addr(), 0);
/// assert_eq!(map.len(), 128);
/// drop(map);
///
/// let page = kernel::page::Page::alloc_page(GFP_KERNEL)?;
/// let map = Mapping::map_kernel_page(pdev.device(), &page, 64, 512)?;
/// assert_eq!(map.addr() % 4096, 64);
/// assert!(Mapping::map_kernel_page(pdev.device(), &page, 4000, 512).is_err());
///
/// // Stack memory is refused (it may be vmalloc'ed).
/// let on_stack = [0u8; 16];
/// assert!(Mapping::map_single(pdev.device(), &on_stack).is_err());
/// # Ok::<(), Error>(())
/// ```
pub struct Mapping<'a> {
    dev: ARef<Device>,
    addr: bindings::dma_addr_t,
    len: usize,
    dir: Direction,
    kind: MapKind,
    _mem: PhantomData<&'a [u8]>,
}

// SAFETY: A mapping may be used and unmapped from any thread.
unsafe impl Send for Mapping<'_> {}
// SAFETY: `&Mapping` only reads plain fields.
unsafe impl Sync for Mapping<'_> {}

impl<'a> Mapping<'a> {
    /// Maps `buf` for the device to read (`DMA_TO_DEVICE`), e.g. a frame to
    /// transmit. `buf` must be in the kernel's linear map (`kmalloc`, page
    /// allocator); vmalloc memory and the stack give `EINVAL`. Other errors
    /// as for [`Mapping::map_single_raw`].
    pub fn map_single(dev: &Device, buf: &'a [u8]) -> Result<Self> {
        // SAFETY: `buf` is valid for reads of its length for `'a`, and
        // cannot change while borrowed; the device only reads.
        unsafe {
            Self::map_single_raw(dev, buf.as_ptr().cast_mut(), buf.len(), Direction::ToDevice)
        }
    }

    /// Maps `len` bytes at `ptr` in direction `dir` (`dma_map_single`).
    /// `EINVAL` for an empty range or memory outside the linear map, `EIO`
    /// if `dev` has no DMA mask, `ENOMEM` if the mapping fails.
    ///
    /// # Safety
    ///
    /// `ptr..ptr + len` must stay allocated for `'a`. While the mapping
    /// lives, the device may read the range (unless `dir` is
    /// [`Direction::FromDevice`]) and write it (unless `dir` is
    /// [`Direction::ToDevice`]): no Rust reference to it may be used in a
    /// way that such accesses would make undefined behaviour.
    pub(crate) unsafe fn map_single_raw(
        dev: &Device,
        ptr: *mut u8,
        len: usize,
        dir: Direction,
    ) -> Result<Self> {
        if dev_has_no_dma_mask(dev) {
            return Err(EIO);
        }
        // `dma_map_single` WARNs about (and cannot map) memory outside the
        // kernel's linear map: vmalloc, vmap'ed stacks, modules.
        // SAFETY: Address checks only; `object_is_on_stack` looks at the
        // current task's stack bounds.
        let mapped = unsafe {
            len > 0
                && bindings::__virt_addr_valid(ptr as usize)
                && bindings::__virt_addr_valid(ptr as usize + len - 1)
                && bindings::object_is_on_stack(ptr.cast()) == 0
        };
        if !mapped {
            return Err(EINVAL);
        }
        // SAFETY: `dev` is valid with a DMA mask; `ptr..ptr + len` is in the
        // linear map (checked above) and stays allocated (caller).
        let addr = unsafe {
            bindings::dma_map_single_attrs(dev.as_raw(), ptr.cast(), len, dir.as_raw(), 0)
        };
        // SAFETY: Just made by `dma_map_single_attrs`; the caller keeps
        // the memory for `'a`.
        unsafe { Self::from_mapped(dev, addr, len, dir, MapKind::Single) }
    }

    /// Maps `len` bytes at `offset` in `page` for the device to read
    /// (`DMA_TO_DEVICE`). `EINVAL` if the range is empty or leaves the page.
    pub fn map_kernel_page(
        dev: &Device,
        page: &'a Page,
        offset: usize,
        len: usize,
    ) -> Result<Self> {
        check_range(offset, len, PAGE_SIZE)?;
        // SAFETY: `page` is an order-0 page that stays allocated for `'a`,
        // the range is within it; the device only reads, and `Page` only
        // lets the CPU touch its contents through raw copies.
        unsafe { Self::map_page(dev, page.as_ptr(), offset, len, Direction::ToDevice) }
    }

    /// Maps `len` bytes at `offset` in the (possibly compound) page `page`
    /// in direction `dir` (`dma_map_page_attrs`).
    ///
    /// # Safety
    ///
    /// `page` must be a valid page, and the range must lie within it (or
    /// its compound page) and stay allocated for `'a`. The rules on
    /// concurrent CPU access of [`Mapping::map_single_raw`] apply.
    pub(crate) unsafe fn map_page(
        dev: &Device,
        page: *mut bindings::page,
        offset: usize,
        len: usize,
        dir: Direction,
    ) -> Result<Self> {
        if len == 0 {
            return Err(EINVAL);
        }
        if dev_has_no_dma_mask(dev) {
            return Err(EIO);
        }
        // SAFETY: `dev` is valid with a DMA mask; the caller guarantees the
        // page range.
        let addr = unsafe {
            bindings::dma_map_page_attrs(dev.as_raw(), page, offset, len, dir.as_raw(), 0)
        };
        // SAFETY: Just made by `dma_map_page_attrs`; the caller keeps the
        // memory for `'a`.
        unsafe { Self::from_mapped(dev, addr, len, dir, MapKind::Page) }
    }

    /// Takes over a mapping just made by `kind`'s map function, or fails
    /// with `ENOMEM` if that failed.
    ///
    /// # Safety
    ///
    /// `addr` must be what `kind`'s map function returned for `len` bytes in
    /// direction `dir` on `dev`, of memory that stays allocated for `'a`.
    unsafe fn from_mapped(
        dev: &Device,
        addr: bindings::dma_addr_t,
        len: usize,
        dir: Direction,
        kind: MapKind,
    ) -> Result<Self> {
        // SAFETY: `dev` is valid.
        if unsafe { bindings::dma_mapping_error(dev.as_raw(), addr) } != 0 {
            return Err(ENOMEM);
        }
        // INVARIANT: guaranteed by the caller.
        Ok(Self {
            dev: dev.into(),
            addr,
            len,
            dir,
            kind,
            _mem: PhantomData,
        })
    }

    /// The DMA address to give the device.
    pub fn addr(&self) -> u64 {
        self.addr
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: mappings are never empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The direction of the mapping.
    pub fn direction(&self) -> Direction {
        self.dir
    }
}

impl Drop for Mapping<'_> {
    fn drop(&mut self) {
        // SAFETY: By the type invariants we own this mapping of `dev`.
        unsafe {
            match self.kind {
                MapKind::Single => bindings::dma_unmap_single_attrs(
                    self.dev.as_raw(),
                    self.addr,
                    self.len,
                    self.dir.as_raw(),
                    0,
                ),
                MapKind::Page => bindings::dma_unmap_page_attrs(
                    self.dev.as_raw(),
                    self.addr,
                    self.len,
                    self.dir.as_raw(),
                    0,
                ),
            }
        }
    }
}
