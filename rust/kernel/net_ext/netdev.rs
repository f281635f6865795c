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

use crate::alloc::{flags::GFP_ATOMIC, KBox, KVec};
use crate::bindings;
use crate::error::{code::*, from_result, to_result, Result};
use crate::net_ext::queue_mgmt::OpsTable as QueueMgmtOps;
use crate::prelude::*;
use crate::types::Opaque;
use core::marker::PhantomData;

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
    fn start_xmit(dev: &Device<Self>, skb: SkBuff) -> TxResult;

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

/// Proof that the caller holds the RTNL lock, handed to callbacks that
/// run under it; some [`Device`] methods need it.
///
/// It cannot be sent to another thread nor outlive the callback it was
/// handed to.
pub struct Rtnl(PhantomData<*mut ()>);

impl Rtnl {
    const HELD: Self = Self(PhantomData);

    /// # Safety
    ///
    /// The caller must hold the RTNL lock for `'a`.
    pub(crate) unsafe fn assume_held<'a>() -> &'a Self {
        &Self::HELD
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

    /// Whether every feature of `other` is in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
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
/// # Invariants
///
/// The wrapped `net_device` was allocated and registered by a
/// [`Registration<T>`], so its private area holds a pointer to the
/// registration's `T::Data`, valid while `&self` is.
#[repr(transparent)]
pub struct Device<T: Driver>(Opaque<bindings::net_device>, PhantomData<T>);

impl<T: Driver> Device<T> {
    /// # Safety
    ///
    /// `ptr` must point to a `net_device` registered by a
    /// [`Registration<T>`] that outlives `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::net_device) -> &'a Self {
        // CAST: `Self` is `repr(transparent)` over the `net_device`.
        // SAFETY: guaranteed by the caller.
        unsafe { &*ptr.cast() }
    }

    /// The raw `net_device`.
    pub fn as_ptr(&self) -> *mut bindings::net_device {
        self.0.get()
    }

    /// The driver's data of this device.
    pub fn data(&self) -> &T::Data {
        // SAFETY: By the type invariants, the private area holds the
        // pointer `Registration::new` stored, to data that lives at least
        // as long as `self`.
        unsafe { &**bindings::net_ext_netdev_priv(self.as_ptr()).cast::<*const T::Data>() }
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
        unsafe { bindings::net_ext_netif_carrier_ok(self.as_ptr()) }
    }

    /// Whether the device is up (between `open` and `stop`).
    pub fn is_running(&self) -> bool {
        // SAFETY: By the type invariants the device is valid.
        unsafe { bindings::net_ext_netif_running(self.as_ptr()) }
    }

    /// Lets the stack transmit on every tx queue.
    pub fn tx_start_all(&self) {
        // SAFETY: By the type invariants the device is valid.
        unsafe { bindings::net_ext_netif_tx_start_all_queues(self.as_ptr()) }
    }

    /// Stops the stack from transmitting, and waits for transmissions in
    /// progress to end.
    pub fn tx_disable(&self) {
        // SAFETY: By the type invariants the device is valid.
        unsafe { bindings::net_ext_netif_tx_disable(self.as_ptr()) }
    }

    /// Number of tx queues in use.
    pub fn real_num_tx_queues(&self) -> u32 {
        // SAFETY: By the type invariants the device is valid.
        unsafe { (*self.as_ptr()).real_num_tx_queues }
    }

    /// Whether a memory provider (e.g. a devmem binding) is installed on
    /// rx queue `idx`.
    pub fn rx_queue_has_provider(&self, _rtnl: &Rtnl, idx: u32) -> bool {
        // SAFETY: By the type invariants the device is valid; RTNL keeps
        // the queue's provider stable; the helper checks the index.
        unsafe { bindings::net_ext_rx_queue_has_mp(self.as_ptr(), idx) }
    }

    /// The MTU.
    pub fn mtu(&self) -> u32 {
        // SAFETY: By the type invariants the device is valid.
        unsafe { bindings::net_ext_get_mtu(self.as_ptr()) }
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
        unsafe { bindings::net_ext_netif_is_rxfh_configured(self.as_ptr()) }
    }
}

// SAFETY: The `net_device` is usable from any thread; `T::Data` is `Sync`.
unsafe impl<T: Driver> Sync for Device<T> {}
// SAFETY: As above.
unsafe impl<T: Driver> Send for Device<T> {}

/// A socket buffer owned by the driver; freed when dropped.
///
/// # Invariants
///
/// `self.0` is a valid `sk_buff` this object owns.
pub struct SkBuff(*mut bindings::sk_buff);

// SAFETY: An owned skb may be handed to and freed from any context.
unsafe impl Send for SkBuff {}

impl SkBuff {
    /// Takes ownership of `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must be a valid skb whose ownership passes to the new object.
    pub unsafe fn from_raw(ptr: *mut bindings::sk_buff) -> Self {
        // INVARIANT: guaranteed by the caller.
        Self(ptr)
    }

    /// Gives up ownership.
    pub fn into_raw(self) -> *mut bindings::sk_buff {
        let p = self.0;
        core::mem::forget(self);
        p
    }

    /// Total length of the packet (linear part and frags).
    pub fn len(&self) -> u32 {
        // SAFETY: By the type invariants the skb is valid.
        unsafe { (*self.0).len }
    }

    /// Whether the packet is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Index of the tx queue the stack picked for this packet.
    pub fn queue_mapping(&self) -> u16 {
        // SAFETY: By the type invariants the skb is valid.
        unsafe { (*self.0).queue_mapping }
    }

    /// Length of the linear part.
    pub fn headlen(&self) -> u32 {
        // SAFETY: By the type invariants the skb is valid.
        unsafe { bindings::net_ext_skb_headlen(self.0) }
    }

    /// The linear part's bytes.
    pub fn linear(&self) -> &[u8] {
        // SAFETY: By the type invariants the skb is valid; its linear part
        // is `headlen` readable bytes at `data`, unchanged while we own it
        // and borrow `self`.
        unsafe { core::slice::from_raw_parts((*self.0).data, self.headlen() as usize) }
    }

    /// Number of paged frags.
    pub fn nr_frags(&self) -> usize {
        // SAFETY: By the type invariants the skb is valid.
        unsafe { bindings::net_ext_skb_nr_frags(self.0) as usize }
    }

    /// Frag `i` as (page, offset, length), for DMA-mapping by a driver.
    ///
    /// Returns `None` for `i >= nr_frags()` or an unreadable (net_iov) frag.
    pub fn frag_page(&self, i: usize) -> Option<(*mut bindings::page, u32, u32)> {
        if i >= self.nr_frags() {
            return None;
        }
        let (mut off, mut len) = (0u32, 0u32);
        // SAFETY: By the type invariants the skb is valid and `i` is below
        // the frag count.
        let page = unsafe { bindings::net_ext_skb_frag_page(self.0, i as u32, &mut off, &mut len) };
        (!page.is_null()).then_some((page, off, len))
    }

    /// Copies `data` to the end of the linear part.
    ///
    /// Fails with `ENOSPC` if it does not fit the tailroom.
    pub fn put_data(&mut self, data: &[u8]) -> Result {
        // SAFETY: By the type invariants the skb is valid and ours.
        let room = unsafe { bindings::net_ext_skb_tailroom(self.0) };
        if data.len() > room as usize {
            return Err(ENOSPC);
        }
        // SAFETY: There is room for `data.len()` bytes, checked above.
        unsafe { bindings::net_ext_skb_put_data(self.0, data.as_ptr().cast(), data.len() as u32) };
        Ok(())
    }

    /// Appends a page-pool netmem (page or net_iov) as frag `i`.
    ///
    /// The skb takes over the caller's reference on `netmem`; it is marked
    /// for page-pool recycling and, for a net_iov, unreadable.
    ///
    /// # Safety
    ///
    /// `netmem` must be a reference to a page-pool netmem the caller owns
    /// and gives up; `i` must be the current frag count (below
    /// `MAX_SKB_FRAGS`) and `off + size` within the netmem.
    pub unsafe fn add_rx_frag_netmem(
        &mut self,
        netmem: bindings::netmem_ref,
        off: u32,
        size: u32,
        truesize: u32,
    ) {
        // SAFETY: guaranteed by the caller.
        unsafe { bindings::net_ext_skb_add_rx_frag_netmem(self.0, netmem, off, size, truesize) };
    }

    /// Appends page-pool buffer `nm` as the next frag: `size` bytes at
    /// `off` (the skb owns the buffer from here, and gives it back to its
    /// pool when freed).
    ///
    /// Fails with `EINVAL`, returning the buffer to its pool, if the range
    /// leaves the page or the skb has no frag slot left.
    pub fn add_rx_frag(
        &mut self,
        nm: crate::net_ext::page_pool::Netmem,
        off: u32,
        size: u32,
        truesize: u32,
    ) -> Result {
        let in_page = off
            .checked_add(size)
            .is_some_and(|end| end as usize <= crate::page::PAGE_SIZE);
        // SAFETY: By the type invariants the skb is valid.
        let max = unsafe { bindings::net_ext_skb_max_frags() } as usize;
        if !in_page || self.nr_frags() >= max {
            return Err(EINVAL);
        }
        // SAFETY: `nm` is a page-pool buffer whose reference we give up;
        // the frag index is the current count, below the maximum; the
        // range is within the (order-0) buffer.
        unsafe { self.add_rx_frag_netmem(nm.into_raw(), off, size, truesize) };
        Ok(())
    }

    /// Marks the L4 checksum as verified by the device.
    pub fn set_csum_unnecessary(&mut self) {
        // SAFETY: By the type invariants the skb is valid and ours.
        unsafe { bindings::net_ext_skb_csum_unnecessary(self.0) };
    }

    /// Records the rx queue and the device's flow hash.
    pub fn set_rx_queue_and_hash(&mut self, queue: u16, hash: u32, l4: bool) {
        // SAFETY: By the type invariants the skb is valid and ours.
        unsafe { bindings::net_ext_skb_set_rx_meta(self.0, queue, hash, l4) };
    }

    /// Frees the skb as successfully consumed (no drop is recorded).
    pub fn consume(self) {
        // SAFETY: We own the skb; `consume_skb` takes it in any context
        // where `dev_consume_skb_any` would.
        unsafe { bindings::net_ext_dev_consume_skb_any(self.into_raw()) }
    }
}

impl Drop for SkBuff {
    fn drop(&mut self) {
        // SAFETY: We own the skb: freed as dropped, from any context.
        unsafe { bindings::net_ext_dev_kfree_skb_any(self.0) }
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
    /// ([`crate::net_ext::queue_mgmt::ops_table`]), if supported.
    pub queue_mgmt: Option<&'static QueueMgmtOps>,
    /// Features the user may change (`hw_features`).
    pub hw_features: Features,
    /// Features on at first (`features`).
    pub features: Features,
    /// Ethtool operations (`ethtool_ops`), if any.
    pub ethtool: Option<&'static crate::net_ext::ethtool::OpsTable<T>>,
    /// Per-queue statistics (`stat_ops`), if kept.
    pub stat_ops: Option<&'static crate::net_ext::qstats::OpsTable<T>>,
}

/// A registered Ethernet device with driver `T`; unregistered and freed
/// when dropped.
///
/// # Invariants
///
/// `dev` is a registered `net_device` whose private area holds a pointer to
/// `*data`, and whose ops are `Adapter::<T>::VTABLE` (and its ethtool ops,
/// if any, an [`OpsTable<T>`](crate::net_ext::ethtool::OpsTable); its stat
/// ops, if any, a [`qstats::OpsTable<T>`](crate::net_ext::qstats::OpsTable)).
///
/// # Examples
///
/// A device that drops everything it is given, like `dummy`:
///
/// ```
/// use kernel::c_str;
/// use kernel::net_ext::netdev::{self, Device, Features, Params, Registration, SkBuff, TxResult};
/// use kernel::prelude::*;
/// use core::sync::atomic::{AtomicU64, Ordering};
///
/// struct Sink;
/// #[vtable]
/// impl netdev::Driver for Sink {
///     type Data = AtomicU64;
///     fn start_xmit(dev: &Device<Self>, skb: SkBuff) -> TxResult {
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
/// };
/// let reg = Registration::<Sink>::new(&params, KBox::pin(AtomicU64::new(0), GFP_KERNEL)?)?;
/// assert!(reg.device().ifindex() > 0);
/// assert!(!reg.device().is_running());
/// assert_eq!(reg.device().real_num_tx_queues(), 2);
/// drop(reg);
/// # Ok::<(), Error>(())
/// ```
pub struct Registration<T: Driver> {
    dev: *mut bindings::net_device,
    data: *mut T::Data,
}

// SAFETY: The registration can be dropped from any process context.
unsafe impl<T: Driver> Send for Registration<T> {}
// SAFETY: `&Registration` only gives `&Device`, which is `Sync`.
unsafe impl<T: Driver> Sync for Registration<T> {}

impl<T: Driver> Registration<T> {
    /// Allocates and registers an Ethernet device driven by `T`.
    pub fn new(params: &Params<'_, T>, data: Pin<KBox<T::Data>>) -> Result<Self> {
        if params.txqs == 0 || params.rxqs == 0 {
            return Err(EINVAL);
        }
        // SAFETY: FFI call; the private area is sized for one pointer.
        let dev = unsafe {
            bindings::alloc_etherdev_mqs(
                core::mem::size_of::<*const T::Data>() as i32,
                params.txqs,
                params.rxqs,
            )
        };
        if dev.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: The data is never moved: it is dropped in place (as a
        // `KBox`) by `drop` or on the error paths below.
        let data = KBox::into_raw(unsafe { Pin::into_inner_unchecked(data) });
        // SAFETY: `dev` is a fresh, unregistered device that we own; its
        // private area has room for the pointer.
        unsafe {
            *bindings::net_ext_netdev_priv(dev).cast::<*const T::Data>() = data;
            (*dev).netdev_ops = Adapter::<T>::build();
            if let Some(ops) = params.queue_mgmt {
                (*dev).queue_mgmt_ops = ops.as_raw();
            }
            if params.max_mtu != 0 {
                (*dev).max_mtu = params.max_mtu;
            }
            if let Some(parent) = params.parent {
                (*dev).dev.parent = parent.as_raw();
            }
            if let Some(ops) = params.ethtool {
                (*dev).ethtool_ops = ops.as_raw();
            }
            if let Some(ops) = params.stat_ops {
                (*dev).stat_ops = ops.as_raw();
            }
            (*dev).hw_features |= params.hw_features.bits();
            (*dev).features |= params.features.bits();
            bindings::net_ext_eth_hw_addr_set(dev, params.mac.as_ptr());
        }
        if params.real_queues != 0 {
            // SAFETY: `dev` is not registered yet, so no lock is needed;
            // counts above the allocated queues are refused by the callee.
            let r = unsafe {
                to_result(bindings::netif_set_real_num_tx_queues(
                    dev,
                    params.real_queues,
                ))
                .and_then(|()| {
                    to_result(bindings::netif_set_real_num_rx_queues(
                        dev,
                        params.real_queues,
                    ))
                })
            };
            if let Err(e) = r {
                // SAFETY: We own `dev` and `data`; nothing else has seen them.
                unsafe {
                    bindings::free_netdev(dev);
                    drop(KBox::from_raw(data));
                }
                return Err(e);
            }
        }
        let name = params.name.as_bytes_with_nul();
        // SAFETY: `dev` is valid and unregistered.
        let dst = unsafe { &mut (*dev).name };
        if name.len() > dst.len() {
            // SAFETY: We own `dev` and `data`; nothing else has seen them.
            unsafe {
                bindings::free_netdev(dev);
                drop(KBox::from_raw(data));
            }
            return Err(EINVAL);
        }
        for (d, s) in dst.iter_mut().zip(name) {
            *d = *s as _;
        }
        // SAFETY: `dev` is fully set up; from here on the stack may call the
        // driver, whose data is in place.
        if let Err(e) = to_result(unsafe { bindings::register_netdev(dev) }) {
            // SAFETY: Registration failed: we still own both.
            unsafe {
                bindings::free_netdev(dev);
                drop(KBox::from_raw(data));
            }
            return Err(e);
        }
        // INVARIANT: registered above with the private pointer and ops set.
        Ok(Self { dev, data })
    }

    /// The registered device.
    pub fn device(&self) -> &Device<T> {
        // SAFETY: By the type invariants `dev` is registered by us and lives
        // as long as `self`.
        unsafe { Device::from_raw(self.dev) }
    }
}

impl<T: Driver> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariants `dev` is registered; once
        // `unregister_netdev` returns the stack calls no op any more, so the
        // data can go, then the device.
        unsafe {
            bindings::unregister_netdev(self.dev);
            bindings::free_netdev(self.dev);
            drop(KBox::from_raw(self.data));
        }
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

    const fn build() -> &'static bindings::net_device_ops {
        &Self::VTABLE
    }

    /// # Safety
    ///
    /// `dev` must be a device registered by a [`Registration<T>`].
    unsafe extern "C" fn open_callback(dev: *mut bindings::net_device) -> core::ffi::c_int {
        from_result(|| {
            // SAFETY: guaranteed by the caller; the core calls `ndo_open`
            // under RTNL.
            T::open(unsafe { Device::from_raw(dev) }, unsafe {
                Rtnl::assume_held()
            })?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// `dev` must be a device registered by a [`Registration<T>`].
    unsafe extern "C" fn stop_callback(dev: *mut bindings::net_device) -> core::ffi::c_int {
        from_result(|| {
            // SAFETY: guaranteed by the caller; the core calls `ndo_stop`
            // under RTNL.
            T::stop(unsafe { Device::from_raw(dev) }, unsafe {
                Rtnl::assume_held()
            })?;
            Ok(0)
        })
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
        let (dev, skb) = unsafe { (Device::from_raw(dev), SkBuff::from_raw(skb)) };
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
            // SAFETY: The op must store the new MTU itself, under RTNL.
            unsafe { bindings::net_ext_set_mtu(dev, mtu) };
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

/// A packet to transmit with its linear part and frags DMA-mapped for a
/// device to read; unmapped, then freed as consumed, when dropped.
///
/// # Invariants
///
/// Each entry of `segs` is a live streaming mapping (`DMA_TO_DEVICE`) on
/// `dev` of a part of `skb`'s data: the linear part (`page == false`) or a
/// frag (`page == true`); `dev` holds a reference on the device.
pub struct MappedSkb {
    skb: Option<SkBuff>,
    dev: crate::types::ARef<crate::device::Device>,
    segs: KVec<Seg>,
}

#[derive(Clone, Copy)]
struct Seg {
    addr: u64,
    len: u32,
    page: bool,
}

impl MappedSkb {
    /// Maps every byte of `skb` for `dev` to read. On failure the skb is
    /// dropped (freed as dropped) and nothing stays mapped.
    pub fn map(skb: SkBuff, dev: &crate::device::Device) -> Result<Self> {
        let n = skb.nr_frags();
        let mut this = Self {
            segs: KVec::with_capacity(n + 1, GFP_ATOMIC)?,
            skb: Some(skb),
            // SAFETY: `dev` is a valid device; we take a reference.
            dev: unsafe { crate::device::Device::get_device(dev.as_raw()) },
        };
        let skb = this
            .skb
            .as_ref()
            .map(|s| s.0)
            .unwrap_or(core::ptr::null_mut());
        if this.skb.as_ref().is_some_and(|s| s.headlen() > 0) {
            let mut addr = 0u64;
            // SAFETY: `skb` is valid and owned by `this`; the mapping is
            // recorded in `segs` at once and undone on drop.
            to_result(unsafe {
                bindings::net_ext_skb_map_linear(this.dev.as_raw(), skb, &mut addr)
            })?;
            // SAFETY: As above.
            let len = unsafe { bindings::net_ext_skb_headlen(skb) };
            // INVARIANT: a live mapping of the linear part.
            this.segs.push(
                Seg {
                    addr,
                    len,
                    page: false,
                },
                GFP_ATOMIC,
            )?;
        }
        for i in 0..n {
            let (mut addr, mut len) = (0u64, 0u32);
            // SAFETY: `skb` is valid; `i` is below its frag count; the
            // helper refuses unreadable frags.
            to_result(unsafe {
                bindings::net_ext_skb_map_frag(
                    this.dev.as_raw(),
                    skb,
                    i as u32,
                    &mut addr,
                    &mut len,
                )
            })?;
            // INVARIANT: a live mapping of frag `i`.
            this.segs.push(
                Seg {
                    addr,
                    len,
                    page: true,
                },
                GFP_ATOMIC,
            )?;
        }
        Ok(this)
    }

    /// The mapped segments as (DMA address, length), in packet order.
    pub fn segments(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        self.segs.iter().map(|s| (s.addr, s.len))
    }

    /// Number of mapped segments.
    pub fn nr_segments(&self) -> usize {
        self.segs.len()
    }

    /// Packet length.
    pub fn len(&self) -> u32 {
        self.skb.as_ref().map_or(0, |s| s.len())
    }

    /// Whether the packet is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for MappedSkb {
    fn drop(&mut self) {
        for s in self.segs.iter() {
            // SAFETY: By the type invariants each segment is a live mapping
            // on `dev`, unmapped once here.
            unsafe { bindings::net_ext_skb_unmap(self.dev.as_raw(), s.addr, s.len, s.page) };
        }
        if let Some(skb) = self.skb.take() {
            skb.consume();
        }
    }
}

// SAFETY: The skb and the mappings may be released from any context.
unsafe impl Send for MappedSkb {}
// SAFETY: `&MappedSkb` only reads addresses and lengths.
unsafe impl Sync for MappedSkb {}
