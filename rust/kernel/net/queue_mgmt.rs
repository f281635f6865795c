// SPDX-License-Identifier: GPL-2.0

//! Per-queue restart (`struct netdev_queue_mgmt_ops`).
//!
//! C header: [`include/net/netdev_queues.h`](srctree/include/net/netdev_queues.h)
//!
//! The core (`netdev_rx_queue_restart`, used when a memory provider such as
//! a devmem binding is installed on or removed from an rx queue) restarts
//! one rx queue without disturbing the others, under RTNL:
//!
//! 1. [`QueueMgmt::queue_mem_alloc`] builds the queue's new memory (its page
//!    pool picks the provider up) while the old queue still runs;
//! 2. [`QueueMgmt::queue_stop`] stops the queue and hands its old memory
//!    back;
//! 3. [`QueueMgmt::queue_start`] starts the queue on the new memory (on
//!    failure the core starts it again on the old one);
//! 4. the memory that is no longer used is dropped.
//!
//! The C side passes `per_queue_mem` buffers of `ndo_queue_mem_size` bytes,
//! zeroed by the core; each holds one `*mut T::QueueMem` from
//! `KBox::into_raw` (null: none).

use crate::alloc::KBox;
use crate::bindings;
use crate::error::{code::*, from_result, Result};
use crate::net::netdev::{self, Device};
use crate::net::rtnl::Rtnl;
use core::marker::PhantomData;

/// Queue restart operations of a driver.
#[crate::prelude::vtable]
pub trait QueueMgmt: netdev::Driver {
    /// The memory of one rx queue (rings, page pool, buffers).
    type QueueMem: Send;

    /// Builds new memory for rx queue `idx`. Fails with `ENETDOWN` when the
    /// device is down (the core then just records the provider).
    fn queue_mem_alloc(dev: &Device<Self>, rtnl: &Rtnl, idx: u32) -> Result<KBox<Self::QueueMem>>;

    /// Stops rx queue `idx` and returns the memory it ran on, which must
    /// stay restartable by [`QueueMgmt::queue_start`].
    fn queue_stop(dev: &Device<Self>, rtnl: &Rtnl, idx: u32) -> Result<KBox<Self::QueueMem>>;

    /// Starts rx queue `idx` on `mem`, taking it out of the option on
    /// success. On failure `mem` is left in place for the core to free.
    fn queue_start(
        dev: &Device<Self>,
        rtnl: &Rtnl,
        idx: u32,
        mem: &mut Option<KBox<Self::QueueMem>>,
    ) -> Result;
}

/// The queue-management ops table of driver `T`, for
/// [`netdev::Params::queue_mgmt`].
///
/// The table's callbacks cast the `net_device` they are given to a
/// [`Device<T>`], so the table may only be installed on devices of driver
/// `T`. The type carries `T` and [`netdev::Params<T>`] only takes the
/// table of its own driver, so a table of another driver does not compile:
///
/// ```ignore
/// fn install(mut params: netdev::Params<'static, B>) {
///     params.queue_mgmt = Some(OpsTable::<A>::get());
/// }
/// // error[E0308]: mismatched types
/// //     params.queue_mgmt = Some(OpsTable::<A>::get());
/// //                         ---- ^^^^^^^^^^^^^^^^^^^^ expected `&OpsTable<B>`, found `&OpsTable<A>`
/// ```
///
/// # Invariants
///
/// The wrapped table is `Adapter::<T>::VTABLE`.
///
/// # Examples
///
/// A driver whose rx queue 0 is restarted by the core
/// (`netdev_rx_queue_restart`, as when a devmem binding is installed):
/// the callbacks reach the driver's own data.
///
/// ```
/// use core::sync::atomic::{AtomicU32, Ordering};
/// use kernel::bindings;
/// use kernel::c_str;
/// use kernel::net::netdev::{self, Device, Features, Params, Registration, TxResult};
/// use kernel::net::rtnl::Rtnl;
/// use kernel::net::skb::TxSkb;
/// use kernel::net::queue_mgmt::{OpsTable, QueueMgmt};
/// use kernel::prelude::*;
///
/// /// Counts the calls; `generation` tells the queue memories apart.
/// #[derive(Default)]
/// struct Calls {
///     alloc: AtomicU32,
///     stop: AtomicU32,
///     start: AtomicU32,
///     running: AtomicU32,
/// }
/// struct Mem(u32);
///
/// struct Restartable;
/// #[vtable]
/// impl netdev::Driver for Restartable {
///     type Data = Calls;
///     fn start_xmit(_dev: &Device<Self>, skb: TxSkb) -> TxResult {
///         skb.consume();
///         TxResult::Ok
///     }
/// }
/// #[vtable]
/// impl QueueMgmt for Restartable {
///     type QueueMem = Mem;
///     fn queue_mem_alloc(dev: &Device<Self>, _rtnl: &Rtnl, idx: u32) -> Result<KBox<Mem>> {
///         let n = dev.data().alloc.fetch_add(1, Ordering::Relaxed) + 1;
///         Ok(KBox::new(Mem(100 * n + idx), GFP_KERNEL)?)
///     }
///     fn queue_stop(dev: &Device<Self>, _rtnl: &Rtnl, _idx: u32) -> Result<KBox<Mem>> {
///         dev.data().stop.fetch_add(1, Ordering::Relaxed);
///         let old = dev.data().running.load(Ordering::Relaxed);
///         Ok(KBox::new(Mem(old), GFP_KERNEL)?)
///     }
///     fn queue_start(
///         dev: &Device<Self>,
///         _rtnl: &Rtnl,
///         _idx: u32,
///         mem: &mut Option<KBox<Mem>>,
///     ) -> Result {
///         let m = mem.take().ok_or(EINVAL)?;
///         dev.data().start.fetch_add(1, Ordering::Relaxed);
///         dev.data().running.store(m.0, Ordering::Relaxed);
///         Ok(())
///     }
/// }
///
/// let params = Params {
///     name: c_str!("rsqm%d"),
///     txqs: 1,
///     rxqs: 1,
///     mac: [0x02, 0, 0, 0, 0, 3],
///     parent: None,
///     max_mtu: 0,
///     real_queues: 0,
///     queue_mgmt: Some(OpsTable::get()),
///     hw_features: Features::EMPTY,
///     features: Features::EMPTY,
///     ethtool: None,
///     stat_ops: None,
///     tso_max: None,
/// };
/// let reg = Registration::<Restartable>::new(&params, Calls::default())?;
/// let ifindex = reg.device().ifindex();
/// // SAFETY: RTNL is taken around the lookup and the restart, as
/// // `netdev_rx_queue_restart` requires; the device is registered (by
/// // `reg`) and has rx queue 0.
/// let r = unsafe {
///     bindings::rtnl_lock();
///     let raw = bindings::__dev_get_by_index(core::ptr::addr_of_mut!(bindings::init_net), ifindex);
///     let r = bindings::netdev_rx_queue_restart(raw, 0);
///     bindings::rtnl_unlock();
///     r
/// };
/// assert_eq!(r, 0);
/// let calls = reg.device().data();
/// assert_eq!(calls.alloc.load(Ordering::Relaxed), 1);
/// assert_eq!(calls.stop.load(Ordering::Relaxed), 1);
/// assert_eq!(calls.start.load(Ordering::Relaxed), 1);
/// // The queue now runs on the memory `queue_mem_alloc` built for it.
/// assert_eq!(calls.running.load(Ordering::Relaxed), 100);
/// drop(reg);
/// # Ok::<(), Error>(())
/// ```
#[repr(transparent)]
pub struct OpsTable<T: netdev::Driver>(bindings::netdev_queue_mgmt_ops, PhantomData<T>);

impl<T: netdev::Driver> OpsTable<T> {
    pub(crate) fn as_raw(&'static self) -> *const bindings::netdev_queue_mgmt_ops {
        &self.0
    }
}

impl<T: QueueMgmt> OpsTable<T> {
    // INVARIANT: `Adapter::<T>::VTABLE`.
    const TABLE: Self = Self(Adapter::<T>::VTABLE, PhantomData);

    /// The table of `T`.
    pub const fn get() -> &'static Self {
        &Self::TABLE
    }
}

struct Adapter<T: QueueMgmt>(PhantomData<T>);

impl<T: QueueMgmt> Adapter<T> {
    const VTABLE: bindings::netdev_queue_mgmt_ops = bindings::netdev_queue_mgmt_ops {
        ndo_queue_mem_size: core::mem::size_of::<*mut T::QueueMem>(),
        ndo_queue_mem_alloc: Some(Self::mem_alloc),
        ndo_queue_mem_free: Some(Self::mem_free),
        ndo_queue_start: Some(Self::start),
        ndo_queue_stop: Some(Self::stop),
    };

    /// # Safety
    ///
    /// `mem` must be a `per_queue_mem` buffer of the core (aligned, at least
    /// `ndo_queue_mem_size` bytes) holding null or a pointer stored by us.
    unsafe fn take(mem: *mut core::ffi::c_void) -> Option<KBox<T::QueueMem>> {
        let slot = mem.cast::<*mut T::QueueMem>();
        // SAFETY: guaranteed by the caller.
        let p = unsafe { slot.replace(core::ptr::null_mut()) };
        // SAFETY: A non-null value came from `KBox::into_raw` in `put`.
        (!p.is_null()).then(|| unsafe { KBox::from_raw(p) })
    }

    /// # Safety
    ///
    /// As for [`Self::take`]; the buffer must hold null.
    unsafe fn put(mem: *mut core::ffi::c_void, b: KBox<T::QueueMem>) {
        // SAFETY: guaranteed by the caller.
        unsafe { mem.cast::<*mut T::QueueMem>().write(KBox::into_raw(b)) };
    }

    /// Calls `f` (`queue_mem_alloc` or `queue_stop`) for queue `idx` of
    /// `dev` and stores the memory it returns in `mem`.
    ///
    /// # Safety
    ///
    /// Called by the core under RTNL for a device registered by a
    /// `Registration<T>` (the ops table is `T`'s), with a zeroed
    /// `per_queue_mem` as `mem`.
    unsafe fn produce(
        dev: *mut bindings::net_device,
        mem: *mut core::ffi::c_void,
        idx: core::ffi::c_int,
        f: impl FnOnce(&Device<T>, &Rtnl, u32) -> Result<KBox<T::QueueMem>>,
    ) -> core::ffi::c_int {
        from_result(|| {
            // SAFETY: guaranteed by the caller.
            let (dev, rtnl) = unsafe { (Device::<T>::from_raw(dev), Rtnl::assume_held()) };
            let b = f(dev, rtnl, u32::try_from(idx).map_err(|_| EINVAL)?)?;
            // SAFETY: `mem` is the zeroed buffer of the core.
            unsafe { Self::put(mem, b) };
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// As for `produce`.
    unsafe extern "C" fn mem_alloc(
        dev: *mut bindings::net_device,
        mem: *mut core::ffi::c_void,
        idx: core::ffi::c_int,
    ) -> core::ffi::c_int {
        // SAFETY: guaranteed by the caller.
        unsafe { Self::produce(dev, mem, idx, T::queue_mem_alloc) }
    }

    /// # Safety
    ///
    /// As for `mem_alloc`; `mem` holds what `mem_alloc` or `stop` stored.
    unsafe extern "C" fn mem_free(_dev: *mut bindings::net_device, mem: *mut core::ffi::c_void) {
        // SAFETY: guaranteed by the caller.
        drop(unsafe { Self::take(mem) });
    }

    /// # Safety
    ///
    /// As for `mem_free`.
    unsafe extern "C" fn start(
        dev: *mut bindings::net_device,
        mem: *mut core::ffi::c_void,
        idx: core::ffi::c_int,
    ) -> core::ffi::c_int {
        from_result(|| {
            // SAFETY: guaranteed by the caller.
            let (dev, rtnl) = unsafe { (Device::<T>::from_raw(dev), Rtnl::assume_held()) };
            // SAFETY: guaranteed by the caller.
            let mut b = unsafe { Self::take(mem) };
            let r = T::queue_start(dev, rtnl, u32::try_from(idx).map_err(|_| EINVAL)?, &mut b);
            if let Some(b) = b {
                // SAFETY: `take` left the buffer null.
                unsafe { Self::put(mem, b) };
            }
            r.map(|()| 0)
        })
    }

    /// # Safety
    ///
    /// As for `produce` (`mem` is the core's zeroed "old" buffer).
    unsafe extern "C" fn stop(
        dev: *mut bindings::net_device,
        mem: *mut core::ffi::c_void,
        idx: core::ffi::c_int,
    ) -> core::ffi::c_int {
        // SAFETY: guaranteed by the caller.
        unsafe { Self::produce(dev, mem, idx, T::queue_stop) }
    }
}
