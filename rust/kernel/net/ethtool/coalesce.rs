// SPDX-License-Identifier: GPL-2.0

//! Interrupt coalescing (`ethtool -c/-C`, `struct ethtool_coalesce`).
//!
//! C header: [`include/linux/ethtool.h`](srctree/include/linux/ethtool.h)
//!
//! [`Coalesce`] carries the parameters a driver can implement, and the
//! adapter advertises exactly those in `supported_coalesce_params`: the
//! ethtool core refuses a request touching any other parameter with
//! `EOPNOTSUPP` ("unsupported parameter") before the driver is called, so a
//! driver never sees, and never silently ignores, a setting it cannot
//! honour. Today those are the interrupt delays in microseconds
//! (`rx-usecs`, `tx-usecs`), what upstream gve's DQO mode supports.

use super::{Adapter, EthtoolOps};
use crate::bindings;
use crate::error::from_result;
use crate::net::mp::ExtAck;
use core::ffi::c_int;

/// Interrupt coalescing settings of a device.
///
/// # Examples
///
/// A driver that keeps both delays, refusing more than 100 µs with an
/// extack message, called as the ethtool core calls it:
///
/// ```
/// use core::sync::atomic::{AtomicU32, Ordering};
/// use kernel::bindings;
/// use kernel::c_str;
/// use kernel::net::ethtool::{Coalesce, EthtoolOps, OpsTable};
/// use kernel::net::mp::ExtAck;
/// use kernel::net::netdev::{self, Device, Features, Params, Registration, TxResult};
/// use kernel::net::skb::TxSkb;
/// use kernel::prelude::*;
///
/// struct Irqs;
/// #[vtable]
/// impl netdev::Driver for Irqs {
///     type Data = [AtomicU32; 2];
///     fn start_xmit(_dev: &Device<Self>, skb: TxSkb) -> TxResult {
///         skb.consume();
///         TxResult::Ok
///     }
/// }
/// #[vtable]
/// impl EthtoolOps for Irqs {
///     fn get_coalesce(dev: &Device<Self>) -> Coalesce {
///         let [rx, tx] = dev.data();
///         Coalesce {
///             rx_usecs: rx.load(Ordering::Relaxed),
///             tx_usecs: tx.load(Ordering::Relaxed),
///         }
///     }
///     fn set_coalesce(dev: &Device<Self>, c: &Coalesce, extack: &ExtAck<'_>) -> Result {
///         if c.rx_usecs > 100 || c.tx_usecs > 100 {
///             extack.set_msg(c_str!("at most 100 usecs"));
///             return Err(EINVAL);
///         }
///         let [rx, tx] = dev.data();
///         rx.store(c.rx_usecs, Ordering::Relaxed);
///         tx.store(c.tx_usecs, Ordering::Relaxed);
///         Ok(())
///     }
/// }
///
/// let params = Params {
///     name: c_str!("rsirq%d"),
///     txqs: 1,
///     rxqs: 1,
///     mac: [0x02, 0, 0, 0, 0, 7],
///     parent: None,
///     max_mtu: 0,
///     real_queues: 0,
///     queue_mgmt: None,
///     hw_features: Features::EMPTY,
///     features: Features::EMPTY,
///     ethtool: Some(OpsTable::get()),
///     stat_ops: None,
///     tso_max: None,
/// };
/// let reg = Registration::<Irqs>::new(&params, [AtomicU32::new(0), AtomicU32::new(0)])?;
/// // SAFETY: All-zero is a valid `ethtool_coalesce`, `kernel_ethtool_coalesce`
/// // and (empty) `netlink_ext_ack`.
/// let (mut ec, mut kec, mut ack): (
///     bindings::ethtool_coalesce,
///     bindings::kernel_ethtool_coalesce,
///     bindings::netlink_ext_ack,
/// ) = unsafe { (core::mem::zeroed(), core::mem::zeroed(), core::mem::zeroed()) };
/// // SAFETY: The device is registered with our ops table; it is looked up
/// // and its ops are called with RTNL held, with valid arguments, as the
/// // ethtool core does.
/// let (supported, ok, bad) = unsafe {
///     bindings::rtnl_lock();
///     let net = core::ptr::addr_of_mut!(bindings::init_net);
///     let raw = bindings::__dev_get_by_index(net, reg.device().ifindex());
///     let ops = &*(*raw).ethtool_ops;
///     ec.rx_coalesce_usecs = 20;
///     ec.tx_coalesce_usecs = 50;
///     let ok = (ops.set_coalesce.unwrap())(raw, &mut ec, &mut kec, &mut ack);
///     ec.rx_coalesce_usecs = 101;
///     let bad = (ops.set_coalesce.unwrap())(raw, &mut ec, &mut kec, &mut ack);
///     ec = core::mem::zeroed();
///     (ops.get_coalesce.unwrap())(raw, &mut ec, &mut kec, &mut ack);
///     bindings::rtnl_unlock();
///     (ops.supported_coalesce_params, ok, bad)
/// };
/// assert_eq!(
///     supported,
///     bindings::ETHTOOL_COALESCE_RX_USECS | bindings::ETHTOOL_COALESCE_TX_USECS
/// );
/// assert_eq!((ok, bad), (0, EINVAL.to_errno()));
/// assert!(!ack._msg.is_null());
/// assert_eq!((ec.rx_coalesce_usecs, ec.tx_coalesce_usecs), (20, 50));
/// # Ok::<(), Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Coalesce {
    /// Microseconds by which an rx completion's interrupt may be delayed
    /// (`rx-usecs`); 0: none, interrupt at once.
    pub rx_usecs: u32,
    /// Microseconds by which a tx completion's interrupt may be delayed
    /// (`tx-usecs`); 0: none, interrupt at once.
    pub tx_usecs: u32,
}

/// The parameters [`Coalesce`] carries (`ETHTOOL_COALESCE_USECS`).
pub(super) const SUPPORTED: u32 =
    bindings::ETHTOOL_COALESCE_RX_USECS | bindings::ETHTOOL_COALESCE_TX_USECS;

impl Coalesce {
    fn from_raw(ec: &bindings::ethtool_coalesce) -> Self {
        Self {
            rx_usecs: ec.rx_coalesce_usecs,
            tx_usecs: ec.tx_coalesce_usecs,
        }
    }

    fn to_raw(self, ec: &mut bindings::ethtool_coalesce) {
        ec.rx_coalesce_usecs = self.rx_usecs;
        ec.tx_coalesce_usecs = self.tx_usecs;
    }
}

impl<T: EthtoolOps> Adapter<T> {
    /// # Safety
    ///
    /// `dev` must be a device registered by a
    /// [`netdev::Registration<T>`](crate::net::netdev::Registration);
    /// `ec` valid for writes.
    pub(super) unsafe extern "C" fn get_coalesce_callback(
        dev: *mut bindings::net_device,
        ec: *mut bindings::ethtool_coalesce,
        _kec: *mut bindings::kernel_ethtool_coalesce,
        _extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: guaranteed by the caller.
        let (dev, ec) = unsafe { (Self::dev(dev), &mut *ec) };
        T::get_coalesce(dev).to_raw(ec);
        0
    }

    /// # Safety
    ///
    /// `dev` must be a device registered by a
    /// [`netdev::Registration<T>`](crate::net::netdev::Registration);
    /// `ec` valid for reads; `extack` null or valid.
    pub(super) unsafe extern "C" fn set_coalesce_callback(
        dev: *mut bindings::net_device,
        ec: *mut bindings::ethtool_coalesce,
        _kec: *mut bindings::kernel_ethtool_coalesce,
        extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: guaranteed by the caller; the core uses `extack` for
        // nothing else while we run.
        let (dev, ec, extack) = unsafe { (Self::dev(dev), &*ec, ExtAck::from_raw(extack)) };
        from_result(|| {
            T::set_coalesce(dev, &Coalesce::from_raw(ec), &extack)?;
            Ok(0)
        })
    }
}
