// SPDX-License-Identifier: GPL-2.0

//! The routing netlink lock (RTNL), which serialises configuration of
//! network devices.
//!
//! C header: [`include/linux/rtnetlink.h`](srctree/include/linux/rtnetlink.h)

use crate::bindings;
use core::marker::PhantomData;
use core::ops::Deref;

/// Proof that the caller holds the RTNL lock, handed to callbacks that run
/// under it (`ndo_open`, `ndo_stop`, ethtool and queue-management ops);
/// operations that need RTNL take a `&Rtnl`.
///
/// Outside such callbacks, [`Rtnl::lock`] takes the lock. A `&Rtnl` cannot
/// be sent to another thread nor outlive the callback or guard it came
/// from.
///
/// # Invariants
///
/// A `&Rtnl` exists only while the thread that has it holds RTNL.
///
/// # Examples
///
/// ```
/// use kernel::net::rtnl::Rtnl;
///
/// fn needs_rtnl(_rtnl: &Rtnl) {}
///
/// let rtnl = Rtnl::lock();
/// needs_rtnl(&rtnl);
/// drop(rtnl);
/// ```
pub struct Rtnl(PhantomData<*mut ()>);

impl Rtnl {
    const HELD: Self = Self(PhantomData);

    /// # Safety
    ///
    /// The caller must hold the RTNL lock for `'a`.
    pub(crate) unsafe fn assume_held<'a>() -> &'a Self {
        // INVARIANT: guaranteed by the caller.
        &Self::HELD
    }

    /// Takes the RTNL lock (`rtnl_lock`, process context; it may sleep)
    /// until the guard is dropped.
    pub fn lock() -> RtnlGuard {
        // SAFETY: FFI call; the guard unlocks.
        unsafe { bindings::rtnl_lock() };
        // INVARIANT: locked above.
        RtnlGuard(PhantomData)
    }
}

/// The RTNL lock, held until this is dropped; dereferences to the [`Rtnl`]
/// proof.
///
/// # Invariants
///
/// This thread holds RTNL, taken by [`Rtnl::lock`].
pub struct RtnlGuard(PhantomData<*mut ()>);

impl Deref for RtnlGuard {
    type Target = Rtnl;

    fn deref(&self) -> &Rtnl {
        // SAFETY: By the type invariants RTNL is held while `self` lives.
        unsafe { Rtnl::assume_held() }
    }
}

impl Drop for RtnlGuard {
    fn drop(&mut self) {
        // SAFETY: By the type invariants we hold RTNL.
        unsafe { bindings::rtnl_unlock() };
    }
}
