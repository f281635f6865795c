// SPDX-License-Identifier: GPL-2.0

//! A spinlock that keeps bottom halves (softirqs) disabled while held.
//!
//! C header: [`include/linux/spinlock.h`](srctree/include/linux/spinlock.h)
//!
//! Data that both process context and softirq context (NAPI polls, the
//! transmit path, timers) reach must be locked with softirqs disabled on
//! the local CPU, or a softirq that interrupts the lock holder on that CPU
//! spins on the lock forever. C uses `spin_lock_bh()`/`spin_unlock_bh()`;
//! [`SpinLockBh`] is the same lock behind the kernel crate's [`Lock`] and
//! [`Guard`]: taking the lock disables softirqs and dropping the guard
//! enables them again after the unlock, so no caller can get the order
//! wrong.
//!
//! Taking a [`SpinLockBh`] in softirq context is fine (softirqs are already
//! disabled there; the disabling nests), as is nesting two of them.
//!
//! [`Lock`]: crate::sync::lock::Lock
//! [`Guard`]: crate::sync::lock::Guard

use crate::bindings;
use crate::sync::lock::{spinlock::SpinLockBackend, Backend};

/// Creates a [`SpinLockBh`] initialiser with the given name and a newly
/// created lock class.
///
/// It uses the name if one is given, otherwise it generates one based on
/// the file name and line number.
#[macro_export]
macro_rules! new_spinlock_bh {
    ($inner:expr $(, $name:literal)? $(,)?) => {
        $crate::sync::SpinLockBh::new(
            $inner, $crate::optional_name!($($name)?), $crate::static_lock_class!())
    };
}
pub use new_spinlock_bh;

/// A spinlock taken with softirqs disabled (`spin_lock_bh`).
///
/// Exposes the kernel's `spinlock_t` like [`SpinLock`](crate::sync::SpinLock)
/// does, for data shared with softirq context.
///
/// # Examples
///
/// ```
/// use kernel::sync::SpinLockBh;
/// use kernel::new_spinlock_bh;
/// use kernel::prelude::*;
///
/// #[pin_data]
/// struct Counters {
///     #[pin]
///     packets: SpinLockBh<u64>,
///     #[pin]
///     bytes: SpinLockBh<u64>,
/// }
///
/// let c = KBox::pin_init(
///     pin_init!(Counters {
///         packets <- new_spinlock_bh!(0),
///         bytes <- new_spinlock_bh!(0),
///     }),
///     GFP_KERNEL,
/// )?;
/// {
///     let mut p = c.packets.lock();
///     // Softirqs stay disabled while any guard lives; guards nest.
///     *c.bytes.lock() += 1500;
///     *p += 1;
/// }
/// assert_eq!((*c.packets.lock(), *c.bytes.lock()), (1, 1500));
/// # Ok::<(), Error>(())
/// ```
pub type SpinLockBh<T> = crate::sync::lock::Lock<T, SpinLockBhBackend>;

/// A kernel `spinlock_t` lock backend taken with softirqs disabled.
pub struct SpinLockBhBackend;

// SAFETY: The underlying kernel `spinlock_t` object ensures mutual
// exclusion; `spin_lock_bh` also disables softirqs on the local CPU until
// the matching `spin_unlock_bh`. `relock` uses the default implementation,
// which calls the same locking function.
unsafe impl Backend for SpinLockBhBackend {
    type State = bindings::spinlock_t;
    type GuardState = ();

    unsafe fn init(
        ptr: *mut Self::State,
        name: *const crate::ffi::c_char,
        key: *mut bindings::lock_class_key,
    ) {
        // SAFETY: The safety requirements are the same; the lock is
        // initialised as the kernel crate's `SpinLock` is.
        unsafe { SpinLockBackend::init(ptr, name, key) }
    }

    unsafe fn lock(ptr: *mut Self::State) -> Self::GuardState {
        // SAFETY: The safety requirements of this function ensure that
        // `ptr` points to valid memory, and that it has been initialised.
        unsafe { bindings::spin_lock_bh(ptr) }
    }

    unsafe fn unlock(ptr: *mut Self::State, _guard_state: &Self::GuardState) {
        // SAFETY: The safety requirements of this function ensure that
        // `ptr` is valid and that the caller owns the lock, taken with
        // `spin_lock_bh` by `lock`.
        unsafe { bindings::spin_unlock_bh(ptr) }
    }
}

/// Creates a [`SpinLockIrq`] initialiser with the given name and a newly
/// created lock class.
#[macro_export]
macro_rules! new_spinlock_irq {
    ($inner:expr $(, $name:literal)? $(,)?) => {
        $crate::sync::SpinLockIrq::new(
            $inner, $crate::optional_name!($($name)?), $crate::static_lock_class!())
    };
}
pub use new_spinlock_irq;

/// A spinlock taken with interrupts disabled (`spin_lock_irqsave`), for
/// data reached from any context, hard interrupts included.
///
/// # Examples
///
/// ```
/// use kernel::sync::SpinLockIrq;
/// use kernel::new_spinlock_irq;
/// use kernel::prelude::*;
///
/// let n = KBox::pin_init(new_spinlock_irq!(0u32), GFP_KERNEL)?;
/// *n.lock() += 1;
/// assert_eq!(*n.lock(), 1);
/// # Ok::<(), Error>(())
/// ```
pub type SpinLockIrq<T> = crate::sync::lock::Lock<T, SpinLockIrqBackend>;

/// A kernel `spinlock_t` lock backend taken with interrupts disabled.
pub struct SpinLockIrqBackend;

// SAFETY: The underlying kernel `spinlock_t` object ensures mutual
// exclusion; the interrupt state saved by `spin_lock_irqsave` is kept in
// the guard and restored by the matching `spin_unlock_irqrestore`.
unsafe impl Backend for SpinLockIrqBackend {
    type State = bindings::spinlock_t;
    type GuardState = crate::ffi::c_ulong;

    unsafe fn init(
        ptr: *mut Self::State,
        name: *const crate::ffi::c_char,
        key: *mut bindings::lock_class_key,
    ) {
        // SAFETY: As for `SpinLockBhBackend::init`.
        unsafe { SpinLockBackend::init(ptr, name, key) }
    }

    unsafe fn lock(ptr: *mut Self::State) -> Self::GuardState {
        // SAFETY: The safety requirements of this function ensure that
        // `ptr` points to valid memory, and that it has been initialised.
        unsafe { bindings::spin_lock_irqsave(ptr) }
    }

    unsafe fn unlock(ptr: *mut Self::State, guard_state: &Self::GuardState) {
        // SAFETY: The caller owns the lock, taken by `lock`, which returned
        // `guard_state`.
        unsafe { bindings::spin_unlock_irqrestore(ptr, *guard_state) }
    }
}
