// SPDX-License-Identifier: GPL-2.0

//! Page pools: DMA-mapped rx buffers for a NIC's receive queues.
//!
//! C headers: [`include/net/page_pool/types.h`](srctree/include/net/page_pool/types.h),
//! [`include/net/page_pool/helpers.h`](srctree/include/net/page_pool/helpers.h),
//! [`include/net/netmem.h`](srctree/include/net/netmem.h)
//!
//! A [`PagePool`] hands out order-0 buffers ([`Netmem`]) that are already
//! DMA-mapped for its device (`PP_FLAG_DMA_MAP`) and synced for the device
//! when they come back (`PP_FLAG_DMA_SYNC_DEV`). A pool created for an rx
//! queue with unreadable memory allowed (`PP_FLAG_ALLOW_UNREADABLE_NETMEM`)
//! takes its buffers from the queue's memory provider when one is bound
//! (devmem: `net_iov`s of a dma-buf the CPU must not touch), and ordinary
//! pages otherwise.
//!
//! # Contexts
//!
//! - Creating and dropping a pool: process context (dropping may sleep).
//! - Allocating: the pool's single consumer, one context at a time (the
//!   pool's allocation cache has no lock). [`PagePool::alloc_netmem`] takes
//!   `&mut self`, which makes this a compile-time rule: a driver keeps the
//!   pool where only its rx path (NAPI poll, or the queue set-up before the
//!   queue is live) reaches it mutably.
//! - Returning a buffer (dropping a [`Netmem`]): any context but hard IRQ.
//!   Buffers always go back through the pool's locked ring
//!   (`allow_direct = false`); the pool has no NAPI instance, so
//!   destroying it never races with one.

use crate::alloc::Flags;
use crate::bindings;
use crate::device::Device;
use crate::dma::copy_from_shared;
use crate::error::{code::*, Result};
use crate::net::netdev;
use crate::net::rtnl::Rtnl;
use crate::page::PAGE_SIZE;
use crate::types::ARef;
use core::marker::PhantomData;
use core::ptr::NonNull;

/// Parameters of a page pool.
///
/// Buffers are single pages (order 0: memory providers require it), mapped
/// `DMA_FROM_DEVICE`.
pub struct Params<'a> {
    /// The device that DMAs into the buffers (a NIC's parent device); it
    /// needs a DMA mask (see [`crate::dma::set_mask_64`]). The pool
    /// holds a reference to it until it is destroyed.
    pub dev: &'a Device,
    /// Size of the pool's recycling ring; 0 means 1024, at most 16384
    /// (usually the rx ring's size).
    pub pool_size: u32,
    /// NUMA node to allocate on, or `NUMA_NO_NODE` (the default).
    pub nid: i32,
    /// Bytes of each buffer the device may write, synced for the device on
    /// recycling (`max_len`); the default is a page.
    pub max_len: u32,
    /// Where in the page the device starts writing (`offset`); 0 by default.
    /// `offset + max_len` must not exceed a page.
    pub offset: u32,
}

impl<'a> Params<'a> {
    /// Parameters for `pool_size` pages of `dev`, whole pages, any node.
    pub fn new(dev: &'a Device, pool_size: u32) -> Self {
        Self {
            dev,
            pool_size,
            nid: bindings::NUMA_NO_NODE,
            max_len: PAGE_SIZE as u32,
            offset: 0,
        }
    }

    fn check(&self) -> Result {
        let end = self.offset.checked_add(self.max_len).ok_or(EINVAL)?;
        if self.max_len == 0 || end as usize > PAGE_SIZE || self.nid < bindings::NUMA_NO_NODE {
            return Err(EINVAL);
        }
        Ok(())
    }
}

/// An rx queue of a registered network device, for a pool that serves it.
///
/// # Invariants
///
/// `dev` is a `net_device` that stays allocated for `'a`, and
/// `idx < dev->num_rx_queues`.
pub struct RxQueue<'a> {
    dev: NonNull<bindings::net_device>,
    idx: u32,
    _dev: PhantomData<&'a ()>,
}

impl<'a> RxQueue<'a> {
    /// Rx queue `idx` of `dev`; `ERANGE` if the device has no such queue.
    pub fn new<T: netdev::Driver>(dev: &'a netdev::Device<T>, idx: u32) -> Result<Self> {
        // SAFETY: `dev` is valid for `'a`; `num_rx_queues` is set at
        // allocation and never changes.
        if idx >= unsafe { (*dev.as_ptr()).num_rx_queues } {
            return Err(ERANGE);
        }
        // INVARIANT: checked above; `dev` is borrowed for `'a`.
        Ok(Self {
            dev: NonNull::new(dev.as_ptr()).ok_or(EINVAL)?,
            idx,
            _dev: PhantomData,
        })
    }

    /// The queue's index.
    pub fn index(&self) -> u32 {
        self.idx
    }
}

/// A page pool (`struct page_pool`), destroyed when dropped.
///
/// Buffers still out when the pool is dropped ([`Netmem`]s, or buffers
/// handed to the stack in skbs) stay valid: `page_pool_destroy` unmaps
/// them from the device and the pool frees itself once the last one comes
/// back. Their DMA addresses must not be given to the device any more.
///
/// # Invariants
///
/// `pool` was created by `page_pool_create` with `PP_FLAG_DMA_MAP |
/// PP_FLAG_DMA_SYNC_DEV`, order 0, no NAPI, for the device `dev`, with
/// start offset `offset`; this object owns the creator's reference (the
/// one `page_pool_destroy` drops).
///
/// # Examples
///
/// ```
/// use kernel::c_str;
/// use kernel::dma::PlatformDevice;
/// use kernel::net::page_pool::{PagePool, Params};
/// use kernel::platform::ModelDevice;
///
/// // A device modelled in the kernel, whose side of DMA the test plays.
/// let model = ModelDevice::new(c_str!("rs-pp-doc"), PlatformDevice::ID_AUTO, ())?;
/// let dev = model.device();
/// let mut pool = PagePool::new(&Params::new(dev, 64))?;
///
/// let mut bufs = KVec::new();
/// for _ in 0..4 {
///     let nm = pool.alloc_netmem(GFP_KERNEL).ok_or(ENOMEM)?;
///     assert_ne!(nm.dma_addr(), 0);
///     assert_eq!(nm.dma_addr() % 4096, 0);
///     assert!(!nm.is_net_iov());
///     assert!(nm.read(0, &mut [0u8; 8]).is_ok());
///     bufs.push(nm, GFP_KERNEL)?;
/// }
/// assert_ne!(bufs[0].dma_addr(), bufs[1].dma_addr());
///
/// // The device receives a payload into a posted buffer.
/// model.bus_master().write(bufs[2].dma_addr() + 100, b"payload")?;
/// pool.sync_for_cpu(&bufs[2], 100, 7)?;
/// let mut seen = [0u8; 7];
/// bufs[2].read(100, &mut seen)?;
/// assert_eq!(&seen, b"payload");
/// assert_eq!(bufs[2].read(4090, &mut seen), Err(EINVAL));
///
/// // A buffer may outlive its pool (as in an skb); the pool goes when it
/// // comes back.
/// let late = pool.alloc_netmem(GFP_KERNEL).ok_or(ENOMEM)?;
/// drop(bufs);
/// drop(pool);
/// drop(late);
/// # Ok::<(), Error>(())
/// ```
///
/// A pool for rx queue 1 of a network device, allowed to take unreadable
/// memory from the queue's memory provider (none is bound here, so it gets
/// pages):
///
/// ```
/// use kernel::c_str;
/// use kernel::dma::{self, PlatformDevice};
/// use kernel::net::netdev::{self, Device, Registration, TxResult};
/// use kernel::net::skb::TxSkb;
/// use kernel::net::page_pool::{PagePool, Params, RxQueue};
/// use kernel::net::rtnl::Rtnl;
///
/// struct Nic;
/// #[vtable]
/// impl netdev::Driver for Nic {
///     type Data = u32;
///     fn start_xmit(_dev: &Device<Self>, skb: TxSkb) -> TxResult {
///         drop(skb);
///         TxResult::Ok
///     }
/// }
///
/// let pdev = PlatformDevice::new(c_str!("rs-pp-rxq-doc"), PlatformDevice::ID_AUTO)?;
/// dma::set_mask_64(pdev.device())?;
/// let params = netdev::Params {
///     name: c_str!("rspp%d"),
///     txqs: 1,
///     rxqs: 2,
///     mac: [0x02, 0, 0, 0, 0, 2],
///     parent: Some(pdev.device()),
///     max_mtu: 0,
///     real_queues: 0,
///     queue_mgmt: None,
///     hw_features: netdev::Features::EMPTY,
///     features: netdev::Features::EMPTY,
///     ethtool: None,
///     stat_ops: None,
///     tso_max: None,
/// };
/// let reg = Registration::<Nic>::new(&params, 0)?;
/// assert!(RxQueue::new(reg.device(), 2).is_err());
/// let rxq = RxQueue::new(reg.device(), 1)?;
///
/// let rtnl = Rtnl::lock();
/// let pool = PagePool::new_for_rx_queue(&Params::new(pdev.device(), 16), &rxq, true, &rtnl);
/// drop(rtnl);
/// let mut pool = pool?;
///
/// let nm = pool.alloc_netmem(GFP_KERNEL).ok_or(ENOMEM)?;
/// assert!(!nm.is_net_iov());
/// drop(nm);
/// drop(pool);
/// drop(reg);
/// # Ok::<(), Error>(())
/// ```
pub struct PagePool {
    pool: NonNull<bindings::page_pool>,
    offset: u32,
    dev: ARef<Device>,
}

// SAFETY: A pool may be used (with `&mut` for allocation) and destroyed
// from any thread in process context.
unsafe impl Send for PagePool {}
// SAFETY: The `&self` methods (DMA syncs, the raw pointer) are safe to call
// concurrently.
unsafe impl Sync for PagePool {}

impl PagePool {
    /// Creates a pool not tied to a network device.
    pub fn new(params: &Params<'_>) -> Result<Self> {
        // SAFETY: No net_device: nothing more to uphold.
        unsafe { Self::create(params, core::ptr::null_mut(), 0, false) }
    }

    /// Creates the pool of rx queue `rxq`: the pool is listed on the
    /// device (netlink `page-pool-get` shows it) and, with `unreadable`,
    /// allowed to take unreadable memory (`net_iov`s) from the queue's
    /// memory provider. `ENODEV` if the device is not registered, `EINVAL`
    /// if nobody holds RTNL (a partial check of the safety requirement,
    /// which spares the `ASSERT_RTNL()` warning), or an error of
    /// `page_pool_create` (from a bound memory provider: `EOPNOTSUPP`,
    /// `E2BIG`, ...).
    ///
    /// The pool may outlive the device: when the device is unregistered,
    /// the core unlists its pools (`page_pool_unreg_netdev`).
    ///
    /// A driver sets `unreadable` on the pools of rx data buffers, never on
    /// pools of header buffers; creating the pool in `ndo_queue_mem_alloc`
    /// is what lets a devmem binding find it.
    ///
    /// RTNL, which `rtnl` proves held, keeps the queue's memory provider
    /// (read when `unreadable`) and the device's registration state stable
    /// while the pool is set up.
    pub fn new_for_rx_queue(
        params: &Params<'_>,
        rxq: &RxQueue<'_>,
        unreadable: bool,
        _rtnl: &Rtnl,
    ) -> Result<Self> {
        let dev = rxq.dev.as_ptr();
        // SAFETY: By the `RxQueue` invariants `dev` is valid; with RTNL held
        // (`rtnl`) `reg_state` is stable.
        if u32::from(unsafe { (*dev).reg_state }) != bindings::netdev_reg_state_NETREG_REGISTERED {
            return Err(ENODEV);
        }
        // SAFETY: `dev` is registered and stays so while RTNL is held
        // (`rtnl`), so
        // the pool is listed on it before any unregistration could unlist
        // it; `rxq.idx` is in bounds (`RxQueue` invariants), as
        // `page_pool_init` needs for the unreadable case, under RTNL.
        unsafe { Self::create(params, dev, rxq.idx, unreadable) }
    }

    /// # Safety
    ///
    /// `netdev` is null (then `unreadable` is false), or a registered device
    /// with rx queue `queue_idx`, with RTNL held.
    unsafe fn create(
        params: &Params<'_>,
        netdev: *mut bindings::net_device,
        queue_idx: u32,
        unreadable: bool,
    ) -> Result<Self> {
        params.check()?;
        let mut flags = bindings::PP_FLAG_DMA_MAP | bindings::PP_FLAG_DMA_SYNC_DEV;
        if unreadable {
            flags |= bindings::PP_FLAG_ALLOW_UNREADABLE_NETMEM;
        }
        // SAFETY: `page_pool_params` is plain old data; zero is "unset".
        let mut pp: bindings::page_pool_params = unsafe { core::mem::zeroed() };
        pp.__bindgen_anon_1.fast = bindings::page_pool_params__bindgen_ty_1_page_pool_params_fast {
            order: 0,
            pool_size: params.pool_size,
            nid: params.nid,
            dev: params.dev.as_raw(),
            napi: core::ptr::null_mut(),
            dma_dir: crate::dma::Direction::FromDevice.as_raw(),
            max_len: params.max_len,
            offset: params.offset,
        };
        pp.__bindgen_anon_2.slow = bindings::page_pool_params__bindgen_ty_2_page_pool_params_slow {
            netdev,
            queue_idx,
            flags,
            init_callback: None,
            init_arg: core::ptr::null_mut(),
        };
        // SAFETY: `params.dev` is a valid device; the parameters are
        // checked above (order 0, range within a page); the caller
        // guarantees the netdev requirements. The page pool copies the
        // parameters.
        let pool = unsafe { bindings::page_pool_create(&pp) };
        let pool = crate::error::from_err_ptr(pool)?;
        // INVARIANT: created just now with those flags; we hold a reference
        // to the device.
        Ok(Self {
            pool: NonNull::new(pool).ok_or(ENOMEM)?,
            offset: params.offset,
            dev: params.dev.into(),
        })
    }

    /// The raw `struct page_pool`.
    #[allow(dead_code)]
    pub(crate) fn as_ptr(&self) -> *mut bindings::page_pool {
        self.pool.as_ptr()
    }

    /// The device the pool maps its buffers for.
    pub fn device(&self) -> &Device {
        &self.dev
    }

    /// Takes a buffer from the pool, DMA-mapped and synced for the device.
    /// `None` when out of memory, or when the memory provider has nothing
    /// left (devmem: until user space gives buffers back); the driver then
    /// refills its ring later.
    ///
    /// A pool without a memory provider hands out pages
    /// (`page_pool_alloc_pages`, the entry point that fault injection can
    /// make fail: `fail_function`, upstream's `pp_alloc_fail.py`); one with
    /// a provider its `net_iov`s (`page_pool_alloc_netmems`).
    ///
    /// `flags` is `GFP_ATOMIC` (with `__GFP_NOWARN`) in NAPI context,
    /// `GFP_KERNEL` in process context.
    pub fn alloc_netmem(&mut self, flags: Flags) -> Option<Netmem> {
        let pool = self.pool.as_ptr();
        // SAFETY: By the type invariants the pool is alive; `mp_ops` is
        // set in `page_pool_init` and never changes afterwards.
        let provider = unsafe { !(*pool).mp_ops.is_null() };
        let nm = if provider {
            // SAFETY: By the type invariants the pool is alive; `&mut self`
            // makes us its only consumer for this call.
            unsafe { bindings::page_pool_alloc_netmems(pool, flags.as_raw()) }
        } else {
            // SAFETY: As above. Without a provider every buffer is a page,
            // and a page's netmem is its address (`page_to_netmem`).
            unsafe { bindings::page_pool_alloc_pages(pool, flags.as_raw()) as bindings::netmem_ref }
        };
        if nm == 0 {
            return None;
        }
        // INVARIANT: A fresh buffer from `pool`, with one reference (its
        // `pp_ref_count` is 1), which passes to the `Netmem`.
        Some(Netmem {
            nm,
            pool: self.pool,
        })
    }

    /// Makes what the device wrote at `offset..offset + len` of `nm`
    /// (relative to the pool's start offset) visible to the CPU
    /// (`page_pool_dma_sync_netmem_for_cpu`). A no-op on cache-coherent
    /// machines and for `net_iov`s. `EINVAL` if `nm` is not from this pool
    /// or the range leaves the page.
    pub fn sync_for_cpu(&self, nm: &Netmem, offset: u32, len: u32) -> Result {
        if nm.pool != self.pool {
            return Err(EINVAL);
        }
        let end = self
            .offset
            .checked_add(offset)
            .and_then(|o| o.checked_add(len))
            .ok_or(EINVAL)?;
        if end as usize > PAGE_SIZE {
            return Err(EINVAL);
        }
        // SAFETY: The pool is alive (type invariants), `nm` is one of its
        // buffers, in flight and DMA-mapped (the pool is not destroyed while
        // `&self` exists); the range is within the page.
        unsafe {
            bindings::page_pool_dma_sync_netmem_for_cpu(self.pool.as_ptr(), nm.nm, offset, len)
        };
        Ok(())
    }
}

impl Drop for PagePool {
    fn drop(&mut self) {
        // SAFETY: By the type invariants we own the creator's reference.
        // Buffers in flight keep the `struct page_pool` alive until they
        // return; the pool unmaps them now, so the device reference can go
        // after this.
        unsafe { bindings::page_pool_destroy(self.pool.as_ptr()) }
    }
}

/// One buffer from a page pool (`netmem_ref`): a page, or a `net_iov` of a
/// memory provider. Dropping it gives it back to its pool
/// (`page_pool_put_full_netmem`, not from hard IRQ context).
///
/// # Invariants
///
/// `nm` is a buffer of the pool `pool` on which this object holds one
/// reference (`pp_ref_count`). The `struct page_pool` stays allocated while
/// any of its buffers is in flight, so `pool` is valid as long as `self`.
pub struct Netmem {
    nm: bindings::netmem_ref,
    pool: NonNull<bindings::page_pool>,
}

// SAFETY: A buffer may be used and returned from any thread (not hard IRQ).
unsafe impl Send for Netmem {}
// SAFETY: `&Netmem` methods only read the buffer's metadata or copy from it.
unsafe impl Sync for Netmem {}

impl Netmem {
    /// Takes over a buffer reference given up by [`Netmem::into_raw`] (or a
    /// frag's reference taken back from an skb that no longer uses it).
    ///
    /// # Safety
    ///
    /// `nm` must be a buffer of a page pool, with one reference that
    /// passes to the new object.
    #[allow(dead_code)]
    pub(crate) unsafe fn from_raw(nm: bindings::netmem_ref) -> Self {
        // SAFETY: `nm` is a page pool buffer, whose `pp` field names its
        // pool.
        let pool = unsafe { bindings::netmem_get_pp(nm) };
        // INVARIANT: guaranteed by the caller; a buffer in flight has a pool.
        Self {
            nm,
            // SAFETY: A pool buffer always has a pool.
            pool: unsafe { NonNull::new_unchecked(pool) },
        }
    }

    /// Gives up the reference, e.g. to attach the buffer to an skb as a frag
    /// (`skb_add_rx_frag_netmem`; the skb must be marked for recycling so
    /// that it returns the buffer to the pool).
    pub(crate) fn into_raw(self) -> bindings::netmem_ref {
        let nm = self.nm;
        core::mem::forget(self);
        nm
    }

    /// The DMA address of the buffer's start, for the device; the pool's
    /// `offset` is not added. 0 once the pool was destroyed.
    pub fn dma_addr(&self) -> u64 {
        // SAFETY: By the type invariants `nm` is a pool buffer we hold.
        unsafe { bindings::page_pool_get_dma_addr_netmem(self.nm) }
    }

    /// Whether this is a `net_iov` (memory the CPU must not touch, e.g. a
    /// dma-buf's) rather than a page.
    pub fn is_net_iov(&self) -> bool {
        // SAFETY: Only looks at the reference's tag bit.
        unsafe { bindings::netmem_is_net_iov(self.nm) }
    }

    /// The kernel address of the page, `None` for a `net_iov`.
    ///
    /// The device may be writing the page: read it with [`Netmem::read`],
    /// or through this pointer only with the care that requires.
    fn page_address(&self) -> Option<NonNull<u8>> {
        // SAFETY: By the type invariants `nm` is a pool buffer we hold.
        NonNull::new(unsafe { bindings::netmem_address(self.nm) }.cast::<u8>())
    }

    /// Copies `buf.len()` bytes at `offset` in the page into `buf`.
    /// `EOPNOTSUPP` for a `net_iov`, `EINVAL` if the range leaves the page.
    ///
    /// Sync first ([`PagePool::sync_for_cpu`]) what the device wrote.
    pub fn read(&self, offset: usize, buf: &mut [u8]) -> Result {
        let page = self.page_address().ok_or(EOPNOTSUPP)?;
        match offset.checked_add(buf.len()) {
            Some(end) if end <= PAGE_SIZE => {}
            _ => return Err(EINVAL),
        }
        // SAFETY: The page (order 0) is ours while we hold the reference;
        // the range is within it.
        unsafe { copy_from_shared(page.as_ptr().add(offset), buf) };
        Ok(())
    }
}

impl Drop for Netmem {
    fn drop(&mut self) {
        // SAFETY: By the type invariants we hold one reference on a buffer
        // of `pool`, which is valid; `allow_direct = false` is legal in any
        // context but hard IRQ.
        unsafe { bindings::page_pool_put_full_netmem(self.pool.as_ptr(), self.nm, false) }
    }
}
