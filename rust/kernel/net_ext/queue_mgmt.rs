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
use crate::net_ext::netdev::{self, Device, Rtnl};
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

/// A queue-management ops table for driver `T`, to hand to
/// [`netdev::Params`].
#[repr(transparent)]
pub struct OpsTable(bindings::netdev_queue_mgmt_ops);

// SAFETY: The table is immutable and only holds function pointers.
unsafe impl Sync for OpsTable {}

impl OpsTable {
    pub(crate) fn as_raw(&'static self) -> *const bindings::netdev_queue_mgmt_ops {
        &self.0
    }
}

/// The ops table of driver `T`.
pub const fn ops_table<T: QueueMgmt>() -> &'static OpsTable {
    &Adapter::<T>::VTABLE
}

struct Adapter<T: QueueMgmt>(PhantomData<T>);

impl<T: QueueMgmt> Adapter<T> {
    const VTABLE: OpsTable = OpsTable(bindings::netdev_queue_mgmt_ops {
        ndo_queue_mem_size: core::mem::size_of::<*mut T::QueueMem>(),
        ndo_queue_mem_alloc: Some(Self::mem_alloc),
        ndo_queue_mem_free: Some(Self::mem_free),
        ndo_queue_start: Some(Self::start),
        ndo_queue_stop: Some(Self::stop),
    });

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

    /// # Safety
    ///
    /// Called by the core under RTNL for a device registered by a
    /// `Registration<T>`, with a zeroed `per_queue_mem`.
    unsafe extern "C" fn mem_alloc(
        dev: *mut bindings::net_device,
        mem: *mut core::ffi::c_void,
        idx: core::ffi::c_int,
    ) -> core::ffi::c_int {
        from_result(|| {
            // SAFETY: guaranteed by the caller.
            let (dev, rtnl) = unsafe { (Device::<T>::from_raw(dev), Rtnl::assume_held()) };
            let b = T::queue_mem_alloc(dev, rtnl, u32::try_from(idx).map_err(|_| EINVAL)?)?;
            // SAFETY: `mem` is the zeroed buffer of the core.
            unsafe { Self::put(mem, b) };
            Ok(0)
        })
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
    /// As for `mem_alloc` (`mem` is the core's zeroed "old" buffer).
    unsafe extern "C" fn stop(
        dev: *mut bindings::net_device,
        mem: *mut core::ffi::c_void,
        idx: core::ffi::c_int,
    ) -> core::ffi::c_int {
        from_result(|| {
            // SAFETY: guaranteed by the caller.
            let (dev, rtnl) = unsafe { (Device::<T>::from_raw(dev), Rtnl::assume_held()) };
            let b = T::queue_stop(dev, rtnl, u32::try_from(idx).map_err(|_| EINVAL)?)?;
            // SAFETY: `mem` is the core's zeroed buffer.
            unsafe { Self::put(mem, b) };
            Ok(0)
        })
    }
}
