// SPDX-License-Identifier: GPL-2.0

//! A dma-buf of host memory: memfd + `F_SEAL_SHRINK` + `UDMABUF_CREATE`,
//! mapped read-only, with `DMA_BUF_IOCTL_SYNC` around CPU reads.

use crate::sys::{check, Fd, Result};

const UDMABUF_FLAGS_CLOEXEC: u32 = 1;
/// `_IOW('u', 0x42, struct udmabuf_create)`.
const UDMABUF_CREATE: libc::c_ulong = 0x4018_7542;
/// `_IOW('b', 0, struct dma_buf_sync)`.
const DMA_BUF_IOCTL_SYNC: libc::c_ulong = 0x4008_6200;
const DMA_BUF_SYNC_READ: u64 = 1;
const DMA_BUF_SYNC_START: u64 = 0;
const DMA_BUF_SYNC_END: u64 = 4;

#[repr(C)]
struct UdmabufCreate {
    memfd: u32,
    flags: u32,
    offset: u64,
    size: u64,
}

/// A udmabuf and its read-only mapping.
pub struct Udmabuf {
    fd: Fd,
    map: *const u8,
    size: usize,
}

// SAFETY: the mapping is read-only for us and lives as long as `Udmabuf`;
// threads only read it.
unsafe impl Sync for Udmabuf {}
// SAFETY: as above.
unsafe impl Send for Udmabuf {}

impl Udmabuf {
    /// Creates a dma-buf of `size` bytes (a multiple of the page size).
    pub fn new(size: usize) -> Result<Self> {
        let fd = Self::create(size)?;
        // SAFETY: mapping a descriptor we own; the result is checked.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ,
                libc::MAP_SHARED,
                fd.0,
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(format!("mmap dma-buf: {}", std::io::Error::last_os_error()).into());
        }
        Ok(Self {
            fd,
            map: map.cast(),
            size,
        })
    }

    /// Just the dma-buf's descriptor, unmapped (for bind latency runs).
    pub fn create(size: usize) -> Result<Fd> {
        // SAFETY: plain system calls on descriptors we own; `arg` is a
        // valid struct udmabuf_create.
        unsafe {
            let memfd = libc::memfd_create(c"devmem-rx".as_ptr(), libc::MFD_ALLOW_SEALING);
            check(memfd.into(), "memfd_create")?;
            let memfd = Fd(memfd);
            check(
                libc::ftruncate(memfd.0, size as libc::off_t).into(),
                "ftruncate(memfd)",
            )?;
            check(
                libc::fcntl(memfd.0, libc::F_ADD_SEALS, libc::F_SEAL_SHRINK).into(),
                "F_ADD_SEALS",
            )?;
            // Allocate the pages here, where the kernel can reschedule:
            // UDMABUF_CREATE would otherwise allocate and clear them all in
            // one loop (memfd_pin_folios), which for 1 GiB under QEMU TCG
            // runs past the soft lockup watchdog.
            check(
                libc::fallocate(memfd.0, 0, 0, size as libc::off_t).into(),
                "fallocate(memfd)",
            )?;
            let dev = libc::open(c"/dev/udmabuf".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC);
            check(dev.into(), "open /dev/udmabuf")?;
            let dev = Fd(dev);
            let arg = UdmabufCreate {
                memfd: memfd.0 as u32,
                flags: UDMABUF_FLAGS_CLOEXEC,
                offset: 0,
                size: size as u64,
            };
            let fd = libc::ioctl(dev.0, UDMABUF_CREATE, &arg);
            if fd < 0 {
                let e = std::io::Error::last_os_error();
                let hint = if e.raw_os_error() == Some(libc::EINVAL) {
                    " (above udmabuf's size_limit_mb? see /sys/module/udmabuf/parameters/)"
                } else {
                    ""
                };
                return Err(format!("UDMABUF_CREATE of {size} bytes: {e}{hint}").into());
            }
            Ok(Fd(fd))
        }
    }

    /// The dma-buf's descriptor.
    pub fn fd(&self) -> i32 {
        self.fd.0
    }

    fn sync(&self, flags: u64) -> Result<()> {
        // SAFETY: `flags` is a valid struct dma_buf_sync.
        let r = unsafe { libc::ioctl(self.fd.0, DMA_BUF_IOCTL_SYNC, &flags) };
        check(r.into(), "DMA_BUF_IOCTL_SYNC")?;
        Ok(())
    }

    /// Starts a CPU read (`DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ`).
    pub fn begin_read(&self) -> Result<()> {
        self.sync(DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ)
    }

    /// Ends a CPU read.
    pub fn end_read(&self) -> Result<()> {
        self.sync(DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ)
    }

    /// The bytes at `off..off + len`, if inside the buffer.
    pub fn bytes(&self, off: u64, len: usize) -> Option<&[u8]> {
        let off = usize::try_from(off).ok()?;
        if off.checked_add(len)? > self.size {
            return None;
        }
        // SAFETY: in bounds of the mapping, which lives as long as self.
        Some(unsafe { std::slice::from_raw_parts(self.map.add(off), len) })
    }
}

impl Drop for Udmabuf {
    fn drop(&mut self) {
        // SAFETY: unmapping our own mapping.
        unsafe { libc::munmap(self.map as *mut libc::c_void, self.size) };
    }
}
