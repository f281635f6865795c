// SPDX-License-Identifier: GPL-2.0

//! NAPI: interrupt-mitigated polling of device queues.
//!
//! C header: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h)
//!
//! A [`Napi<T, P>`] embeds a `struct napi_struct` and the poller `P`; the
//! stack calls [`Poll::poll`] in softirq context after [`Napi::schedule`].
//! The object is pinned (the stack keeps a pointer to it), is added to its
//! device when created and removed when dropped, and holds a reference to
//! the device ([`ARef<Device<T>>`](ARef)): the `net_device` the stack polls
//! it for cannot go before it does. Unregistering the device waits for
//! that reference, so a driver drops its NAPI contexts in `stop` (which
//! unregistration calls first), as C drivers delete theirs.
//!
//! A poll that cannot make progress without an interrupt (say, it could
//! not refill an empty rx ring) asks for another poll later with
//! [`NapiRef::schedule_after`]: a timer of the context, cancelled by
//! [`Napi::disable`] and shut down when the context is dropped.

use crate::bindings;
use crate::net::netdev::{self, Device};
use crate::net::skb::RxSkb;
use crate::prelude::*;
use crate::types::{ARef, Opaque};
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, Ordering};

/// A NAPI poller of a device driven by `T`.
pub trait Poll<T: netdev::Driver>: Send + Sync + 'static {
    /// Processes up to `budget` packets of `dev`; returns how many it
    /// processed.
    ///
    /// When it processed fewer than `budget`, the poller must call
    /// [`NapiRef::complete_done`] (and re-arm its interrupt if that returns
    /// true).
    fn poll(&self, dev: &Device<T>, napi: &NapiRef<'_>, budget: i32) -> i32;
}

/// A NAPI context of a device driven by `T`, with poller `P`.
///
/// # Invariants
///
/// `raw` was added with `netif_napi_add` to `dev` and stays added until
/// `drop`; `enabled` tells whether it is enabled. `timer` is set up with
/// `timer_callback`; it is armed only from a running poll of `raw`
/// ([`NapiRef`]), so never while `raw` is disabled once [`Napi::disable`]
/// returned, and it is shut down before `raw` is removed.
///
/// # Examples
///
/// A poller run once by a schedule; the context holds a reference to its
/// device while it lives.
///
/// ```
/// use core::sync::atomic::{AtomicU32, Ordering};
/// use kernel::bindings;
/// use kernel::c_str;
/// use kernel::net::napi::{Napi, NapiRef, Poll};
/// use kernel::net::netdev::{self, Device, Features, Params, Registration, TxResult};
/// use kernel::net::skb::TxSkb;
/// use kernel::prelude::*;
///
/// struct Polled;
/// #[vtable]
/// impl netdev::Driver for Polled {
///     type Data = ();
///     fn start_xmit(_dev: &Device<Self>, skb: TxSkb) -> TxResult {
///         skb.consume();
///         TxResult::Ok
///     }
/// }
///
/// struct Counter(AtomicU32);
/// impl Poll<Polled> for Counter {
///     fn poll(&self, _dev: &Device<Polled>, napi: &NapiRef<'_>, _budget: i32) -> i32 {
///         self.0.fetch_add(1, Ordering::Relaxed);
///         napi.complete_done(0);
///         0
///     }
/// }
///
/// let params = Params {
///     name: c_str!("rsnapi%d"),
///     txqs: 1,
///     rxqs: 1,
///     mac: [0x02, 0, 0, 0, 0, 4],
///     parent: None,
///     max_mtu: 0,
///     real_queues: 0,
///     queue_mgmt: None,
///     hw_features: Features::EMPTY,
///     features: Features::EMPTY,
///     ethtool: None,
///     stat_ops: None,
///     tso_max: None,
/// };
/// let reg = Registration::<Polled>::new(&params, ())?;
/// let refs = || {
///     // SAFETY: RTNL is held around the lookup; the device is registered.
///     unsafe {
///         bindings::rtnl_lock();
///         let net = core::ptr::addr_of_mut!(bindings::init_net);
///         let raw = bindings::__dev_get_by_index(net, reg.device().ifindex());
///         let n = bindings::netdev_refcnt_read(raw);
///         bindings::rtnl_unlock();
///         n
///     }
/// };
/// let before = refs();
/// let napi = KBox::pin_init(Napi::new(reg.device(), Counter(AtomicU32::new(0))), GFP_KERNEL)?;
/// assert_eq!(refs(), before + 1);
/// napi.enable();
/// napi.schedule();
/// // Disabling waits for the scheduled poll to complete.
/// napi.disable();
/// assert_eq!(napi.data().0.load(Ordering::Relaxed), 1);
/// drop(napi);
/// assert_eq!(refs(), before);
/// drop(reg);
/// # Ok::<(), Error>(())
/// ```
#[pin_data(PinnedDrop)]
pub struct Napi<T: netdev::Driver, P: Poll<T>> {
    #[pin]
    raw: Opaque<bindings::napi_struct>,
    /// Schedules `raw` when it fires ([`NapiRef::schedule_after`]).
    #[pin]
    timer: Opaque<bindings::timer_list>,
    enabled: AtomicBool,
    dev: ARef<Device<T>>,
    #[pin]
    data: P,
}

// SAFETY: The NAPI core serialises poll; the other methods are safe to call
// from any thread, and `P` is `Send + Sync`.
unsafe impl<T: netdev::Driver, P: Poll<T>> Send for Napi<T, P> {}
// SAFETY: As above.
unsafe impl<T: netdev::Driver, P: Poll<T>> Sync for Napi<T, P> {}

impl<T: netdev::Driver, P: Poll<T>> Napi<T, P> {
    /// Creates a NAPI context for `dev` polling with `data`. It starts
    /// disabled, and holds a reference to `dev` until it is dropped.
    pub fn new<'a>(
        dev: &'a Device<T>,
        data: impl PinInit<P, Error> + 'a,
    ) -> impl PinInit<Self, Error> + 'a {
        try_pin_init!(Self {
            data <- data,
            enabled: AtomicBool::new(false),
            dev: dev.into(),
            // SAFETY: `slot` is the pinned, uninitialised `timer_list`;
            // `timer_setup` initialises it. It is not armed until a poll
            // runs, and `drop` shuts it down.
            timer <- unsafe {
                Opaque::ffi_init(move |slot: *mut bindings::timer_list| {
                    bindings::net_ext_timer_setup(slot, Some(Self::timer_callback))
                })
            },
            // SAFETY: `slot` is the pinned, uninitialised `napi_struct`;
            // it is zeroed first (C drivers embed it in zeroed memory, and
            // `netif_napi_add` reads `state`, warning if a stale
            // `NAPI_STATE_LISTED` is set), then `netif_napi_add` initialises
            // it and links it to the device, on which we hold a reference
            // (`dev`, initialised before this field). `poll_callback` only
            // runs after `enable`, when the whole object is initialised.
            raw <- unsafe {
                Opaque::ffi_init(move |slot: *mut bindings::napi_struct| {
                    core::ptr::write_bytes(slot, 0, 1);
                    bindings::netif_napi_add(dev.as_ptr(), slot, Some(Self::poll_callback))
                })
            },
        }? Error)
    }

    /// The poller.
    pub fn data(&self) -> &P {
        &self.data
    }

    /// Enables polling (process context).
    pub fn enable(&self) {
        if !self.enabled.swap(true, Ordering::AcqRel) {
            // SAFETY: By the type invariants `raw` is added and disabled.
            unsafe { bindings::napi_enable(self.raw.get()) };
        }
    }

    /// Disables polling, waits for a running poll to end and cancels a
    /// poll asked for with [`NapiRef::schedule_after`] (process context,
    /// may sleep).
    pub fn disable(&self) {
        if self.enabled.swap(false, Ordering::AcqRel) {
            // SAFETY: By the type invariants `raw` is added and enabled.
            unsafe { bindings::napi_disable(self.raw.get()) };
            // SAFETY: `timer` is set up (type invariants). No poll runs
            // any more, so nothing re-arms it; its callback takes no lock,
            // so waiting for it cannot deadlock.
            unsafe { bindings::timer_delete_sync(self.timer.get()) };
        }
    }

    /// Schedules a poll (from an interrupt handler or any context).
    pub fn schedule(&self) {
        // SAFETY: By the type invariants `raw` is added; scheduling a
        // disabled NAPI is a no-op.
        unsafe { bindings::napi_schedule(self.raw.get()) };
    }

    /// # Safety
    ///
    /// `timer` must be the `timer` field of a live `Napi<T, P>`.
    unsafe extern "C" fn timer_callback(timer: *mut bindings::timer_list) {
        // SAFETY: guaranteed by the caller: `timer` is inside a `Napi<T, P>`,
        // which is live: `drop` shuts the timer down (waiting for this
        // callback) before the object goes.
        let this = unsafe {
            &*crate::container_of!(timer.cast::<Opaque<bindings::timer_list>>(), Self, timer)
        };
        this.schedule();
    }

    /// # Safety
    ///
    /// `napi` must be the `raw` field of a live, initialised `Napi<T, P>`.
    unsafe extern "C" fn poll_callback(
        napi: *mut bindings::napi_struct,
        budget: core::ffi::c_int,
    ) -> core::ffi::c_int {
        // SAFETY: guaranteed by the caller: `napi` is inside a `Napi<T, P>`.
        let this = unsafe {
            &*crate::container_of!(napi.cast::<Opaque<bindings::napi_struct>>(), Self, raw)
        };
        // INVARIANT: `napi` is being polled by the NAPI core; `timer` is
        // the timer of its `Napi`.
        let r = NapiRef {
            raw: napi,
            timer: this.timer.get(),
            _p: PhantomData,
        };
        this.data.poll(&this.dev, &r, budget)
    }
}

#[pinned_drop]
impl<T: netdev::Driver, P: Poll<T>> PinnedDrop for Napi<T, P> {
    fn drop(self: Pin<&mut Self>) {
        self.disable();
        // SAFETY: `timer` is set up (type invariants); `raw` is disabled,
        // so no poll re-arms it; after this it cannot be armed again.
        unsafe { bindings::timer_shutdown_sync(self.timer.get()) };
        // SAFETY: By the type invariants `raw` is added; it is disabled, so
        // no poll runs; `netif_napi_del` waits for readers to go.
        unsafe { bindings::netif_napi_del(self.raw.get()) };
    }
}

/// A NAPI context being polled, handed to [`Poll::poll`].
///
/// # Invariants
///
/// `raw` is a NAPI context whose poll is running in this context; `timer`
/// is the set-up timer of its [`Napi`].
pub struct NapiRef<'a> {
    raw: *mut bindings::napi_struct,
    timer: *mut bindings::timer_list,
    _p: PhantomData<&'a ()>,
}

impl NapiRef<'_> {
    /// Ends the poll after `work_done` packets; returns whether the driver
    /// should re-arm its interrupt.
    pub fn complete_done(&self, work_done: i32) -> bool {
        // SAFETY: By the type invariants the poll is running.
        unsafe { bindings::napi_complete_done(self.raw, work_done) }
    }

    /// Schedules another poll of this context in `delay` jiffies (at
    /// least one), replacing an earlier request; for a poller that cannot
    /// make progress now and would otherwise wait for an interrupt that
    /// may never come. [`Napi::disable`] cancels it.
    pub fn schedule_after(&self, delay: crate::time::Jiffies) {
        // SAFETY: By the type invariants `timer` is set up and its `Napi`
        // is being polled, so `disable` (which cancels the timer after
        // this poll ends) and `drop` have not run yet.
        unsafe { bindings::net_ext_mod_timer_in(self.timer, delay.max(1)) };
    }

    /// Allocates an skb with `len` bytes of linear room for a received
    /// packet.
    pub fn alloc_skb(&self, len: u32) -> Option<RxSkb> {
        // SAFETY: By the type invariants we are in this NAPI's poll (BH).
        let skb = unsafe { bindings::napi_alloc_skb(self.raw, len) };
        // SAFETY: A non-null return is a fresh skb we own.
        NonNull::new(skb).map(|skb| unsafe { RxSkb::from_raw(skb) })
    }

    /// Like [`NapiRef::alloc_skb`], but the linear part is never a page
    /// fragment.
    ///
    /// Use it when the linear part may carry payload and the skb may get
    /// unreadable (net_iov) frags: GRO and TCP coalescing would turn a
    /// page-fragment head with payload into a readable page frag of
    /// another, unreadable skb, which the devmem receive path refuses
    /// (`ENODEV`); a kmalloc'd head is chained or kept apart instead.
    pub fn alloc_skb_kmalloc_head(&self, len: u32) -> Option<RxSkb> {
        // SAFETY: By the type invariants we are in this NAPI's poll (BH).
        let skb = unsafe { bindings::net_ext_napi_alloc_skb_kmalloc(self.raw, len) };
        // SAFETY: A non-null return is a fresh skb we own.
        NonNull::new(skb).map(|skb| unsafe { RxSkb::from_raw(skb) })
    }

    /// Hands a received Ethernet frame to the stack (through GRO).
    ///
    /// Sets the protocol from the Ethernet header with `eth_type_trans`,
    /// which needs the header in the linear part.
    pub fn gro_receive<T: netdev::Driver>(&self, dev: &Device<T>, skb: RxSkb) {
        let skb = skb.into_raw();
        // SAFETY: By the type invariants we are in this NAPI's poll; we own
        // `skb`, whose ownership passes to the stack.
        unsafe {
            // `skb->protocol = eth_type_trans(skb, dev)`: the field is in a
            // member bindgen emulates, so at the offset C computed.
            skb.cast::<u8>()
                .add(bindings::SKB_PROTOCOL_OFFSET)
                .cast::<bindings::__be16>()
                .write(bindings::eth_type_trans(skb, dev.as_ptr()));
            bindings::napi_gro_receive(self.raw, skb);
        }
    }
}
