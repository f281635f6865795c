// SPDX-License-Identifier: GPL-2.0

//! Ethtool operations of network devices.
//!
//! C header: [`include/linux/ethtool.h`](srctree/include/linux/ethtool.h)
//!
//! A driver implements [`EthtoolOps`] on its [`netdev::Driver`] type and
//! hands [`OpsTable::<T>::get()`] to [`netdev::Params::ethtool`]; the core
//! then calls the trait's methods for
//! `ethtool -i/-l/-L/-g/-G/-c/-C/-x/-X/-n/-N/-S`.
//! Every method runs in process context with the RTNL lock held (the ioctl
//! path takes it around `__dev_ethtool`, the netlink handlers around their
//! `prepare`/`set` calls), so methods of one device never run concurrently.
//!
//! Fixed sizes (RSS key and table, ntuple table) are associated constants
//! rather than methods: the adapter then knows the length of every array
//! the core allocated from them and hands the driver plain slices.

use crate::bindings;
use crate::error::{code::*, from_result, Result};
use crate::net::mp::ExtAck;
use crate::net::netdev::{self, Device};
use crate::net::rtnl::Rtnl;
use crate::prelude::*;
use core::ffi::c_int;
use core::marker::PhantomData;
use core::sync::atomic::Ordering;

mod coalesce;
mod rss;
mod rxnfc;
mod steer;

pub use coalesce::Coalesce;
pub use rss::{RssHashFunc, RxfhContext, RxfhGet, RxfhSet};
pub use rxnfc::{FlowRule, FlowSpec, FlowTuple, FlowType, RuleLocation, RuleLocs, RxAction};
pub use steer::{without_queue, DeviceOps};

/// Length of one statistics name, including the terminating NUL
/// (`ETH_GSTRING_LEN`).
pub const GSTRING_LEN: usize = bindings::ETH_GSTRING_LEN as usize;

/// Most statistics a device reports; [`EthtoolOps::stats_count`] is capped
/// to it (the core refuses larger string sets anyway).
const MAX_STATS: usize = (c_int::MAX as usize) / GSTRING_LEN;

/// Driver information (`struct ethtool_drvinfo`, `ethtool -i`).
///
/// The core fills `version` with the kernel release before calling the
/// driver, and fills an empty `bus_info` with the parent device's name
/// afterwards.
#[repr(transparent)]
pub struct DrvInfo(bindings::ethtool_drvinfo);

fn copy_cstr(dst: &mut [u8], src: &CStr) {
    let src = src.as_bytes();
    let n = src.len().min(dst.len().saturating_sub(1));
    dst[..n].copy_from_slice(&src[..n]);
    dst[n..].fill(0);
}

fn cstr_bytes(src: &[u8]) -> &[u8] {
    let end = src.iter().position(|&c| c == 0).unwrap_or(src.len());
    &src[..end]
}

impl DrvInfo {
    /// An empty record (as the core passes it, before the version).
    pub fn new() -> Self {
        // SAFETY: `ethtool_drvinfo` is plain old data; all-zero is valid.
        Self(unsafe { core::mem::zeroed() })
    }

    /// Sets the driver name (truncated to 31 bytes).
    pub fn set_driver(&mut self, s: &CStr) {
        copy_cstr(&mut self.0.driver, s);
    }

    /// Sets the driver version (truncated to 31 bytes).
    pub fn set_version(&mut self, s: &CStr) {
        copy_cstr(&mut self.0.version, s);
    }

    /// Sets the firmware version (truncated to 31 bytes).
    pub fn set_fw_version(&mut self, s: &CStr) {
        copy_cstr(&mut self.0.fw_version, s);
    }

    /// Sets the bus address (truncated to 31 bytes).
    pub fn set_bus_info(&mut self, s: &CStr) {
        copy_cstr(&mut self.0.bus_info, s);
    }

    /// The driver name.
    pub fn driver(&self) -> &[u8] {
        cstr_bytes(&self.0.driver)
    }

    /// The driver version.
    pub fn version(&self) -> &[u8] {
        cstr_bytes(&self.0.version)
    }

    /// The bus address.
    pub fn bus_info(&self) -> &[u8] {
        cstr_bytes(&self.0.bus_info)
    }
}

impl Default for DrvInfo {
    fn default() -> Self {
        Self::new()
    }
}

/// Channel (queue) counts (`struct ethtool_channels`, `ethtool -l/-L`).
///
/// On [`EthtoolOps::set_channels`] the `max_*` fields are what
/// [`EthtoolOps::get_channels`] reported; the core has already refused
/// counts above them, requests without any rx or tx channel, and counts too
/// low for a bound memory provider, an ntuple rule or a user RSS table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Channels {
    /// Most rx-only channels.
    pub max_rx: u32,
    /// Most tx-only channels.
    pub max_tx: u32,
    /// Most other channels.
    pub max_other: u32,
    /// Most combined (rx and tx) channels.
    pub max_combined: u32,
    /// Rx-only channels.
    pub rx: u32,
    /// Tx-only channels.
    pub tx: u32,
    /// Other channels.
    pub other: u32,
    /// Combined channels.
    pub combined: u32,
}

impl Channels {
    fn from_raw(c: &bindings::ethtool_channels) -> Self {
        Self {
            max_rx: c.max_rx,
            max_tx: c.max_tx,
            max_other: c.max_other,
            max_combined: c.max_combined,
            rx: c.rx_count,
            tx: c.tx_count,
            other: c.other_count,
            combined: c.combined_count,
        }
    }

    fn to_raw(self, c: &mut bindings::ethtool_channels) {
        c.max_rx = self.max_rx;
        c.max_tx = self.max_tx;
        c.max_other = self.max_other;
        c.max_combined = self.max_combined;
        c.rx_count = self.rx;
        c.tx_count = self.tx;
        c.other_count = self.other;
        c.combined_count = self.combined;
    }
}

/// Header split of TCP (`ETHTOOL_TCP_DATA_SPLIT_*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TcpDataSplit {
    /// Unknown (on get), no change (on set).
    #[default]
    Unknown,
    /// Headers and payload in the same buffers.
    Disabled,
    /// Headers and payload in separate buffers.
    Enabled,
}

impl TcpDataSplit {
    fn from_raw(v: u8) -> Result<Self> {
        match u32::from(v) {
            bindings::ETHTOOL_TCP_DATA_SPLIT_UNKNOWN => Ok(Self::Unknown),
            bindings::ETHTOOL_TCP_DATA_SPLIT_DISABLED => Ok(Self::Disabled),
            bindings::ETHTOOL_TCP_DATA_SPLIT_ENABLED => Ok(Self::Enabled),
            _ => Err(EINVAL),
        }
    }

    fn to_raw(self) -> u8 {
        (match self {
            Self::Unknown => bindings::ETHTOOL_TCP_DATA_SPLIT_UNKNOWN,
            Self::Disabled => bindings::ETHTOOL_TCP_DATA_SPLIT_DISABLED,
            Self::Enabled => bindings::ETHTOOL_TCP_DATA_SPLIT_ENABLED,
        }) as u8
    }
}

/// Ring parameters (`struct ethtool_ringparam` and
/// `struct kernel_ethtool_ringparam`, `ethtool -g/-G`).
///
/// [`EthtoolOps::get_ringparam`] fills every field: the ioctl path of a
/// set starts from what get reported.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingParam {
    /// Most rx descriptors.
    pub rx_max_pending: u32,
    /// Most rx mini descriptors.
    pub rx_mini_max_pending: u32,
    /// Most rx jumbo descriptors.
    pub rx_jumbo_max_pending: u32,
    /// Most tx descriptors.
    pub tx_max_pending: u32,
    /// Rx descriptors.
    pub rx_pending: u32,
    /// Rx mini descriptors.
    pub rx_mini_pending: u32,
    /// Rx jumbo descriptors.
    pub rx_jumbo_pending: u32,
    /// Tx descriptors.
    pub tx_pending: u32,
    /// Size of an rx buffer.
    pub rx_buf_len: u32,
    /// Header split; [`TcpDataSplit::Unknown`] on set means no change.
    pub tcp_data_split: TcpDataSplit,
    /// Tx push.
    pub tx_push: bool,
    /// Rx push.
    pub rx_push: bool,
    /// Completion entry size.
    pub cqe_size: u32,
    /// Tx push buffer length.
    pub tx_push_buf_len: u32,
    /// Largest tx push buffer length.
    pub tx_push_buf_max_len: u32,
}

impl RingParam {
    fn from_raw(
        r: &bindings::ethtool_ringparam,
        k: &bindings::kernel_ethtool_ringparam,
    ) -> Result<Self> {
        Ok(Self {
            rx_max_pending: r.rx_max_pending,
            rx_mini_max_pending: r.rx_mini_max_pending,
            rx_jumbo_max_pending: r.rx_jumbo_max_pending,
            tx_max_pending: r.tx_max_pending,
            rx_pending: r.rx_pending,
            rx_mini_pending: r.rx_mini_pending,
            rx_jumbo_pending: r.rx_jumbo_pending,
            tx_pending: r.tx_pending,
            rx_buf_len: k.rx_buf_len,
            tcp_data_split: TcpDataSplit::from_raw(k.tcp_data_split)?,
            tx_push: k.tx_push != 0,
            rx_push: k.rx_push != 0,
            cqe_size: k.cqe_size,
            tx_push_buf_len: k.tx_push_buf_len,
            tx_push_buf_max_len: k.tx_push_buf_max_len,
        })
    }

    fn to_raw(
        self,
        r: &mut bindings::ethtool_ringparam,
        k: &mut bindings::kernel_ethtool_ringparam,
    ) {
        r.rx_max_pending = self.rx_max_pending;
        r.rx_mini_max_pending = self.rx_mini_max_pending;
        r.rx_jumbo_max_pending = self.rx_jumbo_max_pending;
        r.tx_max_pending = self.tx_max_pending;
        r.rx_pending = self.rx_pending;
        r.rx_mini_pending = self.rx_mini_pending;
        r.rx_jumbo_pending = self.rx_jumbo_pending;
        r.tx_pending = self.tx_pending;
        k.rx_buf_len = self.rx_buf_len;
        k.tcp_data_split = self.tcp_data_split.to_raw();
        k.tx_push = self.tx_push.into();
        k.rx_push = self.rx_push.into();
        k.cqe_size = self.cqe_size;
        k.tx_push_buf_len = self.tx_push_buf_len;
        k.tx_push_buf_max_len = self.tx_push_buf_max_len;
    }
}

/// Statistics names being written for [`EthtoolOps::stats_strings`]: one
/// [`GSTRING_LEN`]-byte, NUL-terminated slot each.
///
/// # Examples
///
/// ```
/// use kernel::net::ethtool::{Strings, GSTRING_LEN};
///
/// let mut buf = [0xffu8; 2 * GSTRING_LEN];
/// let mut s = Strings::new(&mut buf);
/// s.push(format_args!("rx{}_packets", 3));
/// s.push(format_args!("{:040}", 0)); // Truncated to 31 bytes.
/// s.push(format_args!("dropped")); // No slot left: ignored.
/// assert_eq!(s.written(), 2);
/// assert_eq!(&buf[..11], b"rx3_packets");
/// assert!(buf[11..GSTRING_LEN].iter().all(|&b| b == 0));
/// assert_eq!(buf[2 * GSTRING_LEN - 2], b'0');
/// assert_eq!(buf[2 * GSTRING_LEN - 1], 0);
/// ```
pub struct Strings<'a> {
    buf: &'a mut [u8],
    n: usize,
}

struct Slot<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl core::fmt::Write for Slot<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        // Keep room for the NUL; truncate silently.
        let room = self.buf.len().saturating_sub(1).saturating_sub(self.len);
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

impl<'a> Strings<'a> {
    /// Names to be written into `buf` (`buf.len() / GSTRING_LEN` of them).
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, n: 0 }
    }

    /// Writes the next name (truncated to `GSTRING_LEN - 1` bytes); ignored
    /// when every slot is written.
    pub fn push(&mut self, name: core::fmt::Arguments<'_>) {
        let start = self.n * GSTRING_LEN;
        let Some(slot) = self.buf.get_mut(start..start + GSTRING_LEN) else {
            return;
        };
        slot.fill(0);
        let _ = core::fmt::write(&mut Slot { buf: slot, len: 0 }, name);
        self.n += 1;
    }

    /// Number of names written.
    pub fn written(&self) -> usize {
        self.n
    }
}

/// Ethtool operations of a network device driver (`struct ethtool_ops`).
///
/// Methods run under RTNL (see the module documentation). Unimplemented
/// optional methods leave the operation out, so the core answers
/// `EOPNOTSUPP`.
///
/// # Examples
///
/// Statistics names are written into a buffer the core sized from an
/// earlier [`EthtoolOps::stats_count`]; a driver whose count grew in the
/// meantime cannot write past it:
///
/// ```
/// use core::sync::atomic::{AtomicUsize, Ordering};
/// use kernel::bindings;
/// use kernel::c_str;
/// use kernel::net::ethtool::{EthtoolOps, OpsTable, Strings, GSTRING_LEN};
/// use kernel::net::netdev::{self, Device, Features, Params, Registration, TxResult};
/// use kernel::net::skb::TxSkb;
/// use kernel::prelude::*;
///
/// struct Growing;
/// #[vtable]
/// impl netdev::Driver for Growing {
///     type Data = AtomicUsize;
///     fn start_xmit(_dev: &Device<Self>, skb: TxSkb) -> TxResult {
///         skb.consume();
///         TxResult::Ok
///     }
/// }
/// #[vtable]
/// impl EthtoolOps for Growing {
///     // 2, then 3, 4, ...
///     fn stats_count(dev: &Device<Self>) -> usize {
///         dev.data().fetch_add(1, Ordering::Relaxed) + 2
///     }
///     fn stats_strings(dev: &Device<Self>, names: &mut Strings<'_>) {
///         for i in 0..Self::stats_count(dev) {
///             names.push(format_args!("stat{i}"));
///         }
///     }
///     fn stats(_dev: &Device<Self>, data: &mut [u64]) {
///         data.fill(7);
///     }
/// }
///
/// let params = Params {
///     name: c_str!("rsstr%d"),
///     txqs: 1,
///     rxqs: 1,
///     mac: [0x02, 0, 0, 0, 0, 6],
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
/// let reg = Registration::<Growing>::new(&params, AtomicUsize::new(0))?;
/// // Room for one more name than the core will ask for, to see overruns.
/// let mut buf = [0xffu8; 3 * GSTRING_LEN];
/// // SAFETY: The device is registered with our ops table; it is looked up
/// // and its ops are called with RTNL held, with a buffer sized from the
/// // count, as the ethtool core does.
/// let n = unsafe {
///     bindings::rtnl_lock();
///     let net = core::ptr::addr_of_mut!(bindings::init_net);
///     let raw = bindings::__dev_get_by_index(net, reg.device().ifindex());
///     let ops = &*(*raw).ethtool_ops;
///     let n = (ops.get_sset_count.unwrap())(raw, bindings::ethtool_stringset_ETH_SS_STATS as i32);
///     (ops.get_strings.unwrap())(raw, bindings::ethtool_stringset_ETH_SS_STATS, buf.as_mut_ptr());
///     bindings::rtnl_unlock();
///     n
/// };
/// assert_eq!(n, 2);
/// assert_eq!(&buf[..6], b"stat0\0");
/// assert_eq!(&buf[GSTRING_LEN..GSTRING_LEN + 6], b"stat1\0");
/// // The driver had three names by then; the third was not written.
/// assert!(buf[2 * GSTRING_LEN..].iter().all(|&b| b == 0xff));
/// # Ok::<(), Error>(())
/// ```
#[vtable]
pub trait EthtoolOps: netdev::Driver {
    /// Whether header split can be set (`ETHTOOL_RING_USE_TCP_DATA_SPLIT`).
    const TCP_DATA_SPLIT: bool = false;
    /// Length of the RSS hash key in bytes; 0 if it cannot be read or set.
    const RSS_KEY_SIZE: u32 = 0;
    /// Entries of the RSS indirection table; 0 if it cannot be read or set.
    const RSS_INDIR_SIZE: u32 = 0;
    /// Locations of the ntuple rule table (0..`NTUPLE_RULES`).
    const NTUPLE_RULES: u32 = 0;
    /// Additional RSS contexts take IDs 1..`RSS_CONTEXTS`
    /// (`rxfh_max_num_contexts`); they exist when this is above 1 and the
    /// three context methods are implemented. Each has its own table and
    /// key (`rxfh_per_ctx_key`).
    const RSS_CONTEXTS: u32 = 0;

    /// Fills driver information (`ethtool -i`).
    fn get_drvinfo(_dev: &Device<Self>, _info: &mut DrvInfo) {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Whether the link is up; by default, whether the carrier is on.
    fn get_link(dev: &Device<Self>) -> bool {
        dev.carrier_ok()
    }

    /// Reports channel counts (`ethtool -l`).
    fn get_channels(_dev: &Device<Self>) -> Channels {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Changes channel counts (`ethtool -L`); `rtnl` allows changing the
    /// number of queues in use.
    fn set_channels(_dev: &Device<Self>, _rtnl: &Rtnl, _ch: &Channels) -> Result {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports ring parameters (`ethtool -g`); fill every field.
    fn get_ringparam(_dev: &Device<Self>) -> RingParam {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Changes ring parameters (`ethtool -G`, under RTNL); `rp` is what get
    /// reported with the user's changes applied.
    fn set_ringparam(_dev: &Device<Self>, _rtnl: &Rtnl, _rp: &RingParam) -> Result {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports interrupt coalescing (`ethtool -c`). Implementing it
    /// advertises the parameters [`Coalesce`] carries.
    fn get_coalesce(_dev: &Device<Self>) -> Coalesce {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Changes interrupt coalescing (`ethtool -C`); `c` is what get
    /// reported with the user's changes applied. Refuse values the device
    /// cannot take with an error and a message in `extack`.
    fn set_coalesce(_dev: &Device<Self>, _c: &Coalesce, _extack: &ExtAck<'_>) -> Result {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Number of rx queues flow steering and RSS can use (`GRXRINGS`); by
    /// default the rx queues in use.
    fn rx_rings(dev: &Device<Self>) -> u32 {
        dev.real_num_rx_queues()
    }

    /// Reports the RSS configuration (`ethtool -x`).
    fn get_rxfh(_dev: &Device<Self>, _rss: &mut RxfhGet<'_>) -> Result {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Changes the RSS configuration (`ethtool -X`).
    fn set_rxfh(_dev: &Device<Self>, _rss: &RxfhSet<'_>) -> Result {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Creates additional RSS context `id` (`ethtool -X dev context new`).
    /// `rss` has what the user asked for (`None`: the device's choice);
    /// write the table and key the context then uses into `ctx` (the core
    /// keeps them and answers `ethtool -x dev context N` from them) and
    /// return the hash function. `extack` may be null (the ioctl path).
    fn create_rxfh_context(
        _dev: &Device<Self>,
        _id: u32,
        _rss: &RxfhSet<'_>,
        _ctx: &mut RxfhContext<'_>,
        _extack: &ExtAck<'_>,
    ) -> Result<RssHashFunc> {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Changes RSS context `id` (`None` in `rss`: no change).
    fn modify_rxfh_context(
        _dev: &Device<Self>,
        _id: u32,
        _rss: &RxfhSet<'_>,
        _extack: &ExtAck<'_>,
    ) -> Result {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Removes RSS context `id` (`ethtool -X dev context N delete`, and
    /// for every context left when the device is unregistered, where an
    /// error is ignored: the context goes anyway).
    fn remove_rxfh_context(_dev: &Device<Self>, _id: u32, _extack: &ExtAck<'_>) -> Result {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Number of ntuple rules installed (`GRXCLSRLCNT`). Implementing it
    /// turns on the other ntuple methods.
    fn rule_count(_dev: &Device<Self>) -> u32 {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// The rule at `loc` (`GRXCLSRULE`); `ENOENT` if there is none.
    fn get_rule(_dev: &Device<Self>, _loc: u32) -> Result<FlowRule> {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Lists the locations of every rule (`GRXCLSRLALL`).
    fn rule_locations(_dev: &Device<Self>, _locs: &mut RuleLocs<'_>) -> Result {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Installs `rule` (`SRXCLSRLINS`); returns its location.
    fn insert_rule(_dev: &Device<Self>, _rule: &FlowRule, _loc: RuleLocation) -> Result<u32> {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Removes the rule at `loc` (`SRXCLSRLDEL`).
    fn delete_rule(_dev: &Device<Self>, _loc: u32) -> Result {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Number of statistics (`ETH_SS_STATS`). The core sizes the buffers
    /// for the names and the values from this answer, and the adapter
    /// bounds what [`EthtoolOps::stats_strings`] and [`EthtoolOps::stats`]
    /// write by it, whatever the driver answers later.
    fn stats_count(_dev: &Device<Self>) -> usize {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Writes the statistics' names, in order.
    fn stats_strings(_dev: &Device<Self>, _names: &mut Strings<'_>) {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Writes the statistics' values, in the order of their names.
    fn stats(_dev: &Device<Self>, _data: &mut [u64]) {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }
}

/// The `ethtool_ops` of driver `T`, for [`netdev::Params::ethtool`].
///
/// # Invariants
///
/// The table's callbacks are `Adapter<T>`'s: they may only be called on
/// devices registered by a [`netdev::Registration<T>`], which is why the
/// type carries `T` and `Params` only takes the table of its own driver.
///
/// # Examples
///
/// A device with driver information and combined channels, whose ops are
/// then called as the ethtool core calls them:
///
/// ```
/// use kernel::bindings;
/// use kernel::c_str;
/// use kernel::net::ethtool::{Channels, DrvInfo, EthtoolOps, OpsTable};
/// use kernel::net::netdev::{self, Device, Features, Params, Registration, TxResult};
/// use kernel::net::rtnl::Rtnl;
/// use kernel::net::skb::TxSkb;
/// use kernel::prelude::*;
///
/// struct Chan;
/// #[vtable]
/// impl netdev::Driver for Chan {
///     type Data = ();
///     fn start_xmit(_dev: &Device<Self>, skb: TxSkb) -> TxResult {
///         skb.consume();
///         TxResult::Ok
///     }
/// }
/// #[vtable]
/// impl EthtoolOps for Chan {
///     fn get_drvinfo(_dev: &Device<Self>, info: &mut DrvInfo) {
///         info.set_driver(c_str!("chan_rs"));
///     }
///     fn get_channels(dev: &Device<Self>) -> Channels {
///         Channels { max_combined: 4, combined: dev.real_num_rx_queues(), ..Default::default() }
///     }
///     fn set_channels(dev: &Device<Self>, rtnl: &Rtnl, ch: &Channels) -> Result {
///         dev.set_real_num_queues(rtnl, ch.combined, ch.combined)
///     }
/// }
///
/// let params = Params {
///     name: c_str!("rschan%d"),
///     txqs: 4,
///     rxqs: 4,
///     mac: [0x02, 0, 0, 0, 0, 2],
///     parent: None,
///     max_mtu: 0,
///     real_queues: 1,
///     hw_features: Features::NTUPLE,
///     features: Features::EMPTY,
///     ethtool: Some(OpsTable::get()),
///     stat_ops: None,
///     tso_max: None,
///     queue_mgmt: None,
/// };
/// let reg = Registration::<Chan>::new(&params, ())?;
/// let dev = reg.device();
/// assert!(dev.hw_features().contains(Features::NTUPLE));
/// assert!(!dev.features().contains(Features::NTUPLE));
/// let mut info = DrvInfo::new();
/// // SAFETY: The device is registered with our ops table; it is looked up
/// // and its ops are called with RTNL held, with valid arguments, as the
/// // ethtool core does.
/// let (ch, set) = unsafe {
///     bindings::rtnl_lock();
///     let net = core::ptr::addr_of_mut!(bindings::init_net);
///     let raw = bindings::__dev_get_by_index(net, dev.ifindex());
///     let ops = &*(*raw).ethtool_ops;
///     assert!(ops.set_rxnfc.is_none() && ops.get_rxfh.is_none());
///     assert_eq!(ops.supported_ring_params, 0);
///     (ops.get_drvinfo.unwrap())(raw, (&mut info as *mut DrvInfo).cast());
///     let mut ch: bindings::ethtool_channels = core::mem::zeroed();
///     ch.combined_count = 3;
///     let set = (ops.set_channels.unwrap())(raw, &mut ch);
///     (ops.get_channels.unwrap())(raw, &mut ch);
///     bindings::rtnl_unlock();
///     (ch, set)
/// };
/// assert_eq!(info.driver(), b"chan_rs");
/// assert_eq!(set, 0);
/// assert_eq!((ch.max_combined, ch.combined_count, ch.max_rx), (4, 3, 0));
/// assert_eq!(dev.real_num_rx_queues(), 3);
/// # Ok::<(), Error>(())
/// ```
#[repr(transparent)]
pub struct OpsTable<T: netdev::Driver>(bindings::ethtool_ops, PhantomData<T>);

impl<T: netdev::Driver> OpsTable<T> {
    /// The raw table.
    pub(crate) fn as_raw(&'static self) -> *const bindings::ethtool_ops {
        &self.0
    }
}

impl<T: EthtoolOps> OpsTable<T> {
    const TABLE: Self = Self(Adapter::<T>::VTABLE, PhantomData);

    /// The table of `T`.
    pub const fn get() -> &'static Self {
        &Self::TABLE
    }
}

struct Adapter<T: EthtoolOps>(PhantomData<T>);

impl<T: EthtoolOps> Adapter<T> {
    const NTUPLE: bool = T::HAS_RULE_COUNT
        && T::HAS_GET_RULE
        && T::HAS_RULE_LOCATIONS
        && T::HAS_INSERT_RULE
        && T::HAS_DELETE_RULE;
    const RSS: bool = T::HAS_GET_RXFH && T::RSS_INDIR_SIZE > 0;
    const RSS_CTX: bool = Self::RSS
        && T::HAS_SET_RXFH
        && T::RSS_CONTEXTS > 1
        && T::HAS_CREATE_RXFH_CONTEXT
        && T::HAS_MODIFY_RXFH_CONTEXT
        && T::HAS_REMOVE_RXFH_CONTEXT;

    const VTABLE: bindings::ethtool_ops = bindings::ethtool_ops {
        // Bit 11 of the leading bitfields (after `supported_input_xfrm:8`,
        // `cap_link_lanes_supported`, `cap_rss_ctx_supported`,
        // `rxfh_per_ctx_fields`) is `rxfh_per_ctx_key`; the doctest of
        // `RxfhContext` reads it back through bindgen's accessor.
        _bitfield_1: bindings::__BindgenBitfieldUnit::new(if Self::RSS_CTX {
            [0, 1 << 3]
        } else {
            [0, 0]
        }),
        rxfh_max_num_contexts: if Self::RSS_CTX { T::RSS_CONTEXTS } else { 0 },
        create_rxfh_context: if Self::RSS_CTX {
            Some(Self::create_rxfh_context_callback)
        } else {
            None
        },
        modify_rxfh_context: if Self::RSS_CTX {
            Some(Self::modify_rxfh_context_callback)
        } else {
            None
        },
        remove_rxfh_context: if Self::RSS_CTX {
            Some(Self::remove_rxfh_context_callback)
        } else {
            None
        },
        supported_ring_params: if T::TCP_DATA_SPLIT {
            bindings::ethtool_supported_ring_param_ETHTOOL_RING_USE_TCP_DATA_SPLIT
        } else {
            0
        },
        get_drvinfo: if T::HAS_GET_DRVINFO {
            Some(Self::get_drvinfo_callback)
        } else {
            None
        },
        get_link: Some(Self::get_link_callback),
        get_channels: if T::HAS_GET_CHANNELS {
            Some(Self::get_channels_callback)
        } else {
            None
        },
        set_channels: if T::HAS_GET_CHANNELS && T::HAS_SET_CHANNELS {
            Some(Self::set_channels_callback)
        } else {
            None
        },
        get_ringparam: if T::HAS_GET_RINGPARAM {
            Some(Self::get_ringparam_callback)
        } else {
            None
        },
        set_ringparam: if T::HAS_GET_RINGPARAM && T::HAS_SET_RINGPARAM {
            Some(Self::set_ringparam_callback)
        } else {
            None
        },
        supported_coalesce_params: if T::HAS_GET_COALESCE {
            coalesce::SUPPORTED
        } else {
            0
        },
        get_coalesce: if T::HAS_GET_COALESCE {
            Some(Self::get_coalesce_callback)
        } else {
            None
        },
        set_coalesce: if T::HAS_GET_COALESCE && T::HAS_SET_COALESCE {
            Some(Self::set_coalesce_callback)
        } else {
            None
        },
        get_rxnfc: Some(Self::get_rxnfc_callback),
        set_rxnfc: if Self::NTUPLE {
            Some(Self::set_rxnfc_callback)
        } else {
            None
        },
        get_rxfh_key_size: if Self::RSS && T::RSS_KEY_SIZE > 0 {
            Some(Self::get_rxfh_key_size_callback)
        } else {
            None
        },
        get_rxfh_indir_size: if Self::RSS {
            Some(Self::get_rxfh_indir_size_callback)
        } else {
            None
        },
        get_rxfh: if Self::RSS {
            Some(Self::get_rxfh_callback)
        } else {
            None
        },
        set_rxfh: if Self::RSS && T::HAS_SET_RXFH {
            Some(Self::set_rxfh_callback)
        } else {
            None
        },
        get_sset_count: if T::HAS_STATS_COUNT {
            Some(Self::get_sset_count_callback)
        } else {
            None
        },
        get_strings: if T::HAS_STATS_COUNT && T::HAS_STATS_STRINGS {
            Some(Self::get_strings_callback)
        } else {
            None
        },
        get_ethtool_stats: if T::HAS_STATS_COUNT && T::HAS_STATS {
            Some(Self::get_ethtool_stats_callback)
        } else {
            None
        },
        // SAFETY: All-zero is "not supported" for the rest of the table
        // (capability bits, sizes and callbacks).
        ..unsafe { core::mem::zeroed() }
    };

    /// # Safety
    ///
    /// `dev` must be a device registered by a [`netdev::Registration<T>`].
    unsafe fn dev<'a>(dev: *mut bindings::net_device) -> &'a Device<T> {
        // SAFETY: guaranteed by the caller.
        unsafe { Device::from_raw(dev) }
    }

    /// # Safety
    ///
    /// `dev` must be a device registered by a [`netdev::Registration<T>`];
    /// `info` valid for writes.
    unsafe extern "C" fn get_drvinfo_callback(
        dev: *mut bindings::net_device,
        info: *mut bindings::ethtool_drvinfo,
    ) {
        // SAFETY: guaranteed by the caller; `DrvInfo` is transparent.
        let (dev, info) = unsafe { (Self::dev(dev), &mut *info.cast::<DrvInfo>()) };
        T::get_drvinfo(dev, info);
    }

    /// # Safety
    ///
    /// `dev` must be a device registered by a [`netdev::Registration<T>`].
    unsafe extern "C" fn get_link_callback(dev: *mut bindings::net_device) -> u32 {
        // SAFETY: guaranteed by the caller.
        T::get_link(unsafe { Self::dev(dev) }).into()
    }

    /// # Safety
    ///
    /// `dev` must be a device registered by a [`netdev::Registration<T>`];
    /// `ch` valid for writes.
    unsafe extern "C" fn get_channels_callback(
        dev: *mut bindings::net_device,
        ch: *mut bindings::ethtool_channels,
    ) {
        // SAFETY: guaranteed by the caller.
        let (dev, ch) = unsafe { (Self::dev(dev), &mut *ch) };
        T::get_channels(dev).to_raw(ch);
    }

    /// # Safety
    ///
    /// `dev` must be a device registered by a [`netdev::Registration<T>`],
    /// with RTNL held; `ch` valid for reads.
    unsafe extern "C" fn set_channels_callback(
        dev: *mut bindings::net_device,
        ch: *mut bindings::ethtool_channels,
    ) -> c_int {
        // SAFETY: guaranteed by the caller.
        let (dev, ch) = unsafe { (Self::dev(dev), &*ch) };
        // SAFETY: The core calls ethtool ops with RTNL held.
        let rtnl = unsafe { Rtnl::assume_held() };
        from_result(|| {
            T::set_channels(dev, rtnl, &Channels::from_raw(ch))?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// `dev` must be a device registered by a [`netdev::Registration<T>`];
    /// `rp` and `krp` valid for writes.
    unsafe extern "C" fn get_ringparam_callback(
        dev: *mut bindings::net_device,
        rp: *mut bindings::ethtool_ringparam,
        krp: *mut bindings::kernel_ethtool_ringparam,
        _extack: *mut bindings::netlink_ext_ack,
    ) {
        // SAFETY: guaranteed by the caller.
        let (dev, rp, krp) = unsafe { (Self::dev(dev), &mut *rp, &mut *krp) };
        T::get_ringparam(dev).to_raw(rp, krp);
    }

    /// # Safety
    ///
    /// `dev` must be a device registered by a [`netdev::Registration<T>`];
    /// `rp` and `krp` valid for reads.
    unsafe extern "C" fn set_ringparam_callback(
        dev: *mut bindings::net_device,
        rp: *mut bindings::ethtool_ringparam,
        krp: *mut bindings::kernel_ethtool_ringparam,
        _extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: guaranteed by the caller; the core calls
        // `set_ringparam` under RTNL (ioctl and netlink alike).
        let (dev, rp, krp, rtnl) = unsafe { (Self::dev(dev), &*rp, &*krp, Rtnl::assume_held()) };
        from_result(|| {
            T::set_ringparam(dev, rtnl, &RingParam::from_raw(rp, krp)?)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// `dev` must be a device registered by a [`netdev::Registration<T>`].
    unsafe extern "C" fn get_rxfh_key_size_callback(_dev: *mut bindings::net_device) -> u32 {
        T::RSS_KEY_SIZE
    }

    /// # Safety
    ///
    /// `dev` must be a device registered by a [`netdev::Registration<T>`].
    unsafe extern "C" fn get_rxfh_indir_size_callback(_dev: *mut bindings::net_device) -> u32 {
        T::RSS_INDIR_SIZE
    }

    /// # Safety
    ///
    /// `dev` must be a device registered by a [`netdev::Registration<T>`];
    /// `p` valid for reads and writes, its non-null `key`/`indir` valid for
    /// writes of [`EthtoolOps::RSS_KEY_SIZE`] bytes /
    /// [`EthtoolOps::RSS_INDIR_SIZE`] entries (what our
    /// `get_rxfh_key_size`/`get_rxfh_indir_size` report: every caller in
    /// 6.12 sizes the arrays from them).
    unsafe extern "C" fn get_rxfh_callback(
        dev: *mut bindings::net_device,
        p: *mut bindings::ethtool_rxfh_param,
    ) -> c_int {
        // SAFETY: guaranteed by the caller.
        let (dev, p) = unsafe { (Self::dev(dev), &mut *p) };
        from_result(|| {
            if p.rss_context != 0 {
                return Err(EOPNOTSUPP);
            }
            // SAFETY: The non-null arrays are valid for the sizes we
            // reported (the core allocated them from those) and only
            // accessed through the slices meanwhile.
            let (key, indir) = unsafe {
                (
                    rss::array_out(p.key, p.key_size, T::RSS_KEY_SIZE)?,
                    rss::array_out(p.indir, p.indir_size, T::RSS_INDIR_SIZE)?,
                )
            };
            let mut rss = RxfhGet {
                hfunc: RssHashFunc::Toeplitz,
                key,
                indir,
            };
            T::get_rxfh(dev, &mut rss)?;
            p.hfunc = rss.hfunc.to_raw();
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// `dev` must be a device registered by a [`netdev::Registration<T>`];
    /// `p` valid for reads, its non-null `key`/`indir` valid for reads of
    /// `key_size` bytes / `indir_size` entries.
    unsafe extern "C" fn set_rxfh_callback(
        dev: *mut bindings::net_device,
        p: *mut bindings::ethtool_rxfh_param,
        _extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: guaranteed by the caller.
        let (dev, p) = unsafe { (Self::dev(dev), &*p) };
        from_result(|| {
            if p.rss_context != 0 || p.rss_delete != 0 {
                return Err(EOPNOTSUPP);
            }
            if p.input_xfrm != 0 && u32::from(p.input_xfrm) != bindings::RXH_XFRM_NO_CHANGE {
                return Err(EOPNOTSUPP);
            }
            // SAFETY: As in `get_rxfh_callback`.
            let (key, indir) = unsafe {
                (
                    rss::array(p.key, p.key_size, T::RSS_KEY_SIZE)?,
                    rss::array(p.indir, p.indir_size, T::RSS_INDIR_SIZE)?,
                )
            };
            let rss = RxfhSet {
                hfunc: RssHashFunc::from_raw(p.hfunc),
                key: key.map(|k| &*k),
                indir: indir.map(|i| &*i),
            };
            T::set_rxfh(dev, &rss)?;
            Ok(0)
        })
    }

    /// The change a context request asks for, as [`RxfhSet`].
    ///
    /// # Safety
    ///
    /// `p`'s non-null `key`/`indir` must be valid for reads of `key_size`
    /// bytes / `indir_size` entries for `'a`.
    unsafe fn rxfh_set<'a>(p: &'a bindings::ethtool_rxfh_param) -> Result<RxfhSet<'a>> {
        if p.input_xfrm != 0 && u32::from(p.input_xfrm) != bindings::RXH_XFRM_NO_CHANGE {
            return Err(EOPNOTSUPP);
        }
        // SAFETY: guaranteed by the caller; the core passes arrays of the
        // sizes we reported (anything else is refused).
        let (key, indir) = unsafe {
            (
                rss::array(p.key, p.key_size, T::RSS_KEY_SIZE)?,
                rss::array(p.indir, p.indir_size, T::RSS_INDIR_SIZE)?,
            )
        };
        Ok(RxfhSet {
            hfunc: RssHashFunc::from_raw(p.hfunc),
            key: key.map(|k| &*k),
            indir: indir.map(|i| &*i),
        })
    }

    /// # Safety
    ///
    /// `dev` must be a device registered by a [`netdev::Registration<T>`];
    /// `ctx` a context the core allocated for it with our sizes, `p` valid
    /// for reads with arrays as in `set_rxfh_callback`, `extack` null or
    /// valid; all of them ours for the call (the core holds RTNL and the
    /// device's `rss_lock`).
    unsafe extern "C" fn create_rxfh_context_callback(
        dev: *mut bindings::net_device,
        ctx: *mut bindings::ethtool_rxfh_context,
        p: *const bindings::ethtool_rxfh_param,
        extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: guaranteed by the caller.
        let (dev, p, extack) = unsafe { (Self::dev(dev), &*p, ExtAck::from_raw(extack)) };
        from_result(|| {
            let ctx = core::ptr::NonNull::new(ctx).ok_or(EINVAL)?;
            // SAFETY: guaranteed by the caller.
            let rss = unsafe { Self::rxfh_set(p)? };
            // SAFETY: `ctx` was allocated by the core with the sizes our
            // `get_rxfh_key_size`/`get_rxfh_indir_size` report, and is
            // ours for the call (caller).
            let mut c = unsafe { RxfhContext::from_raw(ctx) };
            let hfunc = T::create_rxfh_context(dev, p.rss_context, &rss, &mut c, &extack)?;
            // The core WARNs about a context created without a key; refuse
            // it instead (it then frees the context).
            if rss.key.is_none() && c.key_mut().iter().all(|&b| b == 0) {
                extack.set_msg(crate::c_str!("driver left the RSS context without a key"));
                return Err(EINVAL);
            }
            c.set_hfunc(hfunc);
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// As for `create_rxfh_context_callback`.
    unsafe extern "C" fn modify_rxfh_context_callback(
        dev: *mut bindings::net_device,
        _ctx: *mut bindings::ethtool_rxfh_context,
        p: *const bindings::ethtool_rxfh_param,
        extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: guaranteed by the caller.
        let (dev, p, extack) = unsafe { (Self::dev(dev), &*p, ExtAck::from_raw(extack)) };
        from_result(|| {
            // SAFETY: guaranteed by the caller.
            let rss = unsafe { Self::rxfh_set(p)? };
            T::modify_rxfh_context(dev, p.rss_context, &rss, &extack)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// `dev` must be a device registered by a [`netdev::Registration<T>`];
    /// `extack` null or valid for the call.
    unsafe extern "C" fn remove_rxfh_context_callback(
        dev: *mut bindings::net_device,
        _ctx: *mut bindings::ethtool_rxfh_context,
        rss_context: u32,
        extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: guaranteed by the caller.
        let (dev, extack) = unsafe { (Self::dev(dev), ExtAck::from_raw(extack)) };
        from_result(|| {
            T::remove_rxfh_context(dev, rss_context, &extack)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// `dev` must be a device registered by a [`netdev::Registration<T>`];
    /// `info` valid for reads and writes; for `ETHTOOL_GRXCLSRLALL`,
    /// `rule_locs` null or valid for writes of `info->rule_cnt` entries.
    unsafe extern "C" fn get_rxnfc_callback(
        dev: *mut bindings::net_device,
        info: *mut bindings::ethtool_rxnfc,
        rule_locs: *mut u32,
    ) -> c_int {
        // SAFETY: guaranteed by the caller.
        let (dev, info) = unsafe { (Self::dev(dev), &mut *info) };
        from_result(|| {
            match info.cmd {
                bindings::ETHTOOL_GRXRINGS => info.data = T::rx_rings(dev).into(),
                bindings::ETHTOOL_GRXCLSRLCNT if Self::NTUPLE => {
                    info.__bindgen_anon_1.rule_cnt = T::rule_count(dev);
                    info.data = u64::from(T::NTUPLE_RULES | bindings::RX_CLS_LOC_SPECIAL);
                }
                bindings::ETHTOOL_GRXCLSRULE if Self::NTUPLE => {
                    let loc = info.fs.location;
                    if loc >= T::NTUPLE_RULES {
                        return Err(EINVAL);
                    }
                    let rule = T::get_rule(dev, loc)?;
                    info.fs = rule.to_raw(loc);
                    info.__bindgen_anon_1.rss_context = rule.rss_context();
                }
                bindings::ETHTOOL_GRXCLSRLALL if Self::NTUPLE => {
                    // SAFETY: Reading a `u32` member of a union of `u32`s.
                    let cap = unsafe { info.__bindgen_anon_1.rule_cnt } as usize;
                    let buf: &mut [u32] = if rule_locs.is_null() {
                        &mut []
                    } else {
                        // SAFETY: `rule_locs` is valid for `rule_cnt`
                        // entries (caller) and only accessed through `buf`.
                        unsafe { core::slice::from_raw_parts_mut(rule_locs, cap) }
                    };
                    let mut locs = RuleLocs::new(buf);
                    T::rule_locations(dev, &mut locs)?;
                    info.__bindgen_anon_1.rule_cnt = locs.as_slice().len() as u32;
                    info.data = T::NTUPLE_RULES.into();
                }
                _ => return Err(EOPNOTSUPP),
            }
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// `dev` must be a device registered by a [`netdev::Registration<T>`];
    /// `info` valid for reads and writes.
    unsafe extern "C" fn set_rxnfc_callback(
        dev: *mut bindings::net_device,
        info: *mut bindings::ethtool_rxnfc,
    ) -> c_int {
        // SAFETY: guaranteed by the caller.
        let (dev, info) = unsafe { (Self::dev(dev), &mut *info) };
        from_result(|| {
            match info.cmd {
                bindings::ETHTOOL_SRXCLSRLINS => {
                    // SAFETY: Reading a `u32` member of a union of `u32`s.
                    let rule =
                        FlowRule::from_raw(&info.fs, unsafe { info.__bindgen_anon_1.rss_context })?;
                    let loc = match info.fs.location {
                        bindings::RX_CLS_LOC_ANY => RuleLocation::Any,
                        l if l & bindings::RX_CLS_LOC_SPECIAL != 0 => return Err(EINVAL),
                        l if l >= T::NTUPLE_RULES => return Err(EINVAL),
                        l => RuleLocation::At(l),
                    };
                    let at = T::insert_rule(dev, &rule, loc)?;
                    info.fs.location = at;
                }
                bindings::ETHTOOL_SRXCLSRLDEL => {
                    if info.fs.location >= T::NTUPLE_RULES {
                        return Err(EINVAL);
                    }
                    T::delete_rule(dev, info.fs.location)?;
                }
                _ => return Err(EOPNOTSUPP),
            }
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// `dev` must be a device registered by a [`netdev::Registration<T>`].
    unsafe extern "C" fn get_sset_count_callback(
        dev: *mut bindings::net_device,
        sset: c_int,
    ) -> c_int {
        // SAFETY: guaranteed by the caller.
        let dev = unsafe { Self::dev(dev) };
        if sset as u32 != bindings::ethtool_stringset_ETH_SS_STATS {
            return EOPNOTSUPP.to_errno();
        }
        let n = T::stats_count(dev).min(MAX_STATS);
        // The core sizes the buffer of `get_strings` from this answer.
        dev.private().stats_count.store(n, Ordering::Relaxed);
        n as c_int
    }

    /// # Safety
    ///
    /// `dev` must be a device registered by a [`netdev::Registration<T>`];
    /// `data` valid for writes of as many `ETH_GSTRING_LEN`-byte names as
    /// `get_sset_count_callback` last reported for `sset`.
    unsafe extern "C" fn get_strings_callback(
        dev: *mut bindings::net_device,
        sset: u32,
        data: *mut u8,
    ) {
        // SAFETY: guaranteed by the caller.
        let dev = unsafe { Self::dev(dev) };
        if sset != bindings::ethtool_stringset_ETH_SS_STATS || data.is_null() {
            return;
        }
        // Not what the driver says now: what the core sized `data` from.
        // Every caller (the `ETHTOOL_GSTRINGS` ioctl, the netlink string
        // sets) asks for the count and the strings in one RTNL section, so
        // no other count was reported in between.
        let n = dev.private().stats_count.load(Ordering::Relaxed);
        // SAFETY: `data` has room for `n` names (caller), `n` being at most
        // `MAX_STATS`, so the product does not overflow.
        let buf = unsafe { core::slice::from_raw_parts_mut(data, n * GSTRING_LEN) };
        T::stats_strings(dev, &mut Strings::new(buf));
    }

    /// # Safety
    ///
    /// `dev` must be a device registered by a [`netdev::Registration<T>`];
    /// `stats` valid for reads, `data` valid for writes of
    /// `stats->n_stats` values.
    unsafe extern "C" fn get_ethtool_stats_callback(
        dev: *mut bindings::net_device,
        stats: *mut bindings::ethtool_stats,
        data: *mut u64,
    ) {
        // SAFETY: guaranteed by the caller.
        let (dev, n) = unsafe { (Self::dev(dev), (*stats).n_stats as usize) };
        if data.is_null() {
            return;
        }
        // SAFETY: `data` has room for `n_stats` values (caller).
        let data = unsafe { core::slice::from_raw_parts_mut(data, n) };
        T::stats(dev, data);
    }
}
