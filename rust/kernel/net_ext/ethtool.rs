// SPDX-License-Identifier: GPL-2.0

//! Ethtool operations of network devices.
//!
//! C header: [`include/linux/ethtool.h`](srctree/include/linux/ethtool.h)
//!
//! A driver implements [`EthtoolOps`] on its [`netdev::Driver`] type and
//! hands [`OpsTable::<T>::get()`] to [`netdev::Params::ethtool`]; the core
//! then calls the trait's methods for `ethtool -i/-l/-L/-g/-G/-x/-X/-n/-N/-S`.
//! Every method runs in process context with the RTNL lock held (the ioctl
//! path takes it around `__dev_ethtool`, the netlink handlers around their
//! `prepare`/`set` calls), so methods of one device never run concurrently.
//!
//! Fixed sizes (RSS key and table, ntuple table) are associated constants
//! rather than methods: the adapter then knows the length of every array
//! the core allocated from them and hands the driver plain slices.

use crate::bindings;
use crate::error::{code::*, from_result, Result};
use crate::net_ext::netdev::{self, Device, Rtnl};
use crate::prelude::*;
use core::ffi::c_int;
use core::marker::PhantomData;

/// Length of one statistics name, including the terminating NUL
/// (`ETH_GSTRING_LEN`).
pub const GSTRING_LEN: usize = bindings::ETH_GSTRING_LEN as usize;

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

/// An RSS hash function (`ETH_RSS_HASH_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RssHashFunc {
    /// Toeplitz.
    Toeplitz,
    /// XOR.
    Xor,
    /// CRC32.
    Crc32,
    /// Another function (its `ETH_RSS_HASH_*` bit mask).
    Other(u8),
}

impl RssHashFunc {
    fn from_raw(v: u8) -> Option<Self> {
        match v {
            0 => None,
            v if v == 1 << bindings::ETH_RSS_HASH_TOP_BIT => Some(Self::Toeplitz),
            v if v == 1 << bindings::ETH_RSS_HASH_XOR_BIT => Some(Self::Xor),
            v if v == 1 << bindings::ETH_RSS_HASH_CRC32_BIT => Some(Self::Crc32),
            v => Some(Self::Other(v)),
        }
    }

    fn to_raw(self) -> u8 {
        match self {
            Self::Toeplitz => 1 << bindings::ETH_RSS_HASH_TOP_BIT,
            Self::Xor => 1 << bindings::ETH_RSS_HASH_XOR_BIT,
            Self::Crc32 => 1 << bindings::ETH_RSS_HASH_CRC32_BIT,
            Self::Other(v) => v,
        }
    }
}

/// What [`EthtoolOps::get_rxfh`] reports: the driver sets `hfunc` and
/// fills the arrays the core asked for (each exactly
/// [`EthtoolOps::RSS_KEY_SIZE`] / [`EthtoolOps::RSS_INDIR_SIZE`] long).
pub struct RxfhGet<'a> {
    /// The hash function in use.
    pub hfunc: RssHashFunc,
    /// The hash key, if asked for.
    pub key: Option<&'a mut [u8]>,
    /// The indirection table, if asked for.
    pub indir: Option<&'a mut [u32]>,
}

/// An RSS change for [`EthtoolOps::set_rxfh`]; `None` means no change.
///
/// The core has checked that `indir` (exactly
/// [`EthtoolOps::RSS_INDIR_SIZE`] entries) names only queues below the
/// [`EthtoolOps::rx_rings`] count, and filled it with the default spread
/// when the user asked for a reset; `key` is exactly
/// [`EthtoolOps::RSS_KEY_SIZE`] bytes.
pub struct RxfhSet<'a> {
    /// New hash function.
    pub hfunc: Option<RssHashFunc>,
    /// New hash key.
    pub key: Option<&'a [u8]>,
    /// New indirection table.
    pub indir: Option<&'a [u32]>,
}

/// Flow types of ntuple rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowType {
    /// TCP over IPv4 (`TCP_V4_FLOW`).
    Tcp4,
    /// UDP over IPv4 (`UDP_V4_FLOW`).
    Udp4,
    /// TCP over IPv6 (`TCP_V6_FLOW`).
    Tcp6,
    /// UDP over IPv6 (`UDP_V6_FLOW`).
    Udp6,
}

impl FlowType {
    /// Whether the flow is over IPv6.
    pub fn is_ipv6(self) -> bool {
        matches!(self, Self::Tcp6 | Self::Udp6)
    }

    /// The IP protocol number (`IPPROTO_TCP` or `IPPROTO_UDP`).
    pub fn ip_proto(self) -> u8 {
        match self {
            Self::Tcp4 | Self::Tcp6 => 6,
            Self::Udp4 | Self::Udp6 => 17,
        }
    }

    fn to_raw(self) -> u32 {
        match self {
            Self::Tcp4 => bindings::TCP_V4_FLOW,
            Self::Udp4 => bindings::UDP_V4_FLOW,
            Self::Tcp6 => bindings::TCP_V6_FLOW,
            Self::Udp6 => bindings::UDP_V6_FLOW,
        }
    }
}

/// An ntuple match. A set mask bit means "compare this bit"; a zero mask
/// matches anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowSpec {
    /// Protocols matched.
    pub flow_type: FlowType,
    /// Source address in network order (IPv4: the first 4 bytes).
    pub src: [u8; 16],
    /// Source address mask.
    pub src_mask: [u8; 16],
    /// Destination address in network order (IPv4: the first 4 bytes).
    pub dst: [u8; 16],
    /// Destination address mask.
    pub dst_mask: [u8; 16],
    /// Source port (host order).
    pub sport: u16,
    /// Source port mask.
    pub sport_mask: u16,
    /// Destination port (host order).
    pub dport: u16,
    /// Destination port mask.
    pub dport_mask: u16,
}

impl FlowSpec {
    /// A spec matching every packet of `flow_type`.
    pub fn any(flow_type: FlowType) -> Self {
        Self {
            flow_type,
            src: [0; 16],
            src_mask: [0; 16],
            dst: [0; 16],
            dst_mask: [0; 16],
            sport: 0,
            sport_mask: 0,
            dport: 0,
            dport_mask: 0,
        }
    }
}

/// What a matching packet does (`ring_cookie`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RxAction {
    /// Go to this rx queue.
    Queue(u32),
    /// Be dropped (`RX_CLS_FLOW_DISC`).
    Drop,
}

/// An ntuple (flow steering) rule.
///
/// # Examples
///
/// A rule from `ethtool -N eth0 flow-type tcp4 dst-ip 192.0.2.2 dst-port
/// 5201 action 2` and back:
///
/// ```
/// use kernel::net_ext::ethtool::{FlowRule, FlowSpec, FlowType, RxAction};
///
/// let mut spec = FlowSpec::any(FlowType::Tcp4);
/// spec.dst[..4].copy_from_slice(&[192, 0, 2, 2]);
/// spec.dst_mask[..4].copy_from_slice(&[0xff; 4]);
/// spec.dport = 5201;
/// spec.dport_mask = 0xffff;
/// let rule = FlowRule { spec, action: RxAction::Queue(2) };
///
/// let raw = rule.to_raw(7);
/// assert_eq!(raw.flow_type, kernel::bindings::TCP_V4_FLOW);
/// assert_eq!(raw.ring_cookie, 2);
/// assert_eq!(raw.location, 7);
/// // SAFETY: `to_raw` wrote the TCP/IPv4 member of the union.
/// let h = unsafe { raw.h_u.tcp_ip4_spec };
/// assert_eq!(h.pdst.to_ne_bytes(), [0x14, 0x51]); // 5201, big endian
/// assert_eq!(h.ip4dst.to_ne_bytes(), [192, 0, 2, 2]);
/// assert_eq!(FlowRule::from_raw(&raw)?, rule);
///
/// // Flow types other than TCP/UDP over IPv4/IPv6 are not supported.
/// let mut sctp = raw;
/// sctp.flow_type = kernel::bindings::SCTP_V4_FLOW;
/// assert_eq!(FlowRule::from_raw(&sctp), Err(EOPNOTSUPP));
/// // Neither is matching on the TOS byte.
/// let mut tos = raw;
/// tos.m_u.tcp_ip4_spec.tos = 0xff;
/// assert_eq!(FlowRule::from_raw(&tos), Err(EOPNOTSUPP));
/// // Dropping is an action of its own.
/// let mut disc = raw;
/// disc.ring_cookie = u64::MAX;
/// assert_eq!(FlowRule::from_raw(&disc)?.action, RxAction::Drop);
/// # Ok::<(), Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowRule {
    /// What the rule matches.
    pub spec: FlowSpec,
    /// What a matching packet does.
    pub action: RxAction,
}

impl FlowRule {
    /// Reads a rule from the C flow spec (`struct ethtool_rx_flow_spec`).
    ///
    /// Fails with `EOPNOTSUPP` for what [`FlowRule`] cannot express: flow
    /// types other than TCP/UDP over IPv4/IPv6, RSS contexts, matches on
    /// TOS/traffic class or on the extension fields (VLAN, MAC, user
    /// data), wake-on-LAN and virtual-function actions.
    pub fn from_raw(fs: &bindings::ethtool_rx_flow_spec) -> Result<Self> {
        let flags = bindings::FLOW_EXT | bindings::FLOW_MAC_EXT | bindings::FLOW_RSS;
        if fs.flow_type & bindings::FLOW_RSS != 0 {
            return Err(EOPNOTSUPP);
        }
        if fs.flow_type & (bindings::FLOW_EXT | bindings::FLOW_MAC_EXT) != 0 {
            let m = &fs.m_ext;
            if m.h_dest.iter().any(|&b| b != 0)
                || m.vlan_etype != 0
                || m.vlan_tci != 0
                || m.data.iter().any(|&d| d != 0)
            {
                return Err(EOPNOTSUPP);
            }
        }
        let flow_type = match fs.flow_type & !flags {
            bindings::TCP_V4_FLOW => FlowType::Tcp4,
            bindings::UDP_V4_FLOW => FlowType::Udp4,
            bindings::TCP_V6_FLOW => FlowType::Tcp6,
            bindings::UDP_V6_FLOW => FlowType::Udp6,
            _ => return Err(EOPNOTSUPP),
        };
        let mut spec = FlowSpec::any(flow_type);
        if flow_type.is_ipv6() {
            // SAFETY: Every member of the union is plain old data, so any
            // bit pattern is a valid `ethtool_tcpip6_spec`; the TCP and UDP
            // members are the same type.
            let (h, m) = unsafe { (fs.h_u.tcp_ip6_spec, fs.m_u.tcp_ip6_spec) };
            if m.tclass != 0 {
                return Err(EOPNOTSUPP);
            }
            for i in 0..4 {
                spec.src[4 * i..4 * i + 4].copy_from_slice(&h.ip6src[i].to_ne_bytes());
                spec.src_mask[4 * i..4 * i + 4].copy_from_slice(&m.ip6src[i].to_ne_bytes());
                spec.dst[4 * i..4 * i + 4].copy_from_slice(&h.ip6dst[i].to_ne_bytes());
                spec.dst_mask[4 * i..4 * i + 4].copy_from_slice(&m.ip6dst[i].to_ne_bytes());
            }
            (spec.sport, spec.sport_mask) = (u16::from_be(h.psrc), u16::from_be(m.psrc));
            (spec.dport, spec.dport_mask) = (u16::from_be(h.pdst), u16::from_be(m.pdst));
        } else {
            // SAFETY: As above, for `ethtool_tcpip4_spec`.
            let (h, m) = unsafe { (fs.h_u.tcp_ip4_spec, fs.m_u.tcp_ip4_spec) };
            if m.tos != 0 {
                return Err(EOPNOTSUPP);
            }
            spec.src[..4].copy_from_slice(&h.ip4src.to_ne_bytes());
            spec.src_mask[..4].copy_from_slice(&m.ip4src.to_ne_bytes());
            spec.dst[..4].copy_from_slice(&h.ip4dst.to_ne_bytes());
            spec.dst_mask[..4].copy_from_slice(&m.ip4dst.to_ne_bytes());
            (spec.sport, spec.sport_mask) = (u16::from_be(h.psrc), u16::from_be(m.psrc));
            (spec.dport, spec.dport_mask) = (u16::from_be(h.pdst), u16::from_be(m.pdst));
        }
        let action = if fs.ring_cookie == bindings::RX_CLS_FLOW_DISC as u64 {
            RxAction::Drop
        } else if fs.ring_cookie == bindings::RX_CLS_FLOW_WAKE as u64
            || fs.ring_cookie & bindings::ETHTOOL_RX_FLOW_SPEC_RING_VF != 0
        {
            return Err(EOPNOTSUPP);
        } else {
            RxAction::Queue(
                (fs.ring_cookie & u64::from(bindings::ETHTOOL_RX_FLOW_SPEC_RING)) as u32,
            )
        };
        Ok(Self { spec, action })
    }

    /// The C flow spec of this rule at `location`.
    pub fn to_raw(&self, location: u32) -> bindings::ethtool_rx_flow_spec {
        // SAFETY: `ethtool_rx_flow_spec` is plain old data; all-zero is
        // valid (and means "match anything").
        let mut fs: bindings::ethtool_rx_flow_spec = unsafe { core::mem::zeroed() };
        let s = &self.spec;
        fs.flow_type = s.flow_type.to_raw();
        let word = |a: &[u8; 16], i: usize| {
            u32::from_ne_bytes([a[4 * i], a[4 * i + 1], a[4 * i + 2], a[4 * i + 3]])
        };
        if s.flow_type.is_ipv6() {
            let mut h = bindings::ethtool_tcpip6_spec {
                psrc: s.sport.to_be(),
                pdst: s.dport.to_be(),
                ..Default::default()
            };
            let mut m = bindings::ethtool_tcpip6_spec {
                psrc: s.sport_mask.to_be(),
                pdst: s.dport_mask.to_be(),
                ..Default::default()
            };
            for i in 0..4 {
                h.ip6src[i] = word(&s.src, i);
                h.ip6dst[i] = word(&s.dst, i);
                m.ip6src[i] = word(&s.src_mask, i);
                m.ip6dst[i] = word(&s.dst_mask, i);
            }
            (fs.h_u.tcp_ip6_spec, fs.m_u.tcp_ip6_spec) = (h, m);
        } else {
            fs.h_u.tcp_ip4_spec = bindings::ethtool_tcpip4_spec {
                ip4src: word(&s.src, 0),
                ip4dst: word(&s.dst, 0),
                psrc: s.sport.to_be(),
                pdst: s.dport.to_be(),
                tos: 0,
            };
            fs.m_u.tcp_ip4_spec = bindings::ethtool_tcpip4_spec {
                ip4src: word(&s.src_mask, 0),
                ip4dst: word(&s.dst_mask, 0),
                psrc: s.sport_mask.to_be(),
                pdst: s.dport_mask.to_be(),
                tos: 0,
            };
        }
        fs.ring_cookie = match self.action {
            RxAction::Queue(q) => q.into(),
            RxAction::Drop => bindings::RX_CLS_FLOW_DISC as u64,
        };
        fs.location = location;
        fs
    }
}

/// Where [`EthtoolOps::insert_rule`] puts a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleLocation {
    /// At this location (below [`EthtoolOps::NTUPLE_RULES`]), replacing
    /// a rule there.
    At(u32),
    /// At any free location the driver picks (`RX_CLS_LOC_ANY`).
    Any,
}

/// The rule locations [`EthtoolOps::rule_locations`] reports, in a buffer
/// the core sized from [`EthtoolOps::rule_count`].
pub struct RuleLocs<'a> {
    buf: &'a mut [u32],
    n: usize,
}

impl<'a> RuleLocs<'a> {
    /// Locations to be written into `buf`.
    pub fn new(buf: &'a mut [u32]) -> Self {
        Self { buf, n: 0 }
    }

    /// Adds a location; `EMSGSIZE` when the buffer is full (the rule
    /// count changed since the core asked for it).
    pub fn push(&mut self, loc: u32) -> Result {
        *self.buf.get_mut(self.n).ok_or(EMSGSIZE)? = loc;
        self.n += 1;
        Ok(())
    }

    /// The locations added so far.
    pub fn as_slice(&self) -> &[u32] {
        &self.buf[..self.n]
    }
}

/// Statistics names being written for [`EthtoolOps::stats_strings`]: one
/// [`GSTRING_LEN`]-byte, NUL-terminated slot each.
///
/// # Examples
///
/// ```
/// use kernel::net_ext::ethtool::{Strings, GSTRING_LEN};
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

    /// Number of statistics (`ETH_SS_STATS`). It must not change while
    /// RTNL is held: the core sizes the names and values from it.
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
/// use kernel::net_ext::ethtool::{Channels, DrvInfo, EthtoolOps, OpsTable};
/// use kernel::net_ext::netdev::{self, Device, Features, Params, Registration, Rtnl};
/// use kernel::net_ext::netdev::{SkBuff, TxResult};
/// use kernel::prelude::*;
///
/// struct Chan;
/// #[vtable]
/// impl netdev::Driver for Chan {
///     type Data = ();
///     fn start_xmit(_dev: &Device<Self>, skb: SkBuff) -> TxResult {
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
///     queue_mgmt: None,
/// };
/// let reg = Registration::<Chan>::new(&params, KBox::pin((), GFP_KERNEL)?)?;
/// let dev = reg.device();
/// assert!(dev.hw_features().contains(Features::NTUPLE));
/// assert!(!dev.features().contains(Features::NTUPLE));
/// let raw = dev.as_ptr();
/// let mut info = DrvInfo::new();
/// // SAFETY: `raw` is registered with our ops table; the ops are called
/// // with RTNL held, with valid arguments, as the ethtool core does.
/// let (ch, set) = unsafe {
///     let ops = &*(*raw).ethtool_ops;
///     assert!(ops.set_rxnfc.is_none() && ops.get_rxfh.is_none());
///     assert_eq!(ops.supported_ring_params, 0);
///     bindings::rtnl_lock();
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

    const VTABLE: bindings::ethtool_ops = bindings::ethtool_ops {
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
            // The core sizes the arrays from our sizes. On GET the size
            // fields are outputs: `ethtool_get_max_rxfh_channel()` (before
            // `ethtool -L`) passes a table of our size with `indir_size` 0.
            // A size that is set must be ours.
            let key = if p.key.is_null() {
                None
            } else if p.key_size != 0 && p.key_size != T::RSS_KEY_SIZE {
                return Err(EINVAL);
            } else {
                // SAFETY: `key` is valid for `RSS_KEY_SIZE` bytes (caller)
                // and not otherwise accessed while the slice lives.
                Some(unsafe { core::slice::from_raw_parts_mut(p.key, T::RSS_KEY_SIZE as usize) })
            };
            let indir = if p.indir.is_null() {
                None
            } else if p.indir_size != 0 && p.indir_size != T::RSS_INDIR_SIZE {
                return Err(EINVAL);
            } else {
                // SAFETY: As above, `RSS_INDIR_SIZE` entries.
                Some(unsafe {
                    core::slice::from_raw_parts_mut(p.indir, T::RSS_INDIR_SIZE as usize)
                })
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
            let key = if p.key.is_null() {
                None
            } else if p.key_size != T::RSS_KEY_SIZE {
                return Err(EINVAL);
            } else {
                // SAFETY: `key` is valid for `key_size` bytes (caller).
                Some(unsafe { core::slice::from_raw_parts(p.key, p.key_size as usize) })
            };
            let indir = if p.indir.is_null() {
                None
            } else if p.indir_size != T::RSS_INDIR_SIZE {
                return Err(EINVAL);
            } else {
                // SAFETY: `indir` is valid for `indir_size` entries (caller).
                Some(unsafe { core::slice::from_raw_parts(p.indir, p.indir_size as usize) })
            };
            let rss = RxfhSet {
                hfunc: RssHashFunc::from_raw(p.hfunc),
                key,
                indir,
            };
            T::set_rxfh(dev, &rss)?;
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
                    info.fs = T::get_rule(dev, loc)?.to_raw(loc);
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
                    let rule = FlowRule::from_raw(&info.fs)?;
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
        T::stats_count(dev).try_into().unwrap_or(c_int::MAX)
    }

    /// # Safety
    ///
    /// `dev` must be a device registered by a [`netdev::Registration<T>`],
    /// with RTNL held since `get_sset_count` sized `data`; `data` valid for
    /// writes of that many `ETH_GSTRING_LEN`-byte names.
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
        let n = T::stats_count(dev);
        // SAFETY: The core sized `data` from `stats_count` under the RTNL
        // hold we are still in, so it has room for `n` names (caller).
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
