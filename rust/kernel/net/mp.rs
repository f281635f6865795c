// SPDX-License-Identifier: GPL-2.0

//! Memory providers for rx queues, and the devmem core's C interface.
//!
//! C headers: [`include/net/page_pool/memory_provider.h`](srctree/include/net/page_pool/memory_provider.h),
//! [`include/net/netdev_rx_queue.h`](srctree/include/net/netdev_rx_queue.h),
//! [`net/core/devmem.h`](srctree/net/core/devmem.h)
//!
//! In Linux 6.12 a memory provider is a pair (`mp_ops`, `mp_priv`) stored in
//! an rx queue's `mp_params`; a page pool created for that queue with
//! unreadable memory allowed copies the pair under RTNL and calls
//! `mp_ops->init`, then `alloc_netmems` / `release_netmem` from its
//! allocation and recycling paths (NAPI softirq or process context) and
//! `destroy` when it is freed. Other C code reads `mp_priv` as a
//! `struct net_devmem_dmabuf_binding` (its `id`, its `list` on the netlink
//! socket), so a provider's private object is a [`Binding`]: that C struct
//! followed by the `net_iov`s ([`NetIovArea`]) and the provider's own data.
//!
//! # References
//!
//! A [`Binding`] lives in an [`Arc`]. References are held by: the netlink
//! socket that bound it (from `net_devmem_bind_dmabuf` until
//! `net_devmem_unbind_dmabuf`), every rx queue it is installed on
//! ([`Installed`]) and every page pool that took it up (from `init` to
//! `destroy`). Page pools stay alive while any of their buffers is in
//! flight (in an skb, in a socket's token table), so the `net_iov`s stay
//! valid as long as anything can reach them.
//!
//! # The entry points
//!
//! [`crate::net_devmem_core!`] defines, for a type implementing [`Core`],
//! the functions the rest of 6.12 calls (`net_devmem_bind_dmabuf`,
//! `net_devmem_bind_dmabuf_to_queue`, `net_devmem_unbind_dmabuf`,
//! `dev_dmabuf_uninstall`) and the provider's ops table, a `static` (the
//! page pool refuses tables outside kernel rodata).

use crate::bindings;
use crate::device::Device;
use crate::error::{code::*, from_result, Result};
use crate::net::netmem::{NetIovArea, UserStats};
use crate::net::ns::{Net, NetId};
use crate::net::rtnl::Rtnl;
use crate::prelude::*;
use crate::scatterlist::SgTable;
use crate::str::CStr;
use crate::sync::{Arc, ArcBorrow};
use crate::types::{ARef, AlwaysRefCounted, Opaque};
use core::marker::PhantomData;
use core::mem::ManuallyDrop;
use core::ptr::NonNull;
use core::sync::atomic::Ordering;

/// A network device of any driver (`struct net_device`).
///
/// # Invariants
///
/// The `net_device` is valid for the lifetime of the reference, and for as
/// long as an [`ARef<NetDevice>`] holds it (`dev_hold`).
#[repr(transparent)]
pub struct NetDevice(Opaque<bindings::net_device>);

// SAFETY: A net_device may be referenced from any thread; the methods use
// RTNL or the device's own locking.
unsafe impl Send for NetDevice {}
// SAFETY: As above.
unsafe impl Sync for NetDevice {}

// SAFETY: `dev_hold`/`dev_put` keep the `net_device` allocated (its free
// waits for the count to drop).
unsafe impl AlwaysRefCounted for NetDevice {
    fn inc_ref(&self) {
        // SAFETY: The device is valid (type invariants).
        unsafe { bindings::dev_hold(self.as_ptr()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller gives up a reference taken by `inc_ref`.
        unsafe { bindings::dev_put(obj.as_ptr().cast()) };
    }
}

impl NetDevice {
    /// # Safety
    ///
    /// `ptr` must point to a `net_device` that stays valid for `'a`.
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::net_device) -> &'a Self {
        // CAST: `Self` is `repr(transparent)` over the `net_device`.
        // SAFETY: guaranteed by the caller.
        unsafe { &*ptr.cast() }
    }

    /// The raw `net_device`.
    pub fn as_ptr(&self) -> *mut bindings::net_device {
        self.0.get()
    }

    /// The device of index `ifindex` in `net` (`__dev_get_by_index()`),
    /// registered while RTNL is held.
    pub fn get_by_index<'a>(net: &Net, ifindex: i32, _rtnl: &'a Rtnl) -> Option<&'a NetDevice> {
        // SAFETY: `net` is alive; RTNL is held (the token).
        let p = unsafe { bindings::__dev_get_by_index(net.as_ptr(), ifindex) };
        // SAFETY: A registered device; unregistering it needs RTNL, which
        // the caller holds for `'a`.
        (!p.is_null()).then(|| unsafe { NetDevice::from_raw(p) })
    }

    /// Whether the device is present (`netif_device_present()`: not
    /// detached, e.g. suspended or being removed).
    pub fn is_present(&self) -> bool {
        // SAFETY: Valid (type invariants).
        unsafe { bindings::netif_device_present(self.as_ptr()) }
    }

    /// Whether an XDP program is attached (`dev_xdp_prog_count()`).
    pub fn has_xdp_prog(&self, _rtnl: &Rtnl) -> bool {
        // SAFETY: Valid (type invariants); stable under RTNL.
        unsafe { bindings::dev_xdp_prog_count(self.as_ptr()) != 0 }
    }

    /// The network namespace the device is in (`dev_net()`).
    pub fn net(&self) -> &Net {
        // SAFETY: Valid (type invariants); a device keeps its namespace
        // alive while it is in it.
        unsafe { Net::from_raw(bindings::dev_net(self.as_ptr())) }
    }

    /// The identity of [`NetDevice::net`].
    pub fn net_id(&self) -> NetId {
        self.net().id()
    }

    /// The interface index.
    pub fn ifindex(&self) -> i32 {
        // SAFETY: Valid (type invariants); set at registration.
        unsafe { (*self.as_ptr()).ifindex }
    }

    /// The device it sits on (`dev.parent`: the bus device that DMAs for
    /// it), if any. It stays registered while the net device is.
    pub fn parent(&self) -> Option<&Device> {
        // SAFETY: Valid (type invariants).
        let p = unsafe { bindings::net_ext_netdev_parent(self.as_ptr()) };
        // SAFETY: The parent holds a reference from the net device's
        // `struct device`, which lives at least as long as `self`.
        (!p.is_null()).then(|| unsafe { Device::as_ref(p) })
    }

    /// NUMA node of the device, or `NUMA_NO_NODE`.
    pub fn numa_node(&self) -> i32 {
        // SAFETY: Valid (type invariants).
        unsafe { bindings::net_ext_dev_to_node(self.as_ptr()) }
    }

    /// Number of rx queues allocated (`num_rx_queues`, fixed).
    pub fn num_rx_queues(&self) -> u32 {
        // SAFETY: Valid (type invariants); set at allocation.
        unsafe { bindings::net_ext_num_rx_queues(self.as_ptr()) }
    }

    /// Number of rx queues in use (`real_num_rx_queues`; RTNL keeps it).
    pub fn real_num_rx_queues(&self, _rtnl: &Rtnl) -> u32 {
        // SAFETY: Valid (type invariants); stable under RTNL.
        unsafe { bindings::net_ext_real_num_rx_queues(self.as_ptr()) }
    }

    fn rxq_mp(
        &self,
        idx: u32,
    ) -> Option<(*const bindings::memory_provider_ops, *mut core::ffi::c_void)> {
        if idx >= self.num_rx_queues() {
            return None;
        }
        let mut mp_priv = core::ptr::null_mut();
        // SAFETY: `idx < num_rx_queues`; `mp_priv` is a valid out pointer.
        let ops = unsafe { bindings::net_ext_rxq_mp_ops(self.as_ptr(), idx, &mut mp_priv) };
        Some((ops, mp_priv))
    }

    /// Whether rx queue `idx` (`< num_rx_queues`) has a memory provider.
    pub fn rx_queue_has_provider(&self, _rtnl: &Rtnl, idx: u32) -> bool {
        self.rxq_mp(idx).is_some_and(|(ops, _)| !ops.is_null())
    }

    /// Whether rx queue `idx` (`< num_rx_queues`) is used by an AF_XDP
    /// socket.
    pub fn rx_queue_has_xsk_pool(&self, _rtnl: &Rtnl, idx: u32) -> bool {
        // SAFETY: Valid; `idx` is checked; RTNL keeps `pool` stable.
        idx < self.num_rx_queues()
            && unsafe { bindings::net_ext_rxq_has_xsk_pool(self.as_ptr(), idx) }
    }

    /// The binding of provider `T` installed on rx queue `idx`, if any.
    pub fn rx_queue_binding<T: HasOps>(&self, _rtnl: &Rtnl, idx: u32) -> Option<Arc<Binding<T>>> {
        let (ops, mp_priv) = self.rxq_mp(idx)?;
        if !core::ptr::eq(ops, T::ops().as_raw()) || mp_priv.is_null() {
            return None;
        }
        // SAFETY: Only `Binding::install` stores `T`'s ops, together with
        // the header of a `Binding<T>` on which the queue holds a reference
        // (owned by an `Installed`), which RTNL keeps from going away.
        let b = unsafe { ArcBorrow::from_raw(mp_priv.cast::<Binding<T>>()) };
        Some(b.into())
    }
}

impl<T: crate::net::netdev::Driver> crate::net::netdev::Device<T> {
    /// The device as a [`NetDevice`] of any driver.
    pub fn as_net_device(&self) -> &NetDevice {
        // SAFETY: A registered device, valid as long as `self`.
        unsafe { NetDevice::from_raw(self.as_ptr()) }
    }
}

/// Runs `f` with RTNL held (`rtnl_lock`), in process context. Must not be
/// called with RTNL held already.
pub fn with_rtnl<R>(f: impl FnOnce(&Rtnl) -> R) -> R {
    // SAFETY: FFI call; process context.
    unsafe { bindings::rtnl_lock() };
    // SAFETY: RTNL is held until `rtnl_unlock` below; the proof cannot
    // escape `f`.
    let r = f(unsafe { Rtnl::assume_held() });
    // SAFETY: Locked above.
    unsafe { bindings::rtnl_unlock() };
    r
}

/// Netlink extended ack of a request, for an error message.
///
/// # Invariants
///
/// `ptr` is null or a valid `netlink_ext_ack` for `'a`.
pub struct ExtAck<'a>(*mut bindings::netlink_ext_ack, PhantomData<&'a mut ()>);

impl ExtAck<'_> {
    /// # Safety
    ///
    /// `ptr` must be null or valid for `'a`, with nobody else using it.
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::netlink_ext_ack) -> ExtAck<'a> {
        // INVARIANT: guaranteed by the caller.
        ExtAck(ptr, PhantomData)
    }

    /// No extended ack: for requests the kernel makes itself, whose
    /// messages nobody reads.
    pub fn none() -> ExtAck<'static> {
        // INVARIANT: null is allowed.
        ExtAck(core::ptr::null_mut(), PhantomData)
    }

    /// The `netlink_ext_ack` pointer (null if the request has none).
    pub fn as_raw(&self) -> *mut bindings::netlink_ext_ack {
        self.0
    }

    /// Sets the message reported with the request's error.
    pub fn set_msg(&self, msg: &'static CStr) {
        // SAFETY: Null or valid (type invariants); `msg` is `'static`.
        unsafe { bindings::net_ext_extack_set_msg(self.0, msg.as_char_ptr()) };
    }
}

/// A page pool being set up with a provider (in `init`).
///
/// # Invariants
///
/// `pool` is a page pool inside `page_pool_init`, not yet used by anyone
/// else.
pub struct PoolInit<'a>(NonNull<bindings::page_pool>, PhantomData<&'a ()>);

impl PoolInit<'_> {
    /// Allocation order of the pool's buffers.
    pub fn order(&self) -> u32 {
        // SAFETY: Valid (type invariants).
        unsafe { bindings::net_ext_pp_order(self.0.as_ptr()) }
    }

    /// Turns the pool's DMA syncs off: the provider's buffers are not
    /// synced through the DMA API (dma-buf addresses).
    pub fn disable_dma_sync(&self) {
        // SAFETY: Valid and not shared yet (type invariants), so writing
        // its flags races with nobody.
        unsafe { bindings::net_ext_pp_disable_dma_sync(self.0.as_ptr()) };
    }
}

/// A memory provider: what a page pool calls.
pub trait Provider: Send + Sync + Sized + 'static {
    /// A page pool takes the binding up (under RTNL). An error fails the
    /// pool's creation (and so the queue restart).
    fn init(binding: &Binding<Self>, pool: &PoolInit<'_>) -> Result;

    /// The index of a free `net_iov` to hand out, or `None`. Runs in the
    /// page pool's allocation path: NAPI softirq or process context, must
    /// not sleep.
    fn alloc(binding: &Binding<Self>) -> Option<usize>;

    /// `net_iov` `index` (one [`Provider::alloc`] gave) is free again. Runs
    /// in softirq or process context, must not sleep.
    fn release(binding: &Binding<Self>, index: usize);

    /// A page pool that took the binding up is freed (process context).
    fn destroy(_binding: &Binding<Self>) {}
}

/// The ops table of a provider (`struct memory_provider_ops`).
#[repr(transparent)]
pub struct Ops(bindings::memory_provider_ops);

// SAFETY: Immutable; only function pointers.
unsafe impl Sync for Ops {}

impl Ops {
    /// # Safety
    ///
    /// The callbacks must be the `ffi::mp_*::<T>` functions of one type `T`,
    /// and the table must be the one `T`'s [`HasOps::ops`] returns.
    pub const unsafe fn from_raw(ops: bindings::memory_provider_ops) -> Self {
        Self(ops)
    }

    fn as_raw(&self) -> *const bindings::memory_provider_ops {
        &self.0
    }
}

/// A provider with its ops table (made by [`crate::net_devmem_core!`]).
///
/// # Safety
///
/// [`HasOps::ops`] returns a `'static` table built with [`Ops::from_raw`]
/// from the `ffi::mp_*::<Self>` callbacks.
pub unsafe trait HasOps: Provider {
    /// The table.
    fn ops() -> &'static Ops;
}

/// A dma-buf binding: the C `struct net_devmem_dmabuf_binding` other code
/// reads, the `net_iov`s, and the provider's data `T`.
///
/// # Examples
///
/// ```
/// use core::sync::atomic::{AtomicUsize, Ordering};
/// use kernel::c_str;
/// use kernel::dma::{self, Direction, PlatformDevice};
/// use kernel::dma_buf;
/// use kernel::net::mp::{self, Binding, PoolInit, Provider};
/// use kernel::net::netdev::{self, Device, Registration, TxResult};
/// use kernel::net::netmem::UserStats;
/// use kernel::sync::Arc;
/// use kernel::net::skb::TxSkb;
///
/// // A provider handing out each net_iov once, in order.
/// struct OneShot(AtomicUsize);
/// impl Provider for OneShot {
///     fn init(_b: &Binding<Self>, pool: &PoolInit<'_>) -> Result {
///         pool.disable_dma_sync();
///         Ok(())
///     }
///     fn alloc(b: &Binding<Self>) -> Option<usize> {
///         let i = b.data().0.fetch_add(1, Ordering::Relaxed);
///         (i < b.area().len()).then_some(i)
///     }
///     fn release(_b: &Binding<Self>, _i: usize) {}
/// }
/// kernel::impl_provider_ops!(OneShot);
///
/// let pdev = PlatformDevice::new(c_str!("rs-mp-doc"), PlatformDevice::ID_AUTO)?;
/// dma::set_mask_64(pdev.device())?;
/// let map = dma_buf::export_pages(&[1, 0])?
///     .attach(pdev.device())?
///     .map(Direction::FromDevice)?;
/// let stats = Arc::new(UserStats::new(), GFP_KERNEL)?;
/// let b = Binding::new(map.table(), 7, stats, OneShot(AtomicUsize::new(0)))?;
/// assert_eq!(b.id(), 7);
/// assert_eq!(b.area().len(), 3);
/// // What tcp.c's net_iov_binding_id() reads through each net_iov's owner.
/// assert!((0..3).all(|i| b.area().binding_id(i) == Some(7)));
///
/// // A device without queue management ops cannot restart a queue: the
/// // binding is not installed and the queue keeps no provider.
/// struct Nic;
/// #[vtable]
/// impl netdev::Driver for Nic {
///     type Data = u32;
///     fn start_xmit(_dev: &Device<Self>, skb: TxSkb) -> TxResult {
///         drop(skb);
///         TxResult::Ok
///     }
/// }
/// let params = netdev::Params {
///     name: c_str!("rsmp%d"),
///     txqs: 1,
///     rxqs: 2,
///     mac: [0x02, 0, 0, 0, 0, 3],
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
/// let dev = reg.device().as_net_device();
/// assert!(dev.parent().is_some_and(|p| core::ptr::eq(p, pdev.device())));
/// mp::with_rtnl(|rtnl| {
///     assert_eq!(dev.real_num_rx_queues(rtnl), 2);
///     assert_eq!(Binding::install(b.as_arc_borrow(), dev, rtnl, 2).err(), Some(ERANGE));
///     assert_eq!(Binding::install(b.as_arc_borrow(), dev, rtnl, 1).err(), Some(EOPNOTSUPP));
///     assert!(!dev.rx_queue_has_provider(rtnl, 1));
///     assert!(dev.rx_queue_binding::<OneShot>(rtnl, 1).is_none());
/// });
/// drop(reg);
/// drop(b);
/// drop(map);
/// # Ok::<(), Error>(())
/// ```
///
/// # Invariants
///
/// - `raw` comes first (so a pointer to the binding is one to `raw`), is
///   zero but for `id` and the `list` netdev-genl links it on, and every
///   chunk owner of `area` points at it.
/// - the binding is only created inside an [`Arc`] and never moved.
#[pin_data]
#[repr(C)]
pub struct Binding<T: Provider> {
    raw: Opaque<bindings::net_devmem_dmabuf_binding>,
    area: NetIovArea,
    #[pin]
    data: T,
}

// SAFETY: `raw` is written only before the binding is shared and, for
// `list`, by C under RTNL; `area` is `Send + Sync`; `T` is.
unsafe impl<T: Provider> Send for Binding<T> {}
// SAFETY: As above.
unsafe impl<T: Provider> Sync for Binding<T> {}

impl<T: Provider> Binding<T> {
    /// A binding with id `id` of the `net_iov`s carved from `table` (see
    /// [`NetIovArea::new`]), counting what user space does with them in
    /// `stats`.
    pub fn new(
        table: &SgTable,
        id: u32,
        stats: Arc<UserStats>,
        data: impl PinInit<T, crate::error::Error>,
    ) -> Result<Arc<Self>> {
        let area = NetIovArea::new(table, stats)?;
        let b = Arc::pin_init(
            try_pin_init!(Self {
                // SAFETY: All zeroes is a valid, unlinked binding header.
                raw: Opaque::new(unsafe { core::mem::zeroed() }),
                area,
                data <- data,
            }? crate::error::Error),
            crate::alloc::flags::GFP_KERNEL,
        )?;
        let hdr = b.raw.get();
        // SAFETY: `b` is not shared yet; `hdr` lives as long as the area
        // (same allocation, which is never moved).
        unsafe {
            (*hdr).id = id;
            b.area.set_binding(hdr);
        }
        // INVARIANT: set up as described.
        Ok(b)
    }

    /// The id (`binding->id`).
    pub fn id(&self) -> u32 {
        // SAFETY: Written only before the binding was shared.
        unsafe { (*self.raw.get()).id }
    }

    /// The provider's data.
    pub fn data(&self) -> &T {
        &self.data
    }

    /// The `net_iov`s.
    pub fn area(&self) -> &NetIovArea {
        &self.area
    }

    fn header(&self) -> *mut bindings::net_devmem_dmabuf_binding {
        self.raw.get()
    }
}

impl<T: HasOps> Binding<T> {
    /// Installs the binding as the memory provider of rx queue `idx` of
    /// `dev` and restarts the queue (`netdev_rx_queue_restart`), so that
    /// its new page pool takes the binding up. `ERANGE` for a queue not in
    /// use, `EEXIST` if the queue already has a provider; the restart's
    /// errors (then the queue is left without the binding): `EOPNOTSUPP`
    /// without queue management ops, the driver's, `ENODATA` if no page
    /// pool took the binding up.
    pub fn install(
        this: ArcBorrow<'_, Self>,
        dev: &NetDevice,
        rtnl: &Rtnl,
        idx: u32,
    ) -> Result<Installed<T>> {
        if idx >= dev.real_num_rx_queues(rtnl) {
            return Err(ERANGE);
        }
        if dev.rx_queue_has_provider(rtnl, idx) {
            return Err(EEXIST);
        }
        let binding: Arc<Self> = this.into();
        // SAFETY: `idx` is a queue of `dev`, RTNL is held; the queue's
        // reference is `binding`, kept by the `Installed` returned (or
        // dropped after the pointer is cleared again).
        unsafe {
            bindings::net_ext_rxq_set_mp(
                dev.as_ptr(),
                idx,
                T::ops().as_raw(),
                binding.header().cast(),
            )
        };
        // SAFETY: RTNL is held; `idx` is a queue in use.
        let ret = unsafe { bindings::netdev_rx_queue_restart(dev.as_ptr(), idx) };
        if ret != 0 {
            // SAFETY: As above.
            unsafe {
                bindings::net_ext_rxq_set_mp(
                    dev.as_ptr(),
                    idx,
                    core::ptr::null(),
                    core::ptr::null_mut(),
                )
            };
            return Err(crate::error::Error::from_errno(ret));
        }
        // INVARIANT: the queue points at `binding`, whose reference we keep.
        Ok(Installed {
            dev: ManuallyDrop::new(dev.into()),
            idx,
            binding: ManuallyDrop::new(binding),
        })
    }
}

/// A binding installed on an rx queue; the queue's reference to it.
///
/// It must be given back with [`Installed::remove`] or
/// [`Installed::forget`] (under RTNL). Dropped otherwise, it leaks the
/// binding and the device reference (the device then never finishes
/// unregistering), since the queue still points at the binding.
///
/// # Invariants
///
/// Rx queue `idx` of `dev` has `T`'s ops and `binding`'s header as its
/// memory provider; `binding` and the `dev_hold` of `dev` are owned by
/// this object.
pub struct Installed<T: HasOps> {
    dev: ManuallyDrop<ARef<NetDevice>>,
    idx: u32,
    binding: ManuallyDrop<Arc<Binding<T>>>,
}

impl<T: HasOps> Installed<T> {
    /// The device.
    pub fn device(&self) -> &NetDevice {
        &self.dev
    }

    /// The queue index.
    pub fn index(&self) -> u32 {
        self.idx
    }

    /// Whether this is rx queue `idx` of `dev`.
    pub fn is(&self, dev: &NetDevice, idx: u32) -> bool {
        core::ptr::eq(self.device(), dev) && self.idx == idx
    }

    fn clear(&self) {
        // SAFETY: `idx` is a queue of `dev`, which we hold; the caller holds
        // RTNL (`remove` and `forget` take the proof).
        unsafe {
            bindings::net_ext_rxq_set_mp(
                self.dev.as_ptr(),
                self.idx,
                core::ptr::null(),
                core::ptr::null_mut(),
            )
        };
    }

    fn release(mut self) {
        // SAFETY: The queue no longer points at the binding: our references
        // go; `self` is forgotten right after, so nothing is dropped twice.
        unsafe {
            ManuallyDrop::drop(&mut self.dev);
            ManuallyDrop::drop(&mut self.binding);
        }
        core::mem::forget(self);
    }

    /// Takes the binding off the queue and restarts the queue on host
    /// memory. Returns the restart's error (`ENETDOWN` while the device is
    /// down, which is not a failure); the queue is off the binding anyway.
    pub fn remove(self, _rtnl: &Rtnl) -> Result {
        self.clear();
        // SAFETY: RTNL is held; the device is held, `idx` was in use.
        let ret = unsafe { bindings::netdev_rx_queue_restart(self.dev.as_ptr(), self.idx) };
        self.release();
        match ret {
            0 => Ok(()),
            e => Err(crate::error::Error::from_errno(e)),
        }
    }

    /// Takes the binding off the queue without a restart: the device is
    /// being unregistered (its queues are stopped for good).
    pub fn forget(self, _rtnl: &Rtnl) {
        self.clear();
        self.release();
    }
}

impl<T: HasOps> Drop for Installed<T> {
    fn drop(&mut self) {
        // Without RTNL the queue cannot be changed: keep the references it
        // needs (see the type's documentation).
        crate::pr_err!("devmem: binding left installed on a queue: leaked\n");
    }
}

/// The C entry points of a devmem core (see [`crate::net_devmem_core!`]).
///
/// Every method runs in process context with RTNL held.
pub trait Core: HasOps {
    /// `net_devmem_bind_dmabuf`: a binding of the dma-buf of `fd` to `dev`
    /// (not yet on any queue); the reference returned is the netlink
    /// socket's.
    fn bind(
        dev: &NetDevice,
        rtnl: &Rtnl,
        fd: u32,
        extack: &ExtAck<'_>,
    ) -> Result<Arc<Binding<Self>>>;

    /// `net_devmem_bind_dmabuf_to_queue`: installs `binding` on rx queue
    /// `idx` of `dev`.
    fn bind_queue(
        dev: &NetDevice,
        rtnl: &Rtnl,
        idx: u32,
        binding: ArcBorrow<'_, Binding<Self>>,
        extack: &ExtAck<'_>,
    ) -> Result;

    /// `net_devmem_unbind_dmabuf`: the socket's reference comes back (the
    /// binding is already off the socket's list).
    fn unbind(binding: Arc<Binding<Self>>, rtnl: &Rtnl);

    /// `dev_dmabuf_uninstall`: `dev` is being unregistered (closed, still
    /// valid): nothing may keep pointing at it afterwards.
    fn uninstall(dev: &NetDevice, rtnl: &Rtnl);
}

/// The functions behind [`crate::net_devmem_core!`]; not to be called
/// otherwise.
#[doc(hidden)]
pub mod ffi {
    use super::*;

    /// # Safety
    ///
    /// Called by `netdev_nl_bind_rx_doit` with RTNL held, a valid `dev` and
    /// a null or valid `extack`.
    pub unsafe fn bind_dmabuf<T: Core>(
        dev: *mut bindings::net_device,
        fd: u32,
        extack: *mut bindings::netlink_ext_ack,
    ) -> *mut bindings::net_devmem_dmabuf_binding {
        // SAFETY: guaranteed by the caller.
        let (dev, rtnl, extack) = unsafe {
            (
                NetDevice::from_raw(dev),
                Rtnl::assume_held(),
                ExtAck::from_raw(extack),
            )
        };
        match T::bind(dev, rtnl, fd, &extack) {
            // The header is the binding's first field.
            Ok(b) => Arc::into_raw(b).cast_mut().cast(),
            Err(e) => e.to_ptr(),
        }
    }

    /// # Safety
    ///
    /// As for [`bind_dmabuf`]; `binding` came from it and is not unbound.
    pub unsafe fn bind_dmabuf_to_queue<T: Core>(
        dev: *mut bindings::net_device,
        idx: u32,
        binding: *mut bindings::net_devmem_dmabuf_binding,
        extack: *mut bindings::netlink_ext_ack,
    ) -> core::ffi::c_int {
        from_result(|| {
            // SAFETY: guaranteed by the caller; the socket's reference keeps
            // the binding alive during the call.
            let (dev, rtnl, extack, b) = unsafe {
                (
                    NetDevice::from_raw(dev),
                    Rtnl::assume_held(),
                    ExtAck::from_raw(extack),
                    ArcBorrow::from_raw(binding.cast::<Binding<T>>()),
                )
            };
            T::bind_queue(dev, rtnl, idx, b, &extack)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called with RTNL held and a `binding` from [`bind_dmabuf`], whose
    /// reference it gives back.
    pub unsafe fn unbind_dmabuf<T: Core>(binding: *mut bindings::net_devmem_dmabuf_binding) {
        // SAFETY: `binding` is valid; its `list` is linked on the socket's
        // list (under RTNL) or was never linked (null).
        unsafe { bindings::net_ext_list_del_if_linked(core::ptr::addr_of_mut!((*binding).list)) };
        // SAFETY: guaranteed by the caller.
        let (b, rtnl) = unsafe {
            (
                Arc::from_raw(binding.cast::<Binding<T>>()),
                Rtnl::assume_held(),
            )
        };
        T::unbind(b, rtnl);
    }

    /// # Safety
    ///
    /// Called by `unregister_netdevice_many_notify` with RTNL held and a
    /// valid `dev`.
    pub unsafe fn uninstall<T: Core>(dev: *mut bindings::net_device) {
        // SAFETY: guaranteed by the caller.
        let (dev, rtnl) = unsafe { (NetDevice::from_raw(dev), Rtnl::assume_held()) };
        T::uninstall(dev, rtnl);
    }

    /// # Safety
    ///
    /// Called by `page_pool_init` with RTNL held for a pool whose
    /// `mp_ops` is `T`'s table (then `mp_priv` is a `Binding<T>` installed
    /// on the pool's queue).
    pub unsafe extern "C" fn mp_init<T: HasOps>(
        pool: *mut bindings::page_pool,
    ) -> core::ffi::c_int {
        from_result(|| {
            // SAFETY: `pool` is valid (guaranteed by the caller).
            let p = unsafe { bindings::net_ext_pp_mp_priv(pool) };
            if p.is_null() {
                return Err(EINVAL);
            }
            // SAFETY: The queue's reference keeps the binding alive while
            // RTNL is held (see `Binding::install`).
            let b = unsafe { ArcBorrow::from_raw(p.cast::<Binding<T>>()) };
            // INVARIANT: `pool` is in `page_pool_init`.
            let init = PoolInit(NonNull::new(pool).ok_or(EINVAL)?, PhantomData);
            T::init(&b, &init)?;
            // The pool's reference, given back in `mp_destroy`.
            let _ = Arc::into_raw(Arc::<Binding<T>>::from(b));
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the page pool's allocation path (its single consumer) for
    /// a pool `mp_init::<T>` accepted.
    pub unsafe extern "C" fn mp_alloc<T: HasOps>(
        pool: *mut bindings::page_pool,
        _gfp: bindings::gfp_t,
    ) -> bindings::netmem_ref {
        // SAFETY: The pool holds a reference on its binding since `init`.
        let b =
            unsafe { ArcBorrow::from_raw(bindings::net_ext_pp_mp_priv(pool).cast::<Binding<T>>()) };
        let Some(i) = T::alloc(&b) else { return 0 };
        let (Some(niov), Some(out)) = (b.area.get(i), b.area.out_flag(i)) else {
            crate::pr_err!(
                "devmem: provider returned net_iov {} of {}\n",
                i,
                b.area.len()
            );
            return 0;
        };
        if out.swap(true, Ordering::Acquire) {
            crate::pr_err!("devmem: provider returned net_iov {} twice\n", i);
            return 0;
        }
        // SAFETY: `niov` is free (flag) and belongs to the binding the
        // pool holds; we are the pool's allocation path.
        unsafe { bindings::net_ext_mp_niov_handout(pool, niov) }
    }

    /// # Safety
    ///
    /// Called by the page pool when `netmem`, which it got from
    /// `mp_alloc::<T>`, loses its last reference.
    pub unsafe extern "C" fn mp_release<T: HasOps>(
        pool: *mut bindings::page_pool,
        netmem: bindings::netmem_ref,
    ) -> bool {
        // SAFETY: The pool holds a reference on its binding since `init`.
        let b =
            unsafe { ArcBorrow::from_raw(bindings::net_ext_pp_mp_priv(pool).cast::<Binding<T>>()) };
        let Some(i) = b.area.index_of(netmem) else {
            crate::pr_err!("devmem: page pool released a buffer that is not ours\n");
            return false;
        };
        // SAFETY: A net_iov of ours, handed to this pool by `mp_alloc`.
        if unsafe { bindings::net_ext_mp_niov_reclaim(netmem) }.is_null() {
            return false;
        }
        if b.area
            .out_flag(i)
            .is_some_and(|o| o.swap(false, Ordering::Release))
        {
            T::release(&b, i);
        }
        // The page pool must not put_page() a net_iov.
        false
    }

    /// # Safety
    ///
    /// Called when a pool `mp_init::<T>` accepted is freed, once.
    pub unsafe extern "C" fn mp_destroy<T: HasOps>(pool: *mut bindings::page_pool) {
        // SAFETY: The pool's reference, taken in `mp_init`.
        let b = unsafe { Arc::from_raw(bindings::net_ext_pp_mp_priv(pool).cast::<Binding<T>>()) };
        T::destroy(&b);
        // SAFETY: FFI call, no requirement (a debug check: the last
        // reference may go here, and the final free sleeps).
        unsafe { bindings::might_sleep() };
        drop(b);
    }
}

/// Implements [`HasOps`](crate::net::mp::HasOps) for the provider
/// `$t` with an ops table of its own (for providers that are not the
/// devmem core, such as tests; the core's comes with
/// [`crate::net_devmem_core!`]).
#[macro_export]
macro_rules! impl_provider_ops {
    ($t:ty) => {
        // SAFETY: The table is built from `$t`'s callbacks.
        unsafe impl $crate::net::mp::HasOps for $t {
            fn ops() -> &'static $crate::net::mp::Ops {
                static OPS: $crate::net::mp::Ops =
                    // SAFETY: The callbacks of `$t`, in the table `ops` returns.
                    unsafe {
                        $crate::net::mp::Ops::from_raw($crate::bindings::memory_provider_ops {
                            alloc_netmems: Some($crate::net::mp::ffi::mp_alloc::<$t>),
                            release_netmem: Some($crate::net::mp::ffi::mp_release::<$t>),
                            init: Some($crate::net::mp::ffi::mp_init::<$t>),
                            destroy: Some($crate::net::mp::ffi::mp_destroy::<$t>),
                        })
                    };
                &OPS
            }
        }
    };
}

/// Defines the C entry points of the devmem core `$t` (a type implementing
/// [`mp::Core`](crate::net::mp::Core)) and its provider ops table.
///
/// Use it once, in the built-in crate of the core (the page pool accepts
/// only ops tables in kernel rodata, so the core cannot be a module).
#[macro_export]
macro_rules! net_devmem_core {
    ($t:ty) => {
        /// Entry point for `netdev-genl.c`.
        ///
        /// # Safety
        ///
        /// See [`kernel::net::mp::ffi::bind_dmabuf`].
        #[no_mangle]
        pub unsafe extern "C" fn net_devmem_bind_dmabuf(
            dev: *mut $crate::bindings::net_device,
            fd: u32,
            extack: *mut $crate::bindings::netlink_ext_ack,
        ) -> *mut $crate::bindings::net_devmem_dmabuf_binding {
            // SAFETY: The C caller keeps the contract.
            unsafe { $crate::net::mp::ffi::bind_dmabuf::<$t>(dev, fd, extack) }
        }

        /// Entry point for `netdev-genl.c`.
        ///
        /// # Safety
        ///
        /// See [`kernel::net::mp::ffi::bind_dmabuf_to_queue`].
        #[no_mangle]
        pub unsafe extern "C" fn net_devmem_bind_dmabuf_to_queue(
            dev: *mut $crate::bindings::net_device,
            idx: u32,
            binding: *mut $crate::bindings::net_devmem_dmabuf_binding,
            extack: *mut $crate::bindings::netlink_ext_ack,
        ) -> core::ffi::c_int {
            // SAFETY: The C caller keeps the contract.
            unsafe { $crate::net::mp::ffi::bind_dmabuf_to_queue::<$t>(dev, idx, binding, extack) }
        }

        /// Entry point for `netdev-genl.c`.
        ///
        /// # Safety
        ///
        /// See [`kernel::net::mp::ffi::unbind_dmabuf`].
        #[no_mangle]
        pub unsafe extern "C" fn net_devmem_unbind_dmabuf(
            binding: *mut $crate::bindings::net_devmem_dmabuf_binding,
        ) {
            // SAFETY: The C caller keeps the contract.
            unsafe { $crate::net::mp::ffi::unbind_dmabuf::<$t>(binding) }
        }

        /// Entry point for `dev.c`.
        ///
        /// # Safety
        ///
        /// See [`kernel::net::mp::ffi::uninstall`].
        #[no_mangle]
        pub unsafe extern "C" fn dev_dmabuf_uninstall(dev: *mut $crate::bindings::net_device) {
            // SAFETY: The C caller keeps the contract.
            unsafe { $crate::net::mp::ffi::uninstall::<$t>(dev) }
        }

        /// Memory provider `init`.
        ///
        /// # Safety
        ///
        /// See [`kernel::net::mp::ffi::mp_init`].
        #[no_mangle]
        pub unsafe extern "C" fn mp_dmabuf_devmem_init(
            pool: *mut $crate::bindings::page_pool,
        ) -> core::ffi::c_int {
            // SAFETY: The C caller keeps the contract.
            unsafe { $crate::net::mp::ffi::mp_init::<$t>(pool) }
        }

        /// Memory provider `alloc_netmems`.
        ///
        /// # Safety
        ///
        /// See [`kernel::net::mp::ffi::mp_alloc`].
        #[no_mangle]
        pub unsafe extern "C" fn mp_dmabuf_devmem_alloc_netmems(
            pool: *mut $crate::bindings::page_pool,
            gfp: $crate::bindings::gfp_t,
        ) -> $crate::bindings::netmem_ref {
            // SAFETY: The C caller keeps the contract.
            unsafe { $crate::net::mp::ffi::mp_alloc::<$t>(pool, gfp) }
        }

        /// Memory provider `release_netmem`.
        ///
        /// # Safety
        ///
        /// See [`kernel::net::mp::ffi::mp_release`].
        #[no_mangle]
        pub unsafe extern "C" fn mp_dmabuf_devmem_release_page(
            pool: *mut $crate::bindings::page_pool,
            netmem: $crate::bindings::netmem_ref,
        ) -> bool {
            // SAFETY: The C caller keeps the contract.
            unsafe { $crate::net::mp::ffi::mp_release::<$t>(pool, netmem) }
        }

        /// Memory provider `destroy`.
        ///
        /// # Safety
        ///
        /// See [`kernel::net::mp::ffi::mp_destroy`].
        #[no_mangle]
        pub unsafe extern "C" fn mp_dmabuf_devmem_destroy(pool: *mut $crate::bindings::page_pool) {
            // SAFETY: The C caller keeps the contract.
            unsafe { $crate::net::mp::ffi::mp_destroy::<$t>(pool) }
        }

        /// The provider's ops table, in kernel rodata.
        #[no_mangle]
        pub static dmabuf_devmem_rs_ops: $crate::net::mp::Ops =
            // SAFETY: The callbacks of `$t`, in the table `HasOps` returns.
            unsafe {
                $crate::net::mp::Ops::from_raw($crate::bindings::memory_provider_ops {
                    alloc_netmems: Some(mp_dmabuf_devmem_alloc_netmems),
                    release_netmem: Some(mp_dmabuf_devmem_release_page),
                    init: Some(mp_dmabuf_devmem_init),
                    destroy: Some(mp_dmabuf_devmem_destroy),
                })
            };

        // SAFETY: The table above is built from `$t`'s callbacks.
        unsafe impl $crate::net::mp::HasOps for $t {
            fn ops() -> &'static $crate::net::mp::Ops {
                &dmabuf_devmem_rs_ops
            }
        }
    };
}
