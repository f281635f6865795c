// SPDX-License-Identifier: GPL-2.0

//! The `devmem` generic netlink family.
//!
//! Spec: `Documentation/netlink/specs/devmem.yaml`; uapi header (generated
//! from it by ynl-gen-c): `include/uapi/linux/devmem_rs.h`.

use kernel::bindings;
use kernel::c_str;
use kernel::global::Global;
use kernel::net::devmem_uapi as uapi;
#[cfg(CONFIG_NET_DEVMEM_CORE_RUST)]
use kernel::net::ethtool::{FlowSpec, FlowType};
use kernel::net::genl::{self, AttrPolicy, Info, Op, Perm};
use kernel::prelude::*;

/// Commands, as in the spec.
const CMD_CAPS_GET: u8 = bindings::DEVMEM_CMD_CAPS_GET as u8;
const CMD_BINDING_GET: u8 = bindings::DEVMEM_CMD_BINDING_GET as u8;
const CMD_ALLOC_BENCH: u8 = bindings::DEVMEM_CMD_ALLOC_BENCH as u8;
const CMD_TOKEN_BENCH: u8 = bindings::DEVMEM_CMD_TOKEN_BENCH as u8;
const CMD_BIND_RX: u8 = bindings::DEVMEM_CMD_BIND_RX as u8;
const CMD_UNBIND: u8 = bindings::DEVMEM_CMD_UNBIND as u8;
#[cfg_attr(not(CONFIG_NET_DEVMEM_CORE_RUST), allow(dead_code))]
const CMD_BIND_NTF: u8 = bindings::DEVMEM_CMD_BIND_NTF as u8;
#[cfg_attr(not(CONFIG_NET_DEVMEM_CORE_RUST), allow(dead_code))]
const CMD_UNBIND_NTF: u8 = bindings::DEVMEM_CMD_UNBIND_NTF as u8;

/// Multicast group `bindings` (the first of `MCGRPS`).
#[cfg_attr(not(CONFIG_NET_DEVMEM_CORE_RUST), allow(dead_code))]
const GROUP_BINDINGS: u32 = 0;

/// Attributes of the `caps` set.
mod caps {
    use kernel::bindings;
    pub(super) const FAMILY_VERSION: u16 = bindings::DEVMEM_A_CAPS_FAMILY_VERSION as u16;
    pub(super) const SO_DEVMEM_DONTNEED: u16 = bindings::DEVMEM_A_CAPS_SO_DEVMEM_DONTNEED as u16;
    pub(super) const SCM_DEVMEM_LINEAR: u16 = bindings::DEVMEM_A_CAPS_SCM_DEVMEM_LINEAR as u16;
    pub(super) const SCM_DEVMEM_DMABUF: u16 = bindings::DEVMEM_A_CAPS_SCM_DEVMEM_DMABUF as u16;
    pub(super) const MSG_SOCK_DEVMEM: u16 = bindings::DEVMEM_A_CAPS_MSG_SOCK_DEVMEM as u16;
    pub(super) const DMABUF_CMSG_SIZE: u16 = bindings::DEVMEM_A_CAPS_DMABUF_CMSG_SIZE as u16;
    pub(super) const MAX_DONTNEED_TOKENS: u16 = bindings::DEVMEM_A_CAPS_MAX_DONTNEED_TOKENS as u16;
    pub(super) const MAX_DONTNEED_FRAGS: u16 = bindings::DEVMEM_A_CAPS_MAX_DONTNEED_FRAGS as u16;
    pub(super) const IMPLEMENTATION: u16 = bindings::DEVMEM_A_CAPS_IMPLEMENTATION as u16;
}

/// Attributes of the `binding` set.
#[cfg_attr(not(CONFIG_NET_DEVMEM_CORE_RUST), allow(dead_code))]
mod binding {
    use kernel::bindings;
    pub(super) const ID: u16 = bindings::DEVMEM_A_BINDING_ID as u16;
    pub(super) const IFINDEX: u16 = bindings::DEVMEM_A_BINDING_IFINDEX as u16;
    pub(super) const DMABUF_SIZE: u16 = bindings::DEVMEM_A_BINDING_DMABUF_SIZE as u16;
    pub(super) const NIOVS: u16 = bindings::DEVMEM_A_BINDING_NIOVS as u16;
    pub(super) const NIOVS_IN_USE: u16 = bindings::DEVMEM_A_BINDING_NIOVS_IN_USE as u16;
    pub(super) const ALLOC_FAILURES: u16 = bindings::DEVMEM_A_BINDING_ALLOC_FAILURES as u16;
    pub(super) const MAPPED: u16 = bindings::DEVMEM_A_BINDING_MAPPED as u16;
    pub(super) const PAD: u16 = bindings::DEVMEM_A_BINDING_PAD as u16;
    pub(super) const FD: u16 = bindings::DEVMEM_A_BINDING_FD as u16;
    pub(super) const QUEUES: u16 = bindings::DEVMEM_A_BINDING_QUEUES as u16;
    pub(super) const OWNER_PORTID: u16 = bindings::DEVMEM_A_BINDING_OWNER_PORTID as u16;
    pub(super) const REASON: u16 = bindings::DEVMEM_A_BINDING_REASON as u16;
    pub(super) const FLOW: u16 = bindings::DEVMEM_A_BINDING_FLOW as u16;
    pub(super) const TOKENS_HELD: u16 = bindings::DEVMEM_A_BINDING_TOKENS_HELD as u16;
    pub(super) const BYTES_RECEIVED: u16 = bindings::DEVMEM_A_BINDING_BYTES_RECEIVED as u16;
    pub(super) const QUEUE_ID: u16 = bindings::DEVMEM_A_QUEUE_ID as u16;
}

/// Attributes of the `flow` set.
#[cfg_attr(not(CONFIG_NET_DEVMEM_CORE_RUST), allow(dead_code))]
mod flow {
    use kernel::bindings;
    pub(super) const FAMILY: u16 = bindings::DEVMEM_A_FLOW_FAMILY as u16;
    pub(super) const PROTO: u16 = bindings::DEVMEM_A_FLOW_PROTO as u16;
    pub(super) const DST_ADDR: u16 = bindings::DEVMEM_A_FLOW_DST_ADDR as u16;
    pub(super) const DST_PORT: u16 = bindings::DEVMEM_A_FLOW_DST_PORT as u16;
    pub(super) const SRC_ADDR: u16 = bindings::DEVMEM_A_FLOW_SRC_ADDR as u16;
    pub(super) const SRC_PORT: u16 = bindings::DEVMEM_A_FLOW_SRC_PORT as u16;
    pub(super) const LOCATION: u16 = bindings::DEVMEM_A_FLOW_LOCATION as u16;
}

/// Attributes of the `bench` set.
mod bench {
    use kernel::bindings;
    pub(super) const NIOVS: u16 = bindings::DEVMEM_A_BENCH_NIOVS as u16;
    pub(super) const BATCH: u16 = bindings::DEVMEM_A_BENCH_BATCH as u16;
    pub(super) const MSECS: u16 = bindings::DEVMEM_A_BENCH_MSECS as u16;
    pub(super) const OPS: u16 = bindings::DEVMEM_A_BENCH_OPS as u16;
    pub(super) const NSECS: u16 = bindings::DEVMEM_A_BENCH_NSECS as u16;
    pub(super) const GENPOOL_OPS: u16 = bindings::DEVMEM_A_BENCH_GENPOOL_OPS as u16;
    pub(super) const GENPOOL_NSECS: u16 = bindings::DEVMEM_A_BENCH_GENPOOL_NSECS as u16;
    pub(super) const PAD: u16 = bindings::DEVMEM_A_BENCH_PAD as u16;
}

/// Attributes of the `token-bench` set.
mod tbench {
    use kernel::bindings;
    pub(super) const HELD: u16 = bindings::DEVMEM_A_TOKEN_BENCH_HELD as u16;
    pub(super) const FRAGS: u16 = bindings::DEVMEM_A_TOKEN_BENCH_FRAGS as u16;
    pub(super) const MSECS: u16 = bindings::DEVMEM_A_TOKEN_BENCH_MSECS as u16;
    pub(super) const ROUNDS: u16 = bindings::DEVMEM_A_TOKEN_BENCH_ROUNDS as u16;
    pub(super) const RECV_NSECS: u16 = bindings::DEVMEM_A_TOKEN_BENCH_RECV_NSECS as u16;
    pub(super) const DONTNEED_NSECS: u16 = bindings::DEVMEM_A_TOKEN_BENCH_DONTNEED_NSECS as u16;
    pub(super) const XA_ROUNDS: u16 = bindings::DEVMEM_A_TOKEN_BENCH_XA_ROUNDS as u16;
    pub(super) const XA_RECV_NSECS: u16 = bindings::DEVMEM_A_TOKEN_BENCH_XA_RECV_NSECS as u16;
    pub(super) const XA_DONTNEED_NSECS: u16 =
        bindings::DEVMEM_A_TOKEN_BENCH_XA_DONTNEED_NSECS as u16;
    pub(super) const PAD: u16 = bindings::DEVMEM_A_TOKEN_BENCH_PAD as u16;
}

/// Limits of `alloc-bench` (the spec's checks; the policy holds only
/// small bounds).
const BENCH_MAX_NIOVS: u32 = 1 << 20;
const BENCH_MAX_MSECS: u32 = 60_000;

/// Limit of `token-bench`'s `held`.
const BENCH_MAX_HELD: u32 = 1 << 20;

/// The core serving `bind-rx` (`enum devmem_implementation`).
pub(crate) const IMPLEMENTATION: u32 = if cfg!(CONFIG_NET_DEVMEM_CORE_RUST) {
    bindings::devmem_implementation_DEVMEM_IMPLEMENTATION_RUST
} else {
    bindings::devmem_implementation_DEVMEM_IMPLEMENTATION_C
};

static BINDING_POLICY: [AttrPolicy; 2] = [AttrPolicy::unused(), AttrPolicy::u32_min(1)];
/// `queue` set: an rx queue index.
static QUEUE_POLICY: [AttrPolicy; 2] = [AttrPolicy::unused(), AttrPolicy::u32()];
/// `flow` set, as `bind-rx` takes it (`location` is reply-only).
static FLOW_POLICY: [AttrPolicy; 7] = [
    AttrPolicy::unused(),
    AttrPolicy::u32_range(4, 6),   // family
    AttrPolicy::u32_range(0, 255), // proto
    AttrPolicy::binary_len(4, 16), // dst-addr
    AttrPolicy::u16_min(1),        // dst-port
    AttrPolicy::binary_len(4, 16), // src-addr
    AttrPolicy::u16_min(1),        // src-port
];
/// `bind-rx`: ifindex (from 1), fd, queues (each a `queue` nest), flow.
static BIND_POLICY: [AttrPolicy; 14] = [
    AttrPolicy::unused(),
    AttrPolicy::unused(), // id
    AttrPolicy::u32_min(1),
    AttrPolicy::unused(),
    AttrPolicy::unused(),
    AttrPolicy::unused(),
    AttrPolicy::unused(),
    AttrPolicy::unused(),
    AttrPolicy::unused(), // pad
    AttrPolicy::u32(),    // fd
    AttrPolicy::nested(&QUEUE_POLICY),
    AttrPolicy::unused(), // owner-portid
    AttrPolicy::unused(), // reason
    AttrPolicy::nested(&FLOW_POLICY),
];
static BENCH_POLICY: [AttrPolicy; 4] = [
    AttrPolicy::unused(),
    AttrPolicy::u32_min(1),
    AttrPolicy::u32_min(1),
    AttrPolicy::u32_min(1),
];
static TOKEN_BENCH_POLICY: [AttrPolicy; 4] = [
    AttrPolicy::unused(),
    AttrPolicy::u32(),
    AttrPolicy::u32_range(1, 17),
    AttrPolicy::u32_min(1),
];

/// The `devmem` family.
pub(crate) struct DevmemFamily;

impl genl::Family for DevmemFamily {
    type Data = ();

    const NAME: &'static CStr = c_str!("devmem");
    const VERSION: u32 = bindings::DEVMEM_FAMILY_VERSION;
    const OPS: &'static [Op] = &[
        Op {
            cmd: CMD_CAPS_GET,
            perm: Perm::Any,
            policy: &[],
        },
        Op {
            cmd: CMD_BINDING_GET,
            perm: Perm::Admin,
            policy: &BINDING_POLICY,
        },
        Op {
            cmd: CMD_ALLOC_BENCH,
            perm: Perm::Admin,
            policy: &BENCH_POLICY,
        },
        Op {
            cmd: CMD_TOKEN_BENCH,
            perm: Perm::Admin,
            policy: &TOKEN_BENCH_POLICY,
        },
        Op {
            cmd: CMD_BIND_RX,
            perm: Perm::NetnsAdmin,
            policy: &BIND_POLICY,
        },
        Op {
            cmd: CMD_UNBIND,
            perm: Perm::NetnsAdmin,
            policy: &BINDING_POLICY,
        },
    ];
    const DUMPS: &'static [u8] = &[CMD_BINDING_GET];
    const MCGRPS: &'static [&'static CStr] = &[c_str!("bindings")];

    fn doit(_data: &(), cmd: u8, info: &Info<'_>) -> Result {
        match cmd {
            CMD_CAPS_GET => caps_get(info),
            CMD_BINDING_GET => binding_get(info),
            CMD_ALLOC_BENCH => alloc_bench(info),
            CMD_TOKEN_BENCH => token_bench(info),
            CMD_BIND_RX => bind_rx(info),
            CMD_UNBIND => unbind(info),
            _ => Err(EOPNOTSUPP),
        }
    }

    fn dumpit(_data: &(), cmd: u8, dump: &mut genl::Dump<'_>) -> Result {
        match cmd {
            CMD_BINDING_GET => binding_dump(dump),
            _ => Err(EOPNOTSUPP),
        }
    }

    #[cfg(CONFIG_NET_DEVMEM_CORE_RUST)]
    fn release(_data: &(), sock: &genl::Release<'_>) {
        release(sock);
    }
}

/// `caps-get`: the devmem user ABI this kernel speaks, and its core.
fn caps_get(info: &Info<'_>) -> Result {
    info.reply(|msg| {
        msg.put_u32(caps::FAMILY_VERSION, bindings::DEVMEM_FAMILY_VERSION)?;
        msg.put_u32(caps::SO_DEVMEM_DONTNEED, uapi::SO_DEVMEM_DONTNEED)?;
        msg.put_u32(caps::SCM_DEVMEM_LINEAR, uapi::SCM_DEVMEM_LINEAR)?;
        msg.put_u32(caps::SCM_DEVMEM_DMABUF, uapi::SCM_DEVMEM_DMABUF)?;
        msg.put_u32(caps::MSG_SOCK_DEVMEM, uapi::MSG_SOCK_DEVMEM)?;
        msg.put_u32(
            caps::DMABUF_CMSG_SIZE,
            core::mem::size_of::<uapi::DmabufCmsg>() as u32,
        )?;
        msg.put_u32(caps::MAX_DONTNEED_TOKENS, uapi::MAX_DONTNEED_TOKENS as u32)?;
        msg.put_u32(caps::MAX_DONTNEED_FRAGS, uapi::MAX_DONTNEED_FRAGS as u32)?;
        msg.put_u32(caps::IMPLEMENTATION, IMPLEMENTATION)
    })
}

/// The attributes of binding `id`.
#[cfg(CONFIG_NET_DEVMEM_CORE_RUST)]
fn put_binding(msg: &mut genl::Message<'_>, id: u32, b: &crate::binding::Info) -> Result {
    msg.put_u32(binding::ID, id)?;
    msg.put_u32(binding::IFINDEX, b.ifindex() as u32)?;
    msg.put_u64(binding::DMABUF_SIZE, b.size() as u64, binding::PAD)?;
    msg.put_u32(binding::NIOVS, b.free.total())?;
    msg.put_u32(binding::NIOVS_IN_USE, b.free.in_use())?;
    msg.put_u64(binding::ALLOC_FAILURES, b.free.failures(), binding::PAD)?;
    msg.put_u32(binding::MAPPED, b.mapped().into())?;
    msg.put_u64(binding::TOKENS_HELD, b.user.held(), binding::PAD)?;
    msg.put_u64(binding::BYTES_RECEIVED, b.user.received(), binding::PAD)?;
    for q in b.queues()?.iter() {
        msg.put_nest(binding::QUEUES, |m| m.put_u32(binding::QUEUE_ID, *q))?;
    }
    let owner = crate::owners::OWNERS.get().and_then(|o| o.owner_of(id));
    msg.put_u32(
        binding::OWNER_PORTID,
        owner.as_ref().map_or(0, |o| o.portid),
    )?;
    match owner.and_then(|o| o.flow) {
        Some((rule, loc)) => msg.put_nest(binding::FLOW, |m| put_flow(m, &rule.spec, loc)),
        None => Ok(()),
    }
}

/// The attributes of a steered flow.
#[cfg(CONFIG_NET_DEVMEM_CORE_RUST)]
fn put_flow(msg: &mut genl::Message<'_>, spec: &FlowSpec, location: u32) -> Result {
    let alen = if spec.flow_type.is_ipv6() { 16 } else { 4 };
    msg.put_u32(flow::FAMILY, if spec.flow_type.is_ipv6() { 6 } else { 4 })?;
    msg.put_u32(flow::PROTO, spec.flow_type.ip_proto().into())?;
    msg.put_bytes(flow::DST_ADDR, &spec.value.dst[..alen])?;
    msg.put_u16(flow::DST_PORT, spec.value.dport)?;
    if spec.mask.src.iter().any(|&b| b != 0) {
        msg.put_bytes(flow::SRC_ADDR, &spec.value.src[..alen])?;
    }
    if spec.mask.sport != 0 {
        msg.put_u16(flow::SRC_PORT, spec.value.sport)?;
    }
    msg.put_u32(flow::LOCATION, location)
}

/// An address of a flow: its bytes into `value`, all ones into `mask`;
/// `EINVAL` unless it is as long as the family's addresses.
#[cfg(CONFIG_NET_DEVMEM_CORE_RUST)]
fn flow_addr(
    info: &Info<'_>,
    a: genl::Attr<'_>,
    alen: usize,
    value: &mut [u8; 16],
    mask: &mut [u8; 16],
) -> Result {
    let b = a.bytes();
    if b.len() != alen {
        info.set_err_msg(c_str!(
            "flow address length does not match its family (4 or 16 bytes)"
        ));
        return Err(EINVAL);
    }
    value[..alen].copy_from_slice(b);
    mask[..alen].fill(0xff);
    Ok(())
}

/// The match of a `flow` nest of `bind-rx`.
#[cfg(CONFIG_NET_DEVMEM_CORE_RUST)]
fn parse_flow(info: &Info<'_>, a: genl::Attr<'_>) -> Result<FlowSpec> {
    let n = a.parse_nested(&FLOW_POLICY, &info.extack())?;
    let need = |attr: u16, msg: &'static CStr| {
        n.attr(attr).ok_or_else(|| {
            info.set_err_msg(msg);
            EINVAL
        })
    };
    let family = need(flow::FAMILY, c_str!("flow family missing"))?.get_u32();
    let proto = need(flow::PROTO, c_str!("flow proto missing"))?.get_u32();
    let dst = need(flow::DST_ADDR, c_str!("flow dst-addr missing"))?;
    let dport = need(flow::DST_PORT, c_str!("flow dst-port missing"))?.get_u16();
    let ipv6 = match family {
        4 => false,
        6 => true,
        _ => {
            info.set_err_msg(c_str!("flow family must be 4 or 6"));
            return Err(EINVAL);
        }
    };
    if proto != u32::from(FlowType::Tcp4.ip_proto()) {
        info.set_err_msg(c_str!("only TCP flows can be steered"));
        return Err(EOPNOTSUPP);
    }
    let ft = if ipv6 { FlowType::Tcp6 } else { FlowType::Tcp4 };
    let alen = if ipv6 { 16 } else { 4 };
    let mut spec = FlowSpec::any(ft);
    flow_addr(info, dst, alen, &mut spec.value.dst, &mut spec.mask.dst)?;
    (spec.value.dport, spec.mask.dport) = (dport, 0xffff);
    if let Some(src) = n.attr(flow::SRC_ADDR) {
        flow_addr(info, src, alen, &mut spec.value.src, &mut spec.mask.src)?;
    }
    if let Some(sport) = n.attr(flow::SRC_PORT) {
        (spec.value.sport, spec.mask.sport) = (sport.get_u16(), 0xffff);
    }
    Ok(spec)
}

/// The queue index of a `queues` nest.
#[cfg(CONFIG_NET_DEVMEM_CORE_RUST)]
fn queue_id(info: &Info<'_>, q: genl::Attr<'_>) -> Result<u32> {
    let n = q.parse_nested(&QUEUE_POLICY, &info.extack())?;
    match n.attr(binding::QUEUE_ID) {
        Some(idx) => Ok(idx.get_u32()),
        None => {
            info.set_err_msg(c_str!("queue id missing"));
            Err(EINVAL)
        }
    }
}

/// `binding-get`: counters of a binding of the Rust core.
#[cfg(CONFIG_NET_DEVMEM_CORE_RUST)]
fn binding_get(info: &Info<'_>) -> Result {
    let id = info.required_u32(binding::ID, c_str!("binding id missing"))?;
    let st = crate::binding::STATE.get().ok_or(EOPNOTSUPP)?;
    let Some(b) = st.get(id) else {
        info.set_err_msg(c_str!("no binding with this id"));
        return Err(ENOENT);
    };
    info.reply(|msg| put_binding(msg, id, &b))
}

/// `binding-get` dump: the bindings of devices of the caller's namespace,
/// by id; the cursor is the next id to look at.
#[cfg(CONFIG_NET_DEVMEM_CORE_RUST)]
fn binding_dump(dump: &mut genl::Dump<'_>) -> Result {
    let st = crate::binding::STATE.get().ok_or(EOPNOTSUPP)?;
    let net = dump.net().id();
    loop {
        let start = u32::try_from((*dump.cursor()).max(1)).map_err(|_| EINVAL);
        let Ok(start) = start else { return Ok(()) };
        let Some((id, b)) = st.next(start) else {
            return Ok(());
        };
        if b.net() == net {
            dump.add(|msg| put_binding(msg, id, &b))?;
        }
        *dump.cursor() = u64::from(id) + 1;
    }
}

/// `binding-get` dump with the C core: nothing of ours to list.
#[cfg(not(CONFIG_NET_DEVMEM_CORE_RUST))]
fn binding_dump(_dump: &mut genl::Dump<'_>) -> Result {
    Err(EOPNOTSUPP)
}

/// `binding-get` with the C core: its bindings are not ours to report.
#[cfg(not(CONFIG_NET_DEVMEM_CORE_RUST))]
fn binding_get(info: &Info<'_>) -> Result {
    info.set_err_msg(c_str!("bindings are served by the C core"));
    Err(EOPNOTSUPP)
}

/// `alloc-bench`: our allocator against gen_pool.
fn alloc_bench(info: &Info<'_>) -> Result {
    let niovs = info.required_u32(bench::NIOVS, c_str!("niovs missing"))?;
    let batch = info.required_u32(bench::BATCH, c_str!("batch missing"))?;
    let msecs = info.required_u32(bench::MSECS, c_str!("msecs missing"))?;
    if niovs > BENCH_MAX_NIOVS || batch > BENCH_MAX_NIOVS || msecs > BENCH_MAX_MSECS {
        info.set_err_msg(c_str!("niovs, batch or msecs out of range"));
        return Err(ERANGE);
    }
    if batch > niovs {
        info.set_err_msg(c_str!("batch larger than niovs"));
        return Err(EINVAL);
    }
    let r = crate::bench::run(niovs, batch, msecs)?;
    info.reply(|msg| {
        msg.put_u64(bench::OPS, r.ops, bench::PAD)?;
        msg.put_u64(bench::NSECS, r.nsecs, bench::PAD)?;
        msg.put_u64(bench::GENPOOL_OPS, r.genpool_ops, bench::PAD)?;
        msg.put_u64(bench::GENPOOL_NSECS, r.genpool_nsecs, bench::PAD)
    })
}

/// `token-bench`: our socket token store against 6.12's xarray.
fn token_bench(info: &Info<'_>) -> Result {
    let held = info.required_u32(tbench::HELD, c_str!("held missing"))?;
    let frags = info.required_u32(tbench::FRAGS, c_str!("frags missing"))?;
    let msecs = info.required_u32(tbench::MSECS, c_str!("msecs missing"))?;
    if held > BENCH_MAX_HELD || msecs > BENCH_MAX_MSECS {
        info.set_err_msg(c_str!("held or msecs out of range"));
        return Err(ERANGE);
    }
    if frags > crate::bench::MAX_FRAGS {
        info.set_err_msg(c_str!("more frags than an skb has"));
        return Err(ERANGE);
    }
    let r = crate::bench::tokens(held, frags, msecs)?;
    info.reply(|msg| {
        msg.put_u64(tbench::ROUNDS, r.rounds, tbench::PAD)?;
        msg.put_u64(tbench::RECV_NSECS, r.recv_nsecs, tbench::PAD)?;
        msg.put_u64(tbench::DONTNEED_NSECS, r.dontneed_nsecs, tbench::PAD)?;
        msg.put_u64(tbench::XA_ROUNDS, r.xa_rounds, tbench::PAD)?;
        msg.put_u64(tbench::XA_RECV_NSECS, r.xa_recv_nsecs, tbench::PAD)?;
        msg.put_u64(tbench::XA_DONTNEED_NSECS, r.xa_dontneed_nsecs, tbench::PAD)
    })
}

/// The family's registration (kept for notifications from the core).
pub(crate) static FAMILY: Global<genl::Registration<DevmemFamily>> = Global::new();

/// Sends `unbind-ntf` for `o` in `net`.
#[cfg(CONFIG_NET_DEVMEM_CORE_RUST)]
fn put_ntf(msg: &mut genl::Message<'_>, o: &crate::owners::Owned, reason: Option<u32>) -> Result {
    msg.put_u32(binding::ID, o.id)?;
    msg.put_u32(binding::IFINDEX, o.ifindex as u32)?;
    msg.put_u32(binding::OWNER_PORTID, o.portid)?;
    match reason {
        Some(r) => msg.put_u32(binding::REASON, r),
        None => Ok(()),
    }
}

/// `bind-rx`: binds a dma-buf to rx queues for the calling socket, and
/// steers a flow to the queue if asked.
#[cfg(CONFIG_NET_DEVMEM_CORE_RUST)]
fn bind_rx(info: &Info<'_>) -> Result {
    use crate::binding::DmabufBinding;
    use crate::owners::{Owned, OWNERS};
    use crate::steer::Steering;
    use kernel::net::ethtool::{FlowRule, RxAction};
    use kernel::net::mp::{with_rtnl, Core, NetDevice};

    let ifindex = info.required_u32(binding::IFINDEX, c_str!("ifindex missing"))?;
    let fd = info.required_u32(binding::FD, c_str!("dma-buf fd missing"))?;
    let mut queues = info.attrs(binding::QUEUES);
    let Some(first) = queues.next() else {
        info.set_err_missing(binding::QUEUES, c_str!("no queue to bind"));
        return Err(EINVAL);
    };
    // With a flow: its match, and the one queue it goes to.
    let flow = match info.attr(binding::FLOW) {
        None => None,
        Some(f) => {
            if queues.next().is_some() {
                info.set_err_msg(c_str!("a flow is steered to one queue: bind exactly one"));
                return Err(EINVAL);
            }
            Some((parse_flow(info, f)?, queue_id(info, first)?))
        }
    };
    let owners = OWNERS.get().ok_or(EOPNOTSUPP)?;
    let extack = info.extack();
    let net = info.net();
    let (id, ifindex) = with_rtnl(|rtnl| -> Result<(u32, i32)> {
        let Some(dev) = NetDevice::get_by_index(net, ifindex as i32, rtnl) else {
            info.set_err_msg(c_str!("no such device in this namespace"));
            return Err(ENODEV);
        };
        if !dev.is_present() {
            info.set_err_msg(c_str!("device not present"));
            return Err(ENODEV);
        }
        if dev.has_xdp_prog(rtnl) {
            info.set_err_msg(c_str!(
                "unable to bind dmabuf to device with XDP program attached"
            ));
            return Err(EEXIST);
        }
        // Room for the steering record first: once installed, it is kept.
        let slot = match flow {
            None => None,
            Some((_, q)) => {
                if q >= dev.real_num_rx_queues(rtnl) {
                    info.set_err_msg(c_str!("rx queue index out of range"));
                    return Err(ERANGE);
                }
                Some(KBox::<Steering>::new_uninit(GFP_KERNEL)?)
            }
        };
        let b = DmabufBinding::bind(dev, rtnl, fd, &extack)?;
        // Steered first, so that the queue gets nothing else once bound.
        let steering = match (flow, slot) {
            (Some((spec, q)), Some(slot)) => {
                let rule = FlowRule {
                    spec,
                    action: RxAction::Queue(q),
                };
                match Steering::install(dev, rtnl, rule, q, &extack) {
                    Ok(s) => Some(slot.write(s)),
                    Err(e) => {
                        DmabufBinding::unbind(b, rtnl);
                        return Err(e);
                    }
                }
            }
            _ => None,
        };
        for q in info.attrs(binding::QUEUES) {
            let r = queue_id(info, q).and_then(|idx| {
                DmabufBinding::bind_queue(dev, rtnl, idx, b.as_arc_borrow(), &extack)
            });
            if let Err(e) = r {
                DmabufBinding::unbind(b, rtnl);
                if let Some(s) = steering {
                    s.undo(rtnl);
                }
                return Err(e);
            }
        }
        let id = b.id();
        let o = Owned {
            net: net.id(),
            portid: info.snd_portid(),
            id,
            ifindex: dev.ifindex(),
            dev: dev.as_ptr() as usize,
            binding: b,
            steering,
        };
        if let Err(o) = owners.add(o) {
            give_back(o, rtnl);
            return Err(ENOMEM);
        }
        Ok((id, dev.ifindex()))
    })?;
    let portid = info.snd_portid();
    let _ = info.multicast(GROUP_BINDINGS, CMD_BIND_NTF, |m| {
        m.put_u32(binding::ID, id)?;
        m.put_u32(binding::IFINDEX, ifindex as u32)?;
        m.put_u32(binding::OWNER_PORTID, portid)
    });
    info.reply(|msg| msg.put_u32(binding::ID, id))
}

/// Gives the owner's binding back to the core, then undoes its steering
/// (in that order: the queue is off the dma-buf before RSS may use it).
#[cfg(CONFIG_NET_DEVMEM_CORE_RUST)]
fn give_back(o: crate::owners::Owned, rtnl: &kernel::net::rtnl::Rtnl) {
    use crate::binding::DmabufBinding;
    use kernel::net::mp::Core;

    DmabufBinding::unbind(o.binding, rtnl);
    if let Some(s) = o.steering {
        s.undo(rtnl);
    }
}

/// `unbind`: the calling socket gives one of its bindings back.
#[cfg(CONFIG_NET_DEVMEM_CORE_RUST)]
fn unbind(info: &Info<'_>) -> Result {
    use kernel::net::mp::with_rtnl;

    let id = info.required_u32(binding::ID, c_str!("binding id missing"))?;
    let owners = crate::owners::OWNERS.get().ok_or(EOPNOTSUPP)?;
    let o = owners
        .take_id(info.net().id(), info.snd_portid(), id)
        .inspect_err(|e| {
            info.set_err_msg(if *e == EPERM {
                c_str!("binding of another socket")
            } else {
                c_str!("no binding of this family with this id here")
            })
        })?;
    let _ = info.multicast(GROUP_BINDINGS, CMD_UNBIND_NTF, |m| {
        put_ntf(
            m,
            &o,
            Some(bindings::devmem_unbind_reason_DEVMEM_UNBIND_REASON_USER),
        )
    });
    with_rtnl(|rtnl| give_back(o, rtnl));
    Ok(())
}

/// A devmem socket was released: its bindings go.
#[cfg(CONFIG_NET_DEVMEM_CORE_RUST)]
fn release(sock: &genl::Release<'_>) {
    use kernel::net::mp::with_rtnl;

    let Some(owners) = crate::owners::OWNERS.get() else {
        return;
    };
    let (net, portid) = (sock.net().id(), sock.portid());
    while let Some(o) = owners.take_first(|o| o.net == net && o.portid == portid) {
        let _ = sock.multicast(GROUP_BINDINGS, CMD_UNBIND_NTF, |m| {
            put_ntf(
                m,
                &o,
                Some(bindings::devmem_unbind_reason_DEVMEM_UNBIND_REASON_SOCKET_CLOSED),
            )
        });
        with_rtnl(|rtnl| give_back(o, rtnl));
    }
}

/// `dev` is being unregistered (RTNL held): the family's bindings on it go.
#[cfg(CONFIG_NET_DEVMEM_CORE_RUST)]
pub(crate) fn device_gone(dev: &kernel::net::mp::NetDevice, rtnl: &kernel::net::rtnl::Rtnl) {
    use crate::binding::DmabufBinding;
    use kernel::net::mp::Core;

    let Some(owners) = crate::owners::OWNERS.get() else {
        return;
    };
    let key = dev.as_ptr() as usize;
    while let Some(o) = owners.take_first(|o| o.dev == key) {
        if let Some(f) = FAMILY.get() {
            let _ = f.multicast(dev.net(), GROUP_BINDINGS, CMD_UNBIND_NTF, |m| {
                put_ntf(
                    m,
                    &o,
                    Some(bindings::devmem_unbind_reason_DEVMEM_UNBIND_REASON_DEVICE_GONE),
                )
            });
        }
        DmabufBinding::unbind(o.binding, rtnl);
        // Its rule and RSS table go with the device: dropped, not undone.
        drop(o.steering);
    }
}

/// `bind-rx` and `unbind` with the C core: its bindings belong to the
/// netdev family.
#[cfg(not(CONFIG_NET_DEVMEM_CORE_RUST))]
fn bind_rx(info: &Info<'_>) -> Result {
    info.set_err_msg(c_str!(
        "bindings are served by the C core: use the netdev family"
    ));
    Err(EOPNOTSUPP)
}

/// See [`bind_rx`].
#[cfg(not(CONFIG_NET_DEVMEM_CORE_RUST))]
fn unbind(info: &Info<'_>) -> Result {
    bind_rx(info)
}
