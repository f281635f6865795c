// SPDX-License-Identifier: GPL-2.0

//! Bottom-half (softirq) disabling.
//!
//! C header: [`include/linux/bottom_half.h`](srctree/include/linux/bottom_half.h)

use core::marker::PhantomData;

/// Softirqs are disabled on this CPU while this guard lives.
///
/// Take it around a lock that is also taken in softirq context (NAPI, the
/// transmit path), so process context holding the lock cannot be
/// interrupted by a softirq spinning on it. Guards nest.
///
/// # Invariants
///
/// Created by `local_bh_disable`, undone by `local_bh_enable` on drop, on
/// the same CPU (the guard is neither `Send` nor `Sync`).
///
/// # Examples
///
/// ```
/// use kernel::net_ext::bh::BhDisabled;
///
/// let outer = BhDisabled::new();
/// {
///     let _inner = BhDisabled::new();
/// }
/// drop(outer);
/// ```
pub struct BhDisabled(PhantomData<*mut ()>);

impl BhDisabled {
    /// Disables softirqs on this CPU.
    pub fn new() -> Self {
        // SAFETY: Always safe to call; balanced by `drop`.
        unsafe { crate::bindings::net_ext_local_bh_disable() };
        // INVARIANT: disabled above.
        Self(PhantomData)
    }
}

impl Default for BhDisabled {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for BhDisabled {
    fn drop(&mut self) {
        // SAFETY: By the type invariants softirqs were disabled by `new` on
        // this CPU.
        unsafe { crate::bindings::net_ext_local_bh_enable() };
    }
}
