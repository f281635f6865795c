// SPDX-License-Identifier: GPL-2.0

//! Per-queue statistics (`struct netdev_stat_ops`), which the `netdev`
//! generic netlink family reports with `qstats-get`.
//!
//! C header: [`include/net/netdev_queues.h`](srctree/include/net/netdev_queues.h)
//!
//! The core asks, under RTNL, for the counters of each rx and tx queue in
//! use ([`StatOps::queue_stats_rx`], [`StatOps::queue_stats_tx`]) and, for
//! the device totals, for the "base" ([`StatOps::base_stats`]): what the
//! queues in use do not account for (queues that were torn down, or that
//! are not in use any more). Totals are the base plus every queue in use.
//!
//! Every counter starts unset; the driver sets those it keeps. An unset
//! counter is not reported (and a base that sets a counter, even to zero,
//! says that the device total of that counter is complete).
//!
//! # Examples
//!
//! A device whose queue `i` has received `i` packets; the core's
//! `netdev_stat_queue_sum` (which `qstats-get` uses for device totals)
//! adds them up:
//!
//! ```
//! use kernel::bindings;
//! use kernel::c_str;
//! use kernel::net::netdev::{self, Device, Features, Params, Registration, TxResult};
//! use kernel::net::skb::TxSkb;
//! use kernel::net::qstats::{OpsTable, RxQueueStats, StatOps, TxQueueStats};
//! use kernel::prelude::*;
//!
//! struct Counted;
//! #[vtable]
//! impl netdev::Driver for Counted {
//!     type Data = ();
//!     fn start_xmit(_dev: &Device<Self>, skb: TxSkb) -> TxResult {
//!         skb.consume();
//!         TxResult::Ok
//!     }
//! }
//! impl StatOps for Counted {
//!     fn queue_stats_rx(_dev: &Device<Self>, idx: u32, s: &mut RxQueueStats<'_>) {
//!         s.set_packets(idx.into());
//!         s.set_bytes(100 * u64::from(idx));
//!     }
//!     fn queue_stats_tx(_dev: &Device<Self>, _idx: u32, s: &mut TxQueueStats<'_>) {
//!         s.set_packets(1);
//!     }
//!     fn base_stats(_dev: &Device<Self>, rx: &mut RxQueueStats<'_>, tx: &mut TxQueueStats<'_>) {
//!         rx.set_packets(0);
//!         tx.set_packets(0);
//!     }
//! }
//!
//! let params = Params {
//!     name: c_str!("rsqstat%d"),
//!     txqs: 4,
//!     rxqs: 4,
//!     mac: [0x02, 0, 0, 0, 0, 2],
//!     parent: None,
//!     max_mtu: 0,
//!     real_queues: 0,
//!     queue_mgmt: None,
//!     hw_features: Features::EMPTY,
//!     features: Features::EMPTY,
//!     ethtool: None,
//!     stat_ops: Some(OpsTable::get()),
//!     tso_max: None,
//! };
//! let reg = Registration::<Counted>::new(&params, ())?;
//! // SAFETY: All-zero is a valid value of these plain counter structs.
//! let mut rx: bindings::netdev_queue_stats_rx = unsafe { core::mem::zeroed() };
//! // SAFETY: As above.
//! let mut tx: bindings::netdev_queue_stats_tx = unsafe { core::mem::zeroed() };
//! // SAFETY: RTNL is held around the lookup and the sum; the device is
//! // registered, queues 0-3 exist and the sums are ours.
//! unsafe {
//!     bindings::rtnl_lock();
//!     let net = core::ptr::addr_of_mut!(bindings::init_net);
//!     let dev = bindings::__dev_get_by_index(net, reg.device().ifindex());
//!     bindings::netdev_stat_queue_sum(dev, 0, 4, &mut rx, 0, 4, &mut tx);
//!     bindings::rtnl_unlock();
//! }
//! assert_eq!((rx.packets, rx.bytes, tx.packets), (6, 600, 4));
//! // Unset counters are reported as all ones, which the sum skips.
//! assert_eq!((rx.alloc_fail, tx.bytes), (0, 0));
//! drop(reg);
//! # Ok::<(), Error>(())
//! ```

use crate::bindings;
use crate::net::netdev::{self, Device};
use core::marker::PhantomData;

/// The counters of one rx queue (or of the rx base); unset ones are not
/// reported.
pub struct RxQueueStats<'a>(&'a mut bindings::netdev_queue_stats_rx);

impl RxQueueStats<'_> {
    /// Packets received.
    pub fn set_packets(&mut self, v: u64) {
        self.0.packets = v;
    }

    /// Bytes received (of the packets counted in `packets`).
    pub fn set_bytes(&mut self, v: u64) {
        self.0.bytes = v;
    }

    /// Times a buffer for the rx ring could not be allocated.
    pub fn set_alloc_fail(&mut self, v: u64) {
        self.0.alloc_fail = v;
    }

    /// Packets whose L4 checksum the device validated
    /// (`CHECKSUM_UNNECESSARY`).
    pub fn set_csum_unnecessary(&mut self, v: u64) {
        self.0.csum_unnecessary = v;
    }

    /// Packets the device coalesced from smaller ones (hardware GRO).
    pub fn set_hw_gro_packets(&mut self, v: u64) {
        self.0.hw_gro_packets = v;
    }

    /// Wire packets the device coalesced into those of
    /// [`set_hw_gro_packets`](Self::set_hw_gro_packets).
    pub fn set_hw_gro_wire_packets(&mut self, v: u64) {
        self.0.hw_gro_wire_packets = v;
    }
}

/// The counters of one tx queue (or of the tx base); unset ones are not
/// reported.
pub struct TxQueueStats<'a>(&'a mut bindings::netdev_queue_stats_tx);

impl TxQueueStats<'_> {
    /// Packets sent.
    pub fn set_packets(&mut self, v: u64) {
        self.0.packets = v;
    }

    /// Bytes sent.
    pub fn set_bytes(&mut self, v: u64) {
        self.0.bytes = v;
    }

    /// Packets the device computed the L4 checksum of (`CHECKSUM_PARTIAL`).
    pub fn set_needs_csum(&mut self, v: u64) {
        self.0.needs_csum = v;
    }

    /// Packets the device segmented (TSO).
    pub fn set_hw_gso_packets(&mut self, v: u64) {
        self.0.hw_gso_packets = v;
    }

    /// Wire packets the device made of those of
    /// [`set_hw_gso_packets`](Self::set_hw_gso_packets).
    pub fn set_hw_gso_wire_packets(&mut self, v: u64) {
        self.0.hw_gso_wire_packets = v;
    }
}

/// Queue statistics of a driver.
pub trait StatOps: netdev::Driver {
    /// Counters of rx queue `idx` (below the rx queues in use).
    fn queue_stats_rx(dev: &Device<Self>, idx: u32, stats: &mut RxQueueStats<'_>);

    /// Counters of tx queue `idx` (below the tx queues in use).
    fn queue_stats_tx(dev: &Device<Self>, idx: u32, stats: &mut TxQueueStats<'_>);

    /// What the device counted outside the queues in use, so that the
    /// device totals are the base plus every queue in use.
    fn base_stats(dev: &Device<Self>, rx: &mut RxQueueStats<'_>, tx: &mut TxQueueStats<'_>);
}

/// The queue-statistics ops table of driver `T`, to hand to
/// [`netdev::Params`] of a device driven by `T` ([`OpsTable::get`]).
pub struct OpsTable<T: netdev::Driver>(bindings::netdev_stat_ops, PhantomData<T>);

// SAFETY: The table is immutable and only holds function pointers.
unsafe impl<T: netdev::Driver> Sync for OpsTable<T> {}

impl<T: netdev::Driver> OpsTable<T> {
    /// The raw table.
    pub(crate) fn as_raw(&'static self) -> *const bindings::netdev_stat_ops {
        &self.0
    }
}

impl<T: StatOps> OpsTable<T> {
    const TABLE: Self = Self(Adapter::<T>::VTABLE, PhantomData);

    /// The table of `T`.
    pub const fn get() -> &'static Self {
        &Self::TABLE
    }
}

struct Adapter<T: StatOps>(PhantomData<T>);

impl<T: StatOps> Adapter<T> {
    const VTABLE: bindings::netdev_stat_ops = bindings::netdev_stat_ops {
        get_queue_stats_rx: Some(Self::rx),
        get_queue_stats_tx: Some(Self::tx),
        get_base_stats: Some(Self::base),
    };

    /// # Safety
    ///
    /// Called by the core for a device registered by a `Registration<T>`
    /// with valid, exclusive `stats` and `idx` below the queues in use.
    unsafe extern "C" fn rx(
        dev: *mut bindings::net_device,
        idx: core::ffi::c_int,
        stats: *mut bindings::netdev_queue_stats_rx,
    ) {
        // SAFETY: guaranteed by the caller.
        let (dev, stats) = unsafe { (Device::<T>::from_raw(dev), &mut *stats) };
        if let Ok(idx) = u32::try_from(idx) {
            T::queue_stats_rx(dev, idx, &mut RxQueueStats(stats));
        }
    }

    /// # Safety
    ///
    /// As for `rx`.
    unsafe extern "C" fn tx(
        dev: *mut bindings::net_device,
        idx: core::ffi::c_int,
        stats: *mut bindings::netdev_queue_stats_tx,
    ) {
        // SAFETY: guaranteed by the caller.
        let (dev, stats) = unsafe { (Device::<T>::from_raw(dev), &mut *stats) };
        if let Ok(idx) = u32::try_from(idx) {
            T::queue_stats_tx(dev, idx, &mut TxQueueStats(stats));
        }
    }

    /// # Safety
    ///
    /// Called by the core for a device registered by a `Registration<T>`
    /// with valid, exclusive `rx` and `tx`.
    unsafe extern "C" fn base(
        dev: *mut bindings::net_device,
        rx: *mut bindings::netdev_queue_stats_rx,
        tx: *mut bindings::netdev_queue_stats_tx,
    ) {
        // SAFETY: guaranteed by the caller.
        let (dev, rx, tx) = unsafe { (Device::<T>::from_raw(dev), &mut *rx, &mut *tx) };
        T::base_stats(dev, &mut RxQueueStats(rx), &mut TxQueueStats(tx));
    }
}
