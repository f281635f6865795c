// SPDX-License-Identifier: GPL-2.0

//! Network devices.
//!
//! C header: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h)
//!
//! A driver implements [`Driver`] (the `net_device_ops` it needs) and
//! registers an Ethernet device with [`Registration`], which owns the
//! `net_device` and the driver's per-device data, and unregisters and frees
//! both when dropped. Callbacks get a [`Device`], through which they reach
//! the data and the device's state.

use crate::bindings;
use crate::error::{code::*, from_result, to_result, Result};
use crate::net::rtnl::Rtnl;
use crate::net::skb::TxSkb;
use crate::prelude::*;
use crate::types::{AlwaysRefCounted, Opaque};
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::AtomicUsize;

/// Operations of a network device driver (`struct net_device_ops`).
#[vtable]
pub trait Driver: Sized + 'static {
    /// Per-device data, owned by the [`Registration`].
    type Data: Send + Sync;

    /// Brings the device up (`ndo_open`, under RTNL).
    fn open(_dev: &Device<Self>, _rtnl: &Rtnl) -> Result {
        Ok(())
    }

    /// Brings the device down (`ndo_stop`, under RTNL).
    fn stop(_dev: &Device<Self>, _rtnl: &Rtnl) -> Result {
        Ok(())
    }

    /// Transmits `skb` (`ndo_start_xmit`, in BH context with the tx
    /// queue's lock held). The driver owns `skb` from here on.
    fn start_xmit(dev: &Device<Self>, skb: TxSkb) -> TxResult;

    /// Fills the device's statistics (`ndo_get_stats64`, any context).
    fn get_stats64(_dev: &Device<Self>, _stats: &mut Stats64) {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Changes the MTU (`ndo_change_mtu`, under RTNL) to `new_mtu`, which
    /// the core checked against the device's range; on success the
    /// abstraction stores it in the device.
    fn change_mtu(_dev: &Device<Self>, _rtnl: &Rtnl, _new_mtu: u32) -> Result {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Applies a change of features (`ndo_set_features`, under RTNL, for
    /// example from `ethtool -K`): `features` is the new set,
    /// [`Device::features`] still the old one. On success the core stores
    /// the new set; on failure it keeps the old one.
    fn set_features(_dev: &Device<Self>, _features: Features) -> Result {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }
}

/// Netdev features (`netdev_features_t`, `NETIF_F_*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Features(u64);

impl Features {
    /// No feature.
    pub const EMPTY: Self = Self(0);
    /// Ntuple filters for rx flow steering (`NETIF_F_NTUPLE`).
    pub const NTUPLE: Self = Self(1 << bindings::NETIF_F_NTUPLE_BIT);
    /// Received packets' L4 checksums validated by the device
    /// (`NETIF_F_RXCSUM`).
    pub const RXCSUM: Self = Self(1 << bindings::NETIF_F_RXCSUM_BIT);
    /// Received packets carry the device's flow hash (`NETIF_F_RXHASH`).
    pub const RXHASH: Self = Self(1 << bindings::NETIF_F_RXHASH_BIT);
    /// The device fills in the checksum of transmitted packets that ask
    /// for it, whatever the protocol: a ones' complement sum from a start
    /// offset to the end, stored at a given offset (`NETIF_F_HW_CSUM`; see
    /// [`Skb::csum_partial`](crate::net::skb::Skb::csum_partial)).
    pub const HW_CSUM: Self = Self(1 << bindings::NETIF_F_HW_CSUM_BIT);
    /// The device gathers a packet from its linear part and its paged
    /// frags (`NETIF_F_SG`): the stack no longer linearises packets; see
    /// [`MappedSkb`](crate::net::skb::MappedSkb).
    pub const SG: Self = Self(1 << bindings::NETIF_F_SG_BIT);
    /// The device segments TCP over IPv4 super-frames (`NETIF_F_TSO`; see
    /// [`Skb::gso`](crate::net::skb::Skb::gso)).
    pub const TSO: Self = Self(1 << bindings::NETIF_F_TSO_BIT);
    /// The device segments TCP over IPv6 super-frames (`NETIF_F_TSO6`).
    pub const TSO6: Self = Self(1 << bindings::NETIF_F_TSO6_BIT);
    /// The device coalesces received segments of a TCP flow into one
    /// packet (`NETIF_F_GRO_HW`).
    pub const GRO_HW: Self = Self(1 << bindings::NETIF_F_GRO_HW_BIT);

    /// Whether every feature of `other` is in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The features of both (for constants; `|` elsewhere).
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// The C bit mask.
    pub const fn bits(self) -> u64 {
        self.0
    }
}

impl core::ops::BitOr for Features {
    type Output = Self;
    fn bitor(self, o: Self) -> Self {
        Self(self.0 | o.0)
    }
}

/// What [`Driver::start_xmit`] did with a packet.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TxResult {
    /// The packet was taken (sent or dropped) (`NETDEV_TX_OK`).
    Ok,
}

/// A network device whose driver is `T`.
///
/// Callbacks get a `&Device<T>`; an [`ARef<Device<T>>`](ARef) keeps the
/// device (its `struct net_device` and its driver data) alive past a
/// callback: while one exists, unregistration waits for it (see
/// [`Registration`]).
///
/// # Invariants
///
/// The wrapped `net_device` was allocated by a [`Registration<T>`] and is
/// registered or being unregistered by it; its private area holds a
/// `Private<T::Data>`, initialised, which stays valid while `&self` is
/// (`Registration::drop` only drops it after `unregister_netdev` returned,
/// which waits for every reference to the device to go).
#[repr(transparent)]
pub struct Device<T: Driver>(Opaque<bindings::net_device>, PhantomData<T>);

/// What the private area (`netdev_priv`) of a device of ours holds.
///
/// # Invariants
///
/// `stats_count` is the number of `ETH_SS_STATS` strings the ethtool
/// adapter last reported for the device (0 before any).
#[pin_data]
pub(crate) struct Private<D> {
    /// Number of `ETH_SS_STATS` strings last reported to the ethtool core,
    /// which sized its buffers from it (see [`crate::net::ethtool`]).
    pub(crate) stats_count: AtomicUsize,
    #[pin]
    data: D,
}

impl<T: Driver> Device<T> {
    /// # Safety
    ///
    /// `ptr` must point to a `net_device` of a [`Registration<T>`] that is
    /// not dropped during `'a` (in a callback of `T`, a device registered
    /// by one).
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::net_device) -> &'a Self {
        // CAST: `Self` is `repr(transparent)` over the `net_device`.
        // SAFETY: guaranteed by the caller.
        unsafe { &*ptr.cast() }
    }

    /// The raw `net_device`.
    pub(crate) fn as_ptr(&self) -> *mut bindings::net_device {
        self.0.get()
    }

    /// The private area.
    pub(crate) fn private(&self) -> &Private<T::Data> {
        // SAFETY: By the type invariants the private area holds an
        // initialised `Private<T::Data>` that lives as long as `self`.
        unsafe { &*bindings::netdev_priv(self.as_ptr()).cast::<Private<T::Data>>() }
    }

    /// The driver's data of this device.
    pub fn data(&self) -> &T::Data {
        &self.private().data
    }

    /// The interface index.
    pub fn ifindex(&self) -> i32 {
        // SAFETY: By the type invariants the device is valid; `ifindex` is
        // set at registration and stays constant.
        unsafe { (*self.as_ptr()).ifindex }
    }

    /// Tells the stack the link is up.
    pub fn carrier_on(&self) {
        // SAFETY: By the type invariants the device is valid.
        unsafe { bindings::netif_carrier_on(self.as_ptr()) }
    }

    /// Tells the stack the link is down.
    pub fn carrier_off(&self) {
        // SAFETY: By the type invariants the device is valid.
        unsafe { bindings::netif_carrier_off(self.as_ptr()) }
    }

    /// Whether the stack sees the link up.
    pub fn carrier_ok(&self) -> bool {
        // SAFETY: By the type invariants the device is valid.
        unsafe { bindings::netif_carrier_ok(self.as_ptr()) }
    }

    /// Whether the device is up (between `open` and `stop`).
    pub fn is_running(&self) -> bool {
        // SAFETY: By the type invariants the device is valid.
        unsafe { bindings::netif_running(self.as_ptr()) }
    }

    /// Lets the stack transmit on every tx queue.
    pub fn tx_start_all(&self) {
        // SAFETY: By the type invariants the device is valid.
        unsafe { bindings::netif_tx_start_all_queues(self.as_ptr()) }
    }

    /// Stops the stack from transmitting, and waits for transmissions in
    /// progress to end.
    pub fn tx_disable(&self) {
        // SAFETY: By the type invariants the device is valid.
        unsafe { bindings::netif_tx_disable(self.as_ptr()) }
    }

    /// Number of tx queues in use.
    pub fn real_num_tx_queues(&self) -> u32 {
        // SAFETY: By the type invariants the device is valid.
        unsafe { (*self.as_ptr()).real_num_tx_queues }
    }

    /// Whether a memory provider (e.g. a devmem binding) is installed on
    /// rx queue `idx`.
    pub fn rx_queue_has_provider(&self, _rtnl: &Rtnl, idx: u32) -> bool {
        if idx >= self.real_num_rx_queues() {
            return false;
        }
        // SAFETY: By the type invariants the device is valid; `idx` is
        // below `real_num_rx_queues`, so within the queue array; RTNL keeps
        // the queue's provider stable.
        unsafe {
            !(*bindings::__netif_get_rx_queue(self.as_ptr(), idx))
                .mp_params
                .mp_ops
                .is_null()
        }
    }

    /// The MTU.
    pub fn mtu(&self) -> u32 {
        // SAFETY: By the type invariants the device is valid; the MTU
        // changes under RTNL, read once as `READ_ONCE(dev->mtu)` does.
        unsafe { core::ptr::read_volatile(core::ptr::addr_of!((*self.as_ptr()).mtu)) }
    }

    /// Number of rx queues in use.
    pub fn real_num_rx_queues(&self) -> u32 {
        // SAFETY: By the type invariants the device is valid.
        unsafe { (*self.as_ptr()).real_num_rx_queues }
    }

    /// Sets the number of tx and rx queues in use (at most the allocated
    /// ones, else `EINVAL`). Under RTNL, as `rtnl` proves.
    pub fn set_real_num_queues(&self, _rtnl: &Rtnl, txq: u32, rxq: u32) -> Result {
        // SAFETY: By the type invariants the device is valid; RTNL is
        // held, as the callees require of a registered device.
        to_result(unsafe { bindings::netif_set_real_num_queues(self.as_ptr(), txq, rxq) })
    }

    /// The features turned on.
    pub fn features(&self) -> Features {
        // SAFETY: By the type invariants the device is valid; the core
        // changes `features` under RTNL, a racing read sees the old or the
        // new set.
        Features(unsafe { core::ptr::read_volatile(&(*self.as_ptr()).features) })
    }

    /// The features the user may turn on or off.
    pub fn hw_features(&self) -> Features {
        // SAFETY: As for `features`.
        Features(unsafe { core::ptr::read_volatile(&(*self.as_ptr()).hw_features) })
    }

    /// Whether the user configured the RSS indirection table
    /// (`IFF_RXFH_CONFIGURED`): the driver then keeps it when the number
    /// of queues changes, instead of spreading over the new count.
    pub fn rxfh_configured(&self) -> bool {
        // SAFETY: By the type invariants the device is valid.
        unsafe { bindings::netif_is_rxfh_configured(self.as_ptr()) }
    }
}

// SAFETY: The `net_device` is usable from any thread; `T::Data` is `Sync`.
unsafe impl<T: Driver> Sync for Device<T> {}
// SAFETY: As above; a reference may be dropped on any thread.
unsafe impl<T: Driver> Send for Device<T> {}

// SAFETY: `dev_hold` and `dev_put` keep the `net_device` alive: the
// registration it belongs to waits in `unregister_netdev` for every
// reference, so neither the device nor its private area goes while one is
// held.
unsafe impl<T: Driver> AlwaysRefCounted for Device<T> {
    fn inc_ref(&self) {
        // SAFETY: By the type invariants the device is valid.
        unsafe { bindings::dev_hold(self.as_ptr()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller owns a reference (taken by `inc_ref`); the
        // cast is as in `from_raw`.
        unsafe { bindings::dev_put(obj.cast().as_ptr()) };
    }
}

/// Device statistics (`struct rtnl_link_stats64`).
#[repr(transparent)]
pub struct Stats64(bindings::rtnl_link_stats64);

impl Stats64 {
    /// Adds received packets and bytes.
    pub fn add_rx(&mut self, packets: u64, bytes: u64) {
        self.0.rx_packets += packets;
        self.0.rx_bytes += bytes;
    }

    /// Adds sent packets and bytes.
    pub fn add_tx(&mut self, packets: u64, bytes: u64) {
        self.0.tx_packets += packets;
        self.0.tx_bytes += bytes;
    }

    /// Adds dropped packets (rx, tx).
    pub fn add_dropped(&mut self, rx: u64, tx: u64) {
        self.0.rx_dropped += rx;
        self.0.tx_dropped += tx;
    }
}

/// Parameters of a new Ethernet device.
pub struct Params<'a, T: Driver> {
    /// Name or pattern (`"eth%d"`).
    pub name: &'a CStr,
    /// Number of tx queues.
    pub txqs: u32,
    /// Number of rx queues.
    pub rxqs: u32,
    /// Permanent MAC address.
    pub mac: [u8; 6],
    /// Parent device (the one that does DMA), if any.
    pub parent: Option<&'a crate::device::Device>,
    /// MTU range (`max_mtu`); 0 keeps Ethernet's 1500.
    pub max_mtu: u32,
    /// Queues in use at first (at most `txqs`/`rxqs`); 0 means all.
    pub real_queues: u32,
    /// Per-queue restart operations
    /// ([`OpsTable::get`](crate::net::queue_mgmt::OpsTable::get)), if
    /// supported.
    pub queue_mgmt: Option<&'static crate::net::queue_mgmt::OpsTable<T>>,
    /// Features the user may change (`hw_features`).
    pub hw_features: Features,
    /// Features on at first (`features`).
    pub features: Features,
    /// Ethtool operations (`ethtool_ops`), if any.
    pub ethtool: Option<&'static crate::net::ethtool::OpsTable<T>>,
    /// Per-queue statistics (`stat_ops`), if kept.
    pub stat_ops: Option<&'static crate::net::qstats::OpsTable<T>>,
    /// Largest super-frame the device segments, and most segments it makes
    /// of one (`netif_set_tso_max_size`, `netif_set_tso_max_segs`); `None`
    /// keeps the core's defaults (64 KiB, 65535 segments).
    pub tso_max: Option<TsoMax>,
}

/// The limits of a device's TCP segmentation offload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TsoMax {
    /// Bytes of a super-frame (headers included), at most the core's
    /// `TSO_MAX_SIZE`; the stack keeps `gso_max_size` below it.
    pub size: u32,
    /// Segments made of one super-frame, at most the core's
    /// `TSO_MAX_SEGS`.
    pub segs: u32,
}

/// A registered Ethernet device with driver `T`; unregistered and freed
/// when dropped.
///
/// The driver's data lives in the device's private area (`netdev_priv`),
/// built in place from the initialiser given to [`Registration::new`] and
/// dropped after the device is unregistered. Unregistration
/// (`unregister_netdev`) waits until every [`ARef<Device<T>>`](ARef) is
/// gone: keep references (such as the ones [`Napi`](crate::net::napi::Napi)
/// holds) in state that `stop` tears down, since unregistration stops the
/// device first; a reference kept in the driver's data would wait for
/// itself.
///
/// # Invariants
///
/// `dev` is a registered `net_device` allocated by `Allocated::new` whose
/// ops are `Adapter::<T>::VTABLE` (its ethtool and queue-management ops,
/// if any, are the [`ethtool::OpsTable<T>`](crate::net::ethtool::OpsTable)
/// and [`queue_mgmt::OpsTable<T>`](crate::net::queue_mgmt::OpsTable) of
/// the same `T`; its stat ops, if any, the
/// [`qstats::OpsTable<T>`](crate::net::qstats::OpsTable) of that `T`).
///
/// # Examples
///
/// A device that drops everything it is given, like `dummy`:
///
/// ```
/// use kernel::c_str;
/// use kernel::net::netdev::{self, Device, Features, Params, Registration, TxResult};
/// use kernel::net::skb::TxSkb;
/// use kernel::prelude::*;
/// use core::sync::atomic::{AtomicU64, Ordering};
///
/// struct Sink;
/// #[vtable]
/// impl netdev::Driver for Sink {
///     type Data = AtomicU64;
///     fn start_xmit(dev: &Device<Self>, skb: TxSkb) -> TxResult {
///         dev.data().fetch_add(1, Ordering::Relaxed);
///         skb.consume();
///         TxResult::Ok
///     }
/// }
///
/// let params = Params {
///     name: c_str!("rssink%d"),
///     txqs: 2,
///     rxqs: 2,
///     mac: [0x02, 0, 0, 0, 0, 1],
///     parent: None,
///     max_mtu: 9000,
///     real_queues: 0,
///     queue_mgmt: None,
///     hw_features: Features::EMPTY,
///     features: Features::EMPTY,
///     ethtool: None,
///     stat_ops: None,
///     tso_max: None,
/// };
/// let reg = Registration::<Sink>::new(&params, AtomicU64::new(0))?;
/// assert!(reg.device().ifindex() > 0);
/// assert!(!reg.device().is_running());
/// assert_eq!(reg.device().real_num_tx_queues(), 2);
/// drop(reg);
/// # Ok::<(), Error>(())
/// ```
pub struct Registration<T: Driver> {
    dev: Allocated<T>,
}

/// A `net_device` allocated for driver `T`, with the driver's data built in
/// its private area; the data is dropped and the device freed when this is
/// dropped.
///
/// # Invariants
///
/// `dev` was allocated by `alloc_etherdev_mqs` with a private area holding
/// an initialised [`Private<T::Data>`]; it is not registered when this
/// object is dropped (a [`Registration`] unregisters it first).
struct Allocated<T: Driver> {
    dev: NonNull<bindings::net_device>,
    _t: PhantomData<T>,
}

// SAFETY: The device can be freed from any process context.
unsafe impl<T: Driver> Send for Allocated<T> {}
// SAFETY: `&Allocated` gives nothing but the pointer.
unsafe impl<T: Driver> Sync for Allocated<T> {}

impl<T: Driver> Allocated<T> {
    /// Room for `Private<T::Data>`, whose alignment the private area
    /// (aligned to `NETDEV_ALIGN`) must provide.
    const PRIV_SIZE: i32 = {
        assert!(core::mem::align_of::<Private<T::Data>>() <= bindings::NETDEV_ALIGN as usize);
        assert!(core::mem::size_of::<Private<T::Data>>() <= i32::MAX as usize);
        core::mem::size_of::<Private<T::Data>>() as i32
    };

    fn new(txqs: u32, rxqs: u32, data: impl PinInit<T::Data, Error>) -> Result<Self> {
        if txqs == 0 || rxqs == 0 {
            return Err(EINVAL);
        }
        // SAFETY: FFI call.
        let dev = unsafe { bindings::alloc_etherdev_mqs(Self::PRIV_SIZE, txqs, rxqs) };
        let dev = NonNull::new(dev).ok_or(ENOMEM)?;
        let init = try_pin_init!(Private::<T::Data> {
            stats_count: AtomicUsize::new(0),
            data <- data,
        }? Error);
        // SAFETY: The private area is sized and aligned for
        // `Private<T::Data>` (`PRIV_SIZE`, `NETDEV_ALIGN`), uninitialised,
        // and never moves (it is part of the `net_device`).
        let slot = unsafe { bindings::netdev_priv(dev.as_ptr()) }.cast::<Private<T::Data>>();
        // SAFETY: As above; on failure the initialiser left nothing to drop.
        if let Err(e) = unsafe { init.__pinned_init(slot) } {
            // SAFETY: Allocated above, never registered, private area empty.
            unsafe { bindings::free_netdev(dev.as_ptr()) };
            return Err(e);
        }
        // INVARIANT: allocated and initialised above.
        Ok(Self {
            dev,
            _t: PhantomData,
        })
    }

    fn as_ptr(&self) -> *mut bindings::net_device {
        self.dev.as_ptr()
    }
}

impl<T: Driver> Drop for Allocated<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariants the device is not registered (no
        // callback runs, no reference is held) and its private area holds
        // an initialised `Private<T::Data>`, dropped once here, before the
        // device is freed.
        unsafe {
            core::ptr::drop_in_place(
                bindings::netdev_priv(self.as_ptr()).cast::<Private<T::Data>>(),
            );
            bindings::free_netdev(self.as_ptr());
        }
    }
}

impl<T: Driver> Registration<T> {
    /// Allocates an Ethernet device driven by `T` whose data is built by
    /// `data`, and registers it. On any failure everything built so far is
    /// dropped.
    pub fn new(params: &Params<'_, T>, data: impl PinInit<T::Data, Error>) -> Result<Self> {
        let dev = Allocated::<T>::new(params.txqs, params.rxqs, data)?;
        let raw = dev.as_ptr();
        // SAFETY: `raw` is a fresh, unregistered device that we own; the
        // tables are `'static` and those of `T`.
        unsafe {
            (*raw).netdev_ops = &Adapter::<T>::VTABLE;
            if let Some(ops) = params.queue_mgmt {
                (*raw).queue_mgmt_ops = ops.as_raw();
            }
            if let Some(ops) = params.ethtool {
                (*raw).ethtool_ops = ops.as_raw();
            }
            if let Some(ops) = params.stat_ops {
                (*raw).stat_ops = ops.as_raw();
            }
            if params.max_mtu != 0 {
                (*raw).max_mtu = params.max_mtu;
            }
            if let Some(parent) = params.parent {
                (*raw).dev.parent = parent.as_raw();
            }
            (*raw).hw_features |= params.hw_features.bits();
            (*raw).features |= params.features.bits();
            if let Some(t) = params.tso_max {
                // The core clamps both to its own maxima (and lowers
                // `gso_max_size`/`gso_max_segs` to them).
                bindings::netif_set_tso_max_size(raw, t.size);
                bindings::netif_set_tso_max_segs(raw, t.segs);
            }
            bindings::eth_hw_addr_set(raw, params.mac.as_ptr());
        }
        if params.real_queues != 0 {
            // SAFETY: `raw` is not registered yet, so no lock is needed;
            // counts above the allocated queues are refused by the callee.
            to_result(unsafe { bindings::netif_set_real_num_tx_queues(raw, params.real_queues) })?;
            // SAFETY: As above.
            to_result(unsafe { bindings::netif_set_real_num_rx_queues(raw, params.real_queues) })?;
        }
        let name = params.name.as_bytes_with_nul();
        // SAFETY: `raw` is valid and unregistered: nobody else reads it.
        let dst = unsafe { &mut (*raw).name };
        if name.len() > dst.len() {
            return Err(EINVAL);
        }
        for (d, s) in dst.iter_mut().zip(name) {
            *d = *s as _;
        }
        // SAFETY: `raw` is fully set up; from here on the stack may call the
        // driver, whose data is in place. On failure it is not registered.
        to_result(unsafe { bindings::register_netdev(raw) })?;
        // INVARIANT: registered above with the ops set.
        Ok(Self { dev })
    }

    /// The registered device.
    pub fn device(&self) -> &Device<T> {
        // SAFETY: By the type invariants `dev` is registered by us and lives
        // as long as `self`.
        unsafe { Device::from_raw(self.dev.as_ptr()) }
    }
}

impl<T: Driver> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariants `dev` is registered. Once
        // `unregister_netdev` returns the stack calls no op any more and no
        // reference to the device is left; `Allocated::drop` then drops
        // the data and frees the device.
        unsafe { bindings::unregister_netdev(self.dev.as_ptr()) };
    }
}

struct Adapter<T: Driver>(PhantomData<T>);

impl<T: Driver> Adapter<T> {
    const VTABLE: bindings::net_device_ops = bindings::net_device_ops {
        ndo_open: Some(Self::open_callback),
        ndo_stop: Some(Self::stop_callback),
        ndo_start_xmit: Some(Self::start_xmit_callback),
        ndo_get_stats64: if T::HAS_GET_STATS64 {
            Some(Self::get_stats64_callback)
        } else {
            None
        },
        ndo_change_mtu: if T::HAS_CHANGE_MTU {
            Some(Self::change_mtu_callback)
        } else {
            None
        },
        ndo_set_features: if T::HAS_SET_FEATURES {
            Some(Self::set_features_callback)
        } else {
            None
        },
        ndo_validate_addr: Some(bindings::eth_validate_addr),
        ndo_set_mac_address: Some(bindings::eth_mac_addr),
        // SAFETY: All-zero is "no such op" for the rest of the table.
        ..unsafe { core::mem::zeroed() }
    };

    /// Calls `op` (`T::open` or `T::stop`) for `dev`.
    ///
    /// # Safety
    ///
    /// `dev` must be a device registered by a [`Registration<T>`], and the
    /// caller must hold RTNL (the core calls `ndo_open` and `ndo_stop`
    /// under it).
    unsafe fn rtnl_op(
        dev: *mut bindings::net_device,
        op: fn(&Device<T>, &Rtnl) -> Result,
    ) -> core::ffi::c_int {
        // SAFETY: guaranteed by the caller.
        let (dev, rtnl) = unsafe { (Device::from_raw(dev), Rtnl::assume_held()) };
        from_result(|| op(dev, rtnl).map(|()| 0))
    }

    /// # Safety
    ///
    /// `dev` must be a device registered by a [`Registration<T>`].
    unsafe extern "C" fn open_callback(dev: *mut bindings::net_device) -> core::ffi::c_int {
        // SAFETY: guaranteed by the caller; the core calls `ndo_open` under
        // RTNL.
        unsafe { Self::rtnl_op(dev, T::open) }
    }

    /// # Safety
    ///
    /// `dev` must be a device registered by a [`Registration<T>`].
    unsafe extern "C" fn stop_callback(dev: *mut bindings::net_device) -> core::ffi::c_int {
        // SAFETY: guaranteed by the caller; the core calls `ndo_stop` under
        // RTNL.
        unsafe { Self::rtnl_op(dev, T::stop) }
    }

    /// # Safety
    ///
    /// `dev` must be a device registered by a [`Registration<T>`]; `skb` a
    /// valid skb whose ownership passes to us.
    unsafe extern "C" fn start_xmit_callback(
        skb: *mut bindings::sk_buff,
        dev: *mut bindings::net_device,
    ) -> bindings::netdev_tx_t {
        // SAFETY: guaranteed by the caller.
        let (dev, skb) = unsafe {
            (
                Device::from_raw(dev),
                TxSkb::from_raw(NonNull::new_unchecked(skb)),
            )
        };
        match T::start_xmit(dev, skb) {
            TxResult::Ok => bindings::netdev_tx_NETDEV_TX_OK,
        }
    }

    /// # Safety
    ///
    /// `dev` must be a device registered by a [`Registration<T>`]; `stats`
    /// valid for writes.
    unsafe extern "C" fn get_stats64_callback(
        dev: *mut bindings::net_device,
        stats: *mut bindings::rtnl_link_stats64,
    ) {
        // SAFETY: guaranteed by the caller; `Stats64` is transparent.
        let (dev, stats) = unsafe { (Device::from_raw(dev), &mut *stats.cast::<Stats64>()) };
        T::get_stats64(dev, stats);
    }

    /// # Safety
    ///
    /// `dev` must be a device registered by a [`Registration<T>`]; the core
    /// calls `ndo_change_mtu` under RTNL with an MTU within the device's
    /// range.
    unsafe extern "C" fn change_mtu_callback(
        dev: *mut bindings::net_device,
        new_mtu: core::ffi::c_int,
    ) -> core::ffi::c_int {
        from_result(|| {
            // SAFETY: guaranteed by the caller.
            let (d, rtnl) = unsafe { (Device::<T>::from_raw(dev), Rtnl::assume_held()) };
            let mtu = u32::try_from(new_mtu).map_err(|_| EINVAL)?;
            T::change_mtu(d, rtnl, mtu)?;
            // SAFETY: The op must store the new MTU itself, under RTNL, as
            // `WRITE_ONCE(dev->mtu, mtu)` (lockless readers).
            unsafe { core::ptr::write_volatile(core::ptr::addr_of_mut!((*dev).mtu), mtu) };
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// `dev` must be a device registered by a [`Registration<T>`].
    unsafe extern "C" fn set_features_callback(
        dev: *mut bindings::net_device,
        features: bindings::netdev_features_t,
    ) -> core::ffi::c_int {
        from_result(|| {
            // SAFETY: guaranteed by the caller.
            T::set_features(unsafe { Device::from_raw(dev) }, Features(features))?;
            Ok(0)
        })
    }
}
