// SPDX-License-Identifier: GPL-2.0

//! Kernel timers (`struct timer_list`): a callback in softirq context once
//! a number of jiffies has passed.
//!
//! C header: [`include/linux/timer.h`](srctree/include/linux/timer.h)
//!
//! A [`Timer<T>`] holds its data `T` and calls [`TimerHandler::expired`]
//! with the whole timer, so the handler can read its data and arm the
//! timer again. It is created pinned ([`new_timer!`]) and shut down (no
//! callback running, none to come) before its data is dropped, so the
//! callback never sees freed memory.
//!
//! The kernel has no `hrtimer` abstraction in 6.12; this is the plain
//! jiffies timer, whose resolution is one tick (`1/CONFIG_HZ` s).

use crate::bindings;
use crate::init::PinInit;
use crate::prelude::*;
use crate::str::CStr;
use crate::sync::LockClassKey;
use crate::time::Jiffies;
use crate::types::Opaque;
use core::ops::Deref;

/// What a [`Timer`] does when it fires.
pub trait TimerHandler: Send + Sync + Sized {
    /// Called in softirq context when `timer` fires. It may arm `timer`
    /// again; it must not wait for it ([`Timer`]'s drop would).
    fn expired(timer: &Timer<Self>);
}

/// A kernel timer with its data.
///
/// # Invariants
///
/// `raw` is set up with [`Timer::callback`] as its function; it is only
/// armed while the `Timer` is live and pinned (it is only created pinned),
/// and it is shut down (disarmed, callback finished, never armed again)
/// before `data` is dropped.
///
/// # Examples
///
/// ```
/// use core::sync::atomic::{AtomicU32, Ordering};
/// use kernel::new_timer;
/// use kernel::prelude::*;
/// use kernel::timer::{Timer, TimerHandler};
///
/// struct Count(AtomicU32);
/// impl TimerHandler for Count {
///     fn expired(t: &Timer<Self>) {
///         // Fires three times: re-armed twice.
///         if t.0.fetch_add(1, Ordering::Relaxed) < 2 {
///             t.arm_within(1);
///         }
///     }
/// }
///
/// let t = KBox::pin_init(new_timer!(Count(AtomicU32::new(0))), GFP_KERNEL)?;
/// t.arm_within(1);
/// // A later expiry does not push an armed timer back.
/// t.arm_within(1000);
/// let mut waited = 0;
/// while t.0.load(Ordering::Relaxed) < 3 && waited < 1000 {
///     // SAFETY: Sleeping in process context.
///     unsafe { kernel::bindings::msleep(10) };
///     waited += 1;
/// }
/// assert_eq!(t.0.load(Ordering::Relaxed), 3);
/// // Dropping an armed timer disarms it first.
/// t.arm_within(1000);
/// drop(t);
/// # Ok::<(), Error>(())
/// ```
#[pin_data(PinnedDrop)]
pub struct Timer<T: TimerHandler> {
    #[pin]
    raw: Opaque<bindings::timer_list>,
    #[pin]
    data: T,
}

// SAFETY: The C timer may be armed and cancelled from any thread; `T` is
// `Send`.
unsafe impl<T: TimerHandler> Send for Timer<T> {}
// SAFETY: `&Timer` only arms the C timer (which has its own locking) and
// reads `T`, which is `Sync`.
unsafe impl<T: TimerHandler> Sync for Timer<T> {}

impl<T: TimerHandler> Timer<T> {
    /// A disarmed timer holding `data`; prefer [`new_timer!`], which makes
    /// the lockdep class.
    pub fn new(
        data: impl PinInit<T, Error>,
        name: &'static CStr,
        key: &'static LockClassKey,
    ) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            data <- data,
            // SAFETY: `slot` is the pinned, uninitialised `timer_list`;
            // `init_timer_key` initialises it (disarmed). `name` and `key`
            // are static, as lockdep requires.
            // INVARIANT: set up with `callback`; `drop` shuts it down.
            raw <- unsafe {
                Opaque::ffi_init(move |slot: *mut bindings::timer_list| {
                    bindings::init_timer_key(
                        slot,
                        Some(Self::callback),
                        0,
                        name.as_char_ptr(),
                        key.as_ptr(),
                    )
                })
            },
        }? Error)
    }

    /// Arms the timer to fire within `delay` jiffies (at least one): a
    /// disarmed timer is armed, an armed one keeps the earlier of its
    /// expiry and the new one (`timer_reduce`).
    pub fn arm_within(&self, delay: Jiffies) {
        // SAFETY: `raw` is set up and `self` is pinned and live (type
        // invariants); drop shuts the timer down before it goes.
        unsafe { bindings::net_ext_timer_reduce_in(self.raw.get(), delay.max(1)) };
    }

    /// Disarms the timer, without waiting for a callback running on
    /// another CPU.
    pub fn cancel(&self) {
        // SAFETY: `raw` is set up (type invariants).
        unsafe { bindings::timer_delete(self.raw.get()) };
    }

    /// # Safety
    ///
    /// `raw` must be the `raw` field of a live `Timer<T>`.
    unsafe extern "C" fn callback(raw: *mut bindings::timer_list) {
        // SAFETY: guaranteed by the caller: `raw` is inside a `Timer<T>`,
        // which is live: drop shuts the timer down (waiting for this
        // callback) before the object goes.
        let this = unsafe {
            &*crate::container_of!(raw.cast::<Opaque<bindings::timer_list>>(), Self, raw)
        };
        T::expired(this);
    }
}

impl<T: TimerHandler> Deref for Timer<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.data
    }
}

#[pinned_drop]
impl<T: TimerHandler> PinnedDrop for Timer<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: `raw` is set up (type invariants). This waits for a
        // running callback and keeps the timer from being armed again, so
        // no callback sees `data` once it is dropped.
        unsafe { bindings::timer_shutdown_sync(self.raw.get()) };
    }
}

/// Converts microseconds to jiffies, rounding up (`usecs_to_jiffies`).
pub fn usecs_to_jiffies(us: u32) -> Jiffies {
    // SAFETY: A pure computation, callable from any context.
    unsafe { bindings::__usecs_to_jiffies(us) }
}

/// A [`Timer`] holding `data`, with a lockdep class of its own.
#[macro_export]
macro_rules! new_timer {
    ($data:expr $(, $name:literal)? $(,)?) => {
        $crate::timer::Timer::new(
            $data,
            $crate::optional_name!($($name)?),
            $crate::static_lock_class!(),
        )
    };
}
pub use new_timer;
