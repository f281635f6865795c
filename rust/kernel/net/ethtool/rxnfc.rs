// SPDX-License-Identifier: GPL-2.0

//! Flow steering (ntuple) rules (`ethtool -n/-N/-U`,
//! `struct ethtool_rx_flow_spec`).
//!
//! C header: [`include/uapi/linux/ethtool.h`](srctree/include/uapi/linux/ethtool.h)

use crate::bindings;
use crate::error::{code::*, Result};

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

    /// The flow type of IP protocol `proto` over IPv6 or IPv4; `None` but
    /// for TCP and UDP.
    pub fn from_ip(ipv6: bool, proto: u8) -> Option<Self> {
        match (ipv6, proto) {
            (false, 6) => Some(Self::Tcp4),
            (false, 17) => Some(Self::Udp4),
            (true, 6) => Some(Self::Tcp6),
            (true, 17) => Some(Self::Udp6),
            _ => None,
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

/// The addresses and ports of a TCP or UDP flow (with its [`FlowType`],
/// the 5-tuple), or a mask over them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowTuple {
    /// Source address in network order (IPv4: the first 4 bytes).
    pub src: [u8; 16],
    /// Destination address in network order (IPv4: the first 4 bytes).
    pub dst: [u8; 16],
    /// Source port (host order).
    pub sport: u16,
    /// Destination port (host order).
    pub dport: u16,
}

/// An ntuple match: flows of `flow_type` whose tuple equals `value` in the
/// bits set in `mask` (a zero mask matches anything).
///
/// # Examples
///
/// ```
/// use kernel::net::ethtool::{FlowSpec, FlowTuple, FlowType};
///
/// let mut spec = FlowSpec::any(FlowType::Tcp4);
/// spec.value.dport = 5201;
/// spec.mask.dport = 0xffff;
/// let mut flow = FlowTuple { sport: 40000, dport: 5201, ..Default::default() };
/// assert!(spec.matches(FlowType::Tcp4, &flow));
/// assert!(!spec.matches(FlowType::Udp4, &flow));
/// flow.dport = 5202;
/// assert!(!spec.matches(FlowType::Tcp4, &flow));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowSpec {
    /// Protocols matched.
    pub flow_type: FlowType,
    /// The values compared.
    pub value: FlowTuple,
    /// Which bits of `value` are compared.
    pub mask: FlowTuple,
}

impl FlowSpec {
    /// A spec matching every packet of `flow_type`.
    pub fn any(flow_type: FlowType) -> Self {
        Self {
            flow_type,
            value: FlowTuple::default(),
            mask: FlowTuple::default(),
        }
    }

    /// Whether a flow of `flow_type` with `tuple` matches.
    pub fn matches(&self, flow_type: FlowType, tuple: &FlowTuple) -> bool {
        let (v, m) = (&self.value, &self.mask);
        let bytes_eq = |a: &[u8; 16], b: &[u8; 16], m: &[u8; 16]| {
            a.iter().zip(b).zip(m).all(|((a, b), m)| a & m == b & m)
        };
        self.flow_type == flow_type
            && bytes_eq(&v.src, &tuple.src, &m.src)
            && bytes_eq(&v.dst, &tuple.dst, &m.dst)
            && v.sport & m.sport == tuple.sport & m.sport
            && v.dport & m.dport == tuple.dport & m.dport
    }
}

/// What a matching packet does (`ring_cookie`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RxAction {
    /// Go to this rx queue.
    Queue(u32),
    /// Be dropped (`RX_CLS_FLOW_DISC`).
    Drop,
    /// Go where the indirection table of this additional RSS context
    /// sends it (`FLOW_RSS`, `ethtool -N ... context N`).
    Context(u32),
}

/// An ntuple (flow steering) rule.
///
/// # Examples
///
/// A driver with one rule location, given the rule of `ethtool -N eth0
/// flow-type tcp4 dst-ip 192.0.2.2 dst-port 5201 action 2` as the ethtool
/// core gives it (`ETHTOOL_SRXCLSRLINS`), then asked for it back:
///
/// ```
/// use kernel::bindings;
/// use kernel::c_str;
/// use kernel::net::ethtool::{EthtoolOps, FlowRule, FlowSpec, FlowType, OpsTable};
/// use kernel::net::ethtool::{RuleLocation, RuleLocs, RxAction};
/// use kernel::net::netdev::{self, Device, Features, Params, Registration, TxResult};
/// use kernel::net::skb::TxSkb;
/// use kernel::new_mutex;
/// use kernel::prelude::*;
/// use kernel::sync::Mutex;
///
/// #[pin_data]
/// struct Rules {
///     #[pin]
///     rule: Mutex<Option<FlowRule>>,
/// }
///
/// struct OneRule;
/// #[vtable]
/// impl netdev::Driver for OneRule {
///     type Data = Rules;
///     fn start_xmit(_dev: &Device<Self>, skb: TxSkb) -> TxResult {
///         skb.consume();
///         TxResult::Ok
///     }
/// }
/// #[vtable]
/// impl EthtoolOps for OneRule {
///     const NTUPLE_RULES: u32 = 1;
///     fn rule_count(dev: &Device<Self>) -> u32 {
///         dev.data().rule.lock().is_some().into()
///     }
///     fn get_rule(dev: &Device<Self>, _loc: u32) -> Result<FlowRule> {
///         dev.data().rule.lock().ok_or(ENOENT)
///     }
///     fn rule_locations(dev: &Device<Self>, locs: &mut RuleLocs<'_>) -> Result {
///         if dev.data().rule.lock().is_some() {
///             locs.push(0)?;
///         }
///         Ok(())
///     }
///     fn insert_rule(dev: &Device<Self>, rule: &FlowRule, _loc: RuleLocation) -> Result<u32> {
///         *dev.data().rule.lock() = Some(*rule);
///         Ok(0)
///     }
///     fn delete_rule(dev: &Device<Self>, _loc: u32) -> Result {
///         dev.data().rule.lock().take().map(|_| ()).ok_or(ENOENT)
///     }
/// }
///
/// let params = Params {
///     name: c_str!("rsntuple%d"),
///     txqs: 4,
///     rxqs: 4,
///     mac: [0x02, 0, 0, 0, 0, 7],
///     parent: None,
///     max_mtu: 0,
///     real_queues: 0,
///     queue_mgmt: None,
///     hw_features: Features::NTUPLE,
///     features: Features::NTUPLE,
///     ethtool: Some(OpsTable::get()),
///     stat_ops: None,
///     tso_max: None,
/// };
/// let rules = try_pin_init!(Rules { rule <- new_mutex!(None) }? Error);
/// let reg = Registration::<OneRule>::new(&params, rules)?;
///
/// let request = || {
///     // SAFETY: `ethtool_rxnfc` is plain old data.
///     let mut ins: bindings::ethtool_rxnfc = unsafe { core::mem::zeroed() };
///     ins.cmd = bindings::ETHTOOL_SRXCLSRLINS;
///     ins.fs.flow_type = bindings::TCP_V4_FLOW;
///     ins.fs.h_u.tcp_ip4_spec.ip4dst = u32::from_ne_bytes([192, 0, 2, 2]);
///     ins.fs.m_u.tcp_ip4_spec.ip4dst = u32::MAX;
///     ins.fs.h_u.tcp_ip4_spec.pdst = 5201u16.to_be();
///     ins.fs.m_u.tcp_ip4_spec.pdst = u16::MAX;
///     ins.fs.ring_cookie = 2;
///     ins
/// };
/// // Calls `set_rxnfc`, then `get_rxnfc` for the rule at location 0, as
/// // the ethtool core does.
/// let call = |mut ins: bindings::ethtool_rxnfc| {
///     // SAFETY: The device is registered with our ops table; it is looked
///     // up and its ops are called with RTNL held, with valid arguments.
///     unsafe {
///         bindings::rtnl_lock();
///         let net = core::ptr::addr_of_mut!(bindings::init_net);
///         let raw = bindings::__dev_get_by_index(net, reg.device().ifindex());
///         let ops = &*(*raw).ethtool_ops;
///         let set = (ops.set_rxnfc.unwrap())(raw, &mut ins);
///         let mut get: bindings::ethtool_rxnfc = core::mem::zeroed();
///         get.cmd = bindings::ETHTOOL_GRXCLSRULE;
///         let got = (ops.get_rxnfc.unwrap())(raw, &mut get, core::ptr::null_mut());
///         bindings::rtnl_unlock();
///         (set, got, get.fs)
///     }
/// };
///
/// let (set, got, fs) = call(request());
/// assert_eq!((set, got), (0, 0));
/// let mut spec = FlowSpec::any(FlowType::Tcp4);
/// spec.value.dst[..4].copy_from_slice(&[192, 0, 2, 2]);
/// spec.mask.dst[..4].copy_from_slice(&[0xff; 4]);
/// spec.value.dport = 5201;
/// spec.mask.dport = 0xffff;
/// let rule = FlowRule { spec, action: RxAction::Queue(2) };
/// assert_eq!(*reg.device().data().rule.lock(), Some(rule));
/// // And back as the core wants it.
/// assert_eq!((fs.flow_type, fs.ring_cookie, fs.location), (bindings::TCP_V4_FLOW, 2, 0));
/// // SAFETY: A TCP/IPv4 rule: that member of the union is the one set.
/// let (h, m) = unsafe { (fs.h_u.tcp_ip4_spec, fs.m_u.tcp_ip4_spec) };
/// assert_eq!(h.pdst.to_ne_bytes(), [0x14, 0x51]); // 5201, big endian
/// assert_eq!((h.ip4dst.to_ne_bytes(), m.ip4dst), ([192, 0, 2, 2], u32::MAX));
///
/// // Flow types other than TCP/UDP over IPv4/IPv6 are not supported...
/// let mut sctp = request();
/// sctp.fs.flow_type = bindings::SCTP_V4_FLOW;
/// assert_eq!(call(sctp).0, EOPNOTSUPP.to_errno());
/// // ...neither is matching on the TOS byte...
/// let mut tos = request();
/// tos.fs.m_u.tcp_ip4_spec.tos = 0xff;
/// assert_eq!(call(tos).0, EOPNOTSUPP.to_errno());
/// // ...and dropping is an action of its own.
/// let mut disc = request();
/// disc.fs.ring_cookie = u64::MAX;
/// assert_eq!(call(disc).0, 0);
/// assert_eq!(reg.device().data().rule.lock().map(|r| r.action), Some(RxAction::Drop));
/// // `... context 3`: `FLOW_RSS` and the request's `rss_context`, queue 0;
/// // back with `FLOW_RSS`. Context 0 (the main one) cannot be named.
/// let to_ctx = |c: u32| {
///     let mut r = request();
///     r.fs.flow_type |= bindings::FLOW_RSS;
///     r.fs.ring_cookie = 0;
///     r.__bindgen_anon_1.rss_context = c;
///     r
/// };
/// let (set, _, fs) = call(to_ctx(3));
/// assert_eq!(set, 0);
/// let action = reg.device().data().rule.lock().map(|r| r.action);
/// assert_eq!(action, Some(RxAction::Context(3)));
/// assert_eq!(fs.flow_type, bindings::TCP_V4_FLOW | bindings::FLOW_RSS);
/// assert_eq!(call(to_ctx(0)).0, EINVAL.to_errno());
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
    /// types other than TCP/UDP over IPv4/IPv6, matches on TOS/traffic
    /// class or on the extension fields (VLAN, MAC, user data), wake-on-LAN
    /// and virtual-function actions, and a queue offset added to an RSS
    /// context's (`cap_rss_rxnfc_adds`). `rss_context` is the request's
    /// (`ethtool_rxnfc.rss_context`), read only with `FLOW_RSS`; context 0
    /// is the main one, which is `EINVAL` (`ethtool -N ... context 0`
    /// means no context: ethtool(8) does not set `FLOW_RSS` for it).
    pub(crate) fn from_raw(fs: &bindings::ethtool_rx_flow_spec, rss_context: u32) -> Result<Self> {
        let flags = bindings::FLOW_EXT | bindings::FLOW_MAC_EXT | bindings::FLOW_RSS;
        if fs.flow_type & bindings::FLOW_RSS != 0 {
            if rss_context == 0 {
                return Err(EINVAL);
            }
            if fs.ring_cookie & u64::from(bindings::ETHTOOL_RX_FLOW_SPEC_RING) != 0 {
                return Err(EOPNOTSUPP);
            }
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
            for (t, c) in [(&mut spec.value, &h), (&mut spec.mask, &m)] {
                for i in 0..4 {
                    t.src[4 * i..4 * i + 4].copy_from_slice(&c.ip6src[i].to_ne_bytes());
                    t.dst[4 * i..4 * i + 4].copy_from_slice(&c.ip6dst[i].to_ne_bytes());
                }
                (t.sport, t.dport) = (u16::from_be(c.psrc), u16::from_be(c.pdst));
            }
        } else {
            // SAFETY: As above, for `ethtool_tcpip4_spec`.
            let (h, m) = unsafe { (fs.h_u.tcp_ip4_spec, fs.m_u.tcp_ip4_spec) };
            if m.tos != 0 {
                return Err(EOPNOTSUPP);
            }
            for (t, c) in [(&mut spec.value, &h), (&mut spec.mask, &m)] {
                t.src[..4].copy_from_slice(&c.ip4src.to_ne_bytes());
                t.dst[..4].copy_from_slice(&c.ip4dst.to_ne_bytes());
                (t.sport, t.dport) = (u16::from_be(c.psrc), u16::from_be(c.pdst));
            }
        }
        let action = if fs.flow_type & bindings::FLOW_RSS != 0 {
            if fs.ring_cookie == bindings::RX_CLS_FLOW_DISC as u64
                || fs.ring_cookie == bindings::RX_CLS_FLOW_WAKE as u64
                || fs.ring_cookie & bindings::ETHTOOL_RX_FLOW_SPEC_RING_VF != 0
            {
                return Err(EOPNOTSUPP);
            }
            RxAction::Context(rss_context)
        } else if fs.ring_cookie == bindings::RX_CLS_FLOW_DISC as u64 {
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

    /// The RSS context the rule steers to (`ethtool_rxnfc.rss_context`
    /// beside [`FlowRule::to_raw`]'s spec); 0 for none.
    pub(crate) fn rss_context(&self) -> u32 {
        match self.action {
            RxAction::Context(c) => c,
            _ => 0,
        }
    }

    /// The C flow spec of this rule at `location` (with `FLOW_RSS` for an
    /// RSS context, whose number [`FlowRule::rss_context`] gives).
    pub(crate) fn to_raw(self, location: u32) -> bindings::ethtool_rx_flow_spec {
        // SAFETY: `ethtool_rx_flow_spec` is plain old data; all-zero is
        // valid (and means "match anything").
        let mut fs: bindings::ethtool_rx_flow_spec = unsafe { core::mem::zeroed() };
        let s = &self.spec;
        fs.flow_type = s.flow_type.to_raw();
        let word = |a: &[u8; 16], i: usize| {
            u32::from_ne_bytes([a[4 * i], a[4 * i + 1], a[4 * i + 2], a[4 * i + 3]])
        };
        if s.flow_type.is_ipv6() {
            let v6 = |t: &FlowTuple| {
                let mut c = bindings::ethtool_tcpip6_spec {
                    psrc: t.sport.to_be(),
                    pdst: t.dport.to_be(),
                    ..Default::default()
                };
                for i in 0..4 {
                    c.ip6src[i] = word(&t.src, i);
                    c.ip6dst[i] = word(&t.dst, i);
                }
                c
            };
            (fs.h_u.tcp_ip6_spec, fs.m_u.tcp_ip6_spec) = (v6(&s.value), v6(&s.mask));
        } else {
            let v4 = |t: &FlowTuple| bindings::ethtool_tcpip4_spec {
                ip4src: word(&t.src, 0),
                ip4dst: word(&t.dst, 0),
                psrc: t.sport.to_be(),
                pdst: t.dport.to_be(),
                tos: 0,
            };
            (fs.h_u.tcp_ip4_spec, fs.m_u.tcp_ip4_spec) = (v4(&s.value), v4(&s.mask));
        }
        fs.ring_cookie = match self.action {
            RxAction::Queue(q) => q.into(),
            RxAction::Drop => bindings::RX_CLS_FLOW_DISC as u64,
            RxAction::Context(_) => {
                fs.flow_type |= bindings::FLOW_RSS;
                0
            }
        };
        fs.location = location;
        fs
    }
}

/// Where [`super::EthtoolOps::insert_rule`] puts a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleLocation {
    /// At this location (below [`super::EthtoolOps::NTUPLE_RULES`]), replacing
    /// a rule there.
    At(u32),
    /// At any free location the driver picks (`RX_CLS_LOC_ANY`).
    Any,
}

/// The rule locations [`super::EthtoolOps::rule_locations`] reports, in a buffer
/// the core sized from [`super::EthtoolOps::rule_count`].
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
