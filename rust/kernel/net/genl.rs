// SPDX-License-Identifier: GPL-2.0

//! Generic netlink families.
//!
//! C header: [`include/net/genetlink.h`](srctree/include/net/genetlink.h)
//!
//! A family is described by a type implementing [`Family`]: its name,
//! version and operations (as `split ops`, so every operation has its own
//! attribute policy). [`Registration`] registers it with the generic
//! netlink core and unregisters it when dropped. Requests reach
//! [`Family::doit`] with an [`Info`]; replies are built with [`Info::reply`].

use crate::alloc::{flags::GFP_KERNEL, KBox, KVec};
use crate::bindings;
use crate::error::{code::*, from_result, to_result, Result};
use crate::net::ns::Net;
use crate::prelude::*;
use crate::str::CStr;
use crate::types::Opaque;
use crate::ThisModule;
use core::marker::PhantomData;

/// Attribute type constants of the netlink policy (`enum nla_types`).
mod nla {
    use crate::bindings;
    pub(super) const U16: u8 = bindings::NLA_U16 as u8;
    pub(super) const U32: u8 = bindings::NLA_U32 as u8;
    pub(super) const BINARY: u8 = bindings::NLA_BINARY as u8;
    pub(super) const U64: u8 = bindings::NLA_U64 as u8;
    pub(super) const NESTED: u8 = bindings::NLA_NESTED as u8;
    pub(super) const VALIDATE_MIN: u8 = bindings::nla_policy_validation_NLA_VALIDATE_MIN as u8;
    pub(super) const VALIDATE_RANGE: u8 = bindings::nla_policy_validation_NLA_VALIDATE_RANGE as u8;
}

/// Policy of one attribute in a request (`struct nla_policy`).
///
/// A policy table is a `static [AttrPolicy; N]` indexed by attribute type;
/// entry 0 is unused (attribute types start at 1).
///
/// # Invariants
///
/// The only pointer the wrapped `nla_policy` may hold is `nested_policy`,
/// and then it points to a `'static` policy table.
#[repr(transparent)]
pub struct AttrPolicy(bindings::nla_policy);

// SAFETY: An `AttrPolicy` is immutable and, by the type invariants, only
// points to `'static` immutable data; sharing it between threads is safe.
unsafe impl Sync for AttrPolicy {}

impl AttrPolicy {
    const fn new(type_: u8) -> Self {
        // SAFETY: `nla_policy` is plain old data; all zeroes is a valid
        // "unspecified" policy.
        let mut p: bindings::nla_policy = unsafe { core::mem::zeroed() };
        p.type_ = type_;
        // INVARIANT: no pointer is set.
        Self(p)
    }

    /// An attribute type the request must not carry (or an unused slot).
    pub const fn unused() -> Self {
        Self::new(0)
    }

    /// A `u32` attribute.
    pub const fn u32() -> Self {
        Self::new(nla::U32)
    }

    /// A `u64` attribute.
    pub const fn u64() -> Self {
        Self::new(nla::U64)
    }

    /// An attribute of `type_` whose value (a length for
    /// `NLA_BINARY`) is checked against `min` and `max` as `validation`
    /// says (`NLA_POLICY_MIN`, `NLA_POLICY_RANGE`).
    const fn bounded(type_: u8, validation: u8, min: i16, max: i16) -> Self {
        let mut p = Self::new(type_);
        p.0.validation_type = validation;
        p.0.__bindgen_anon_1.__bindgen_anon_1 =
            bindings::nla_policy__bindgen_ty_1__bindgen_ty_1 { min, max };
        p
    }

    /// A `u16` attribute of at least `min`.
    pub const fn u16_min(min: i16) -> Self {
        Self::bounded(nla::U16, nla::VALIDATE_MIN, min, 0)
    }

    /// A binary attribute of `min..=max` bytes (`NLA_POLICY_RANGE` on an
    /// `NLA_BINARY`, which bounds the length).
    pub const fn binary_len(min: i16, max: i16) -> Self {
        Self::bounded(nla::BINARY, nla::VALIDATE_RANGE, min, max)
    }

    /// A `u32` attribute of at least `min`.
    pub const fn u32_min(min: i16) -> Self {
        Self::bounded(nla::U32, nla::VALIDATE_MIN, min, 0)
    }

    /// A `u32` attribute in `min..=max`.
    pub const fn u32_range(min: i16, max: i16) -> Self {
        Self::bounded(nla::U32, nla::VALIDATE_RANGE, min, max)
    }

    /// A nested attribute whose members follow `policy`.
    pub const fn nested(policy: &'static [AttrPolicy]) -> Self {
        let mut p = Self::new(nla::NESTED);
        p.0.len = (policy.len() - 1) as u16;
        // INVARIANT: `policy` is `'static`.
        p.0.__bindgen_anon_1.nested_policy = policy.as_ptr().cast();
        p
    }
}

/// The policy of a request that takes no attribute: every attribute is
/// refused (type 1 as unsupported, others as unknown), as the core does
/// for families without reserved commands.
static REJECT_ALL: [AttrPolicy; 2] = [AttrPolicy::unused(), AttrPolicy::unused()];

/// One operation of a family.
pub struct Op {
    /// Command number, as in the family's YAML spec.
    pub cmd: u8,
    /// Whether the caller needs `CAP_NET_ADMIN` in the user namespace that
    /// owns the socket's network namespace (`GENL_UNS_ADMIN_PERM`), or in
    /// the initial one (`GENL_ADMIN_PERM`).
    pub perm: Perm,
    /// Policy of the request's attributes, indexed by attribute type; an
    /// empty table means the request takes no attribute.
    pub policy: &'static [AttrPolicy],
}

/// Who may run an operation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Perm {
    /// Anyone.
    Any,
    /// `CAP_NET_ADMIN` in the user namespace owning the network namespace.
    NetnsAdmin,
    /// `CAP_NET_ADMIN` in the initial user namespace.
    Admin,
}

/// A generic netlink family.
pub trait Family: Sized + 'static {
    /// State of the family, owned by its [`Registration`] and handed to
    /// every request.
    type Data: Send + Sync;

    /// Family name (at most 15 bytes).
    const NAME: &'static CStr;
    /// Family version.
    const VERSION: u32;
    /// Operations, sorted by command number, each at most once.
    const OPS: &'static [Op];

    /// Commands of [`Family::OPS`] that also have a `dump` (served by
    /// [`Family::dumpit`], with the same permission), sorted. A dump
    /// request takes no attribute: any is refused.
    const DUMPS: &'static [u8] = &[];
    /// Multicast groups, in order: group `i` of [`Info::multicast`] and
    /// [`Release::multicast`] is `MCGRPS[i]`.
    const MCGRPS: &'static [&'static CStr] = &[];

    /// Handles a `do` request for command `cmd`.
    ///
    /// On error, the errno (and any message set with
    /// [`Info::set_err_msg`]) is reported to the caller in the ack.
    fn doit(data: &Self::Data, cmd: u8, info: &Info<'_>) -> Result;

    /// Adds the next objects of a `dump` of command `cmd` to `dump`, from
    /// where its [`Dump::cursor`] says, and moves the cursor past them.
    /// Returns `Ok(())` when nothing is left; [`Dump::add`]'s `EMSGSIZE`
    /// (the message is full) makes genetlink call again with a new one.
    fn dumpit(_data: &Self::Data, _cmd: u8, _dump: &mut Dump<'_>) -> Result {
        Err(EOPNOTSUPP)
    }

    /// A generic netlink socket was released (`NETLINK_URELEASE`): state
    /// kept for its (namespace, port id) must go. Process context; may
    /// sleep (and take RTNL).
    fn release(_data: &Self::Data, _sock: &Release<'_>) {}
}

/// A request being handled (`struct genl_info`).
///
/// # Invariants
///
/// `raw` is the `genl_info` of a request being handled by a `doit`
/// callback, valid for `'a`.
/// The request's `attrs` array (null if it has none) has `maxattr + 1`
/// entries.
pub struct Info<'a> {
    raw: &'a bindings::genl_info,
    maxattr: u32,
}

impl<'a> Info<'a> {
    /// Wraps the `genl_info` genetlink passed to a `doit` callback.
    ///
    /// # Safety
    ///
    /// `ptr` must be valid for reads for `'a`, as it is during a `doit`,
    /// and `maxattr` the `maxattr` of the operation handling it.
    unsafe fn from_raw(ptr: *const bindings::genl_info, maxattr: u32) -> Self {
        // INVARIANT: guaranteed by the caller.
        Self {
            // SAFETY: guaranteed by the caller.
            raw: unsafe { &*ptr },
            maxattr,
        }
    }

    /// Netlink port id of the sender.
    pub fn snd_portid(&self) -> u32 {
        self.raw.snd_portid
    }

    /// The network namespace of the requesting socket.
    pub fn net(&self) -> &'a Net {
        // SAFETY: By the type invariants the request is being handled; the
        // requesting socket holds its namespace meanwhile.
        unsafe { Net::from_raw(bindings::genl_info_net(self.raw)) }
    }

    /// The request's extended ack, for callees that report errors there.
    pub fn extack(&self) -> crate::net::mp::ExtAck<'a> {
        // SAFETY: Null or valid while the request is handled (type
        // invariants).
        unsafe { crate::net::mp::ExtAck::from_raw(self.raw.extack) }
    }

    /// Sends a message of command `cmd` built by `fill` to multicast group
    /// `group` of the family in the requester's namespace. Nobody
    /// listening is not an error.
    pub fn multicast(
        &self,
        group: u32,
        cmd: u8,
        fill: impl FnOnce(&mut Message<'_>) -> Result,
    ) -> Result {
        // SAFETY: The family of a request being handled is registered.
        unsafe { multicast(self.raw.family, self.net(), group, cmd, fill) }
    }

    /// The request's command.
    pub fn cmd(&self) -> u8 {
        // SAFETY: By the type invariants, `genlhdr` points to the request's
        // valid generic netlink header.
        unsafe { (*self.raw.genlhdr).cmd }
    }

    /// Sets the message reported with the error of this request
    /// (`NL_SET_ERR_MSG`).
    pub fn set_err_msg(&self, msg: &'static CStr) {
        let extack = self.raw.extack;
        if !extack.is_null() {
            // SAFETY: By the type invariants the request is being handled,
            // so its non-null extack is valid for writes; `msg` is
            // `'static`, as the extack requires of its message.
            unsafe { (*extack)._msg = msg.as_char_ptr() };
        }
    }

    /// Marks `attr` as missing from the request (`NL_SET_ERR_ATTR_MISS`)
    /// and sets `msg`.
    pub fn set_err_missing(&self, attr: u16, msg: &'static CStr) {
        let extack = self.raw.extack;
        if !extack.is_null() {
            // SAFETY: As for `set_err_msg`; a null nest means the attribute
            // is missing at the top level.
            unsafe {
                (*extack).miss_nest = core::ptr::null();
                (*extack).miss_type = attr;
            }
        }
        self.set_err_msg(msg);
    }

    fn as_ptr(&self) -> *mut bindings::genl_info {
        (self.raw as *const bindings::genl_info).cast_mut()
    }

    /// The request's attribute of type `attr`, if present.
    pub fn attr(&self, attr: u16) -> Option<Attr<'a>> {
        let attrs = self.raw.attrs;
        if attrs.is_null() || u32::from(attr) > self.maxattr {
            return None;
        }
        // SAFETY: genetlink parsed the request into `attrs`, an array of
        // `maxattr + 1` entries valid for the request's lifetime, and
        // `attr <= maxattr`.
        let a = unsafe { *attrs.add(attr.into()) };
        // SAFETY: non-null entries point to attributes inside the request,
        // validated against the operation's policy.
        (!a.is_null()).then(|| unsafe { Attr::from_raw(a) })
    }

    /// The `u32` attribute `attr`, which the request must carry: if it
    /// does not, marks it missing with `msg` and fails with `EINVAL`.
    pub fn required_u32(&self, attr: u16, msg: &'static CStr) -> Result<u32> {
        match self.attr(attr) {
            Some(a) => Ok(a.get_u32()),
            None => {
                self.set_err_missing(attr, msg);
                Err(EINVAL)
            }
        }
    }

    /// Every top-level attribute of type `attr` (for multi-attr
    /// attributes), in order.
    pub fn attrs(&self, attr: u16) -> impl Iterator<Item = Attr<'a>> + 'a {
        // SAFETY: `genlhdr` is the request's header (type invariants).
        let (head, len) = unsafe {
            (
                bindings::genlmsg_data(self.raw.genlhdr).cast::<bindings::nlattr>(),
                bindings::genlmsg_len(self.raw.genlhdr),
            )
        };
        // INVARIANT: the request's attributes, valid while it is handled.
        AttrIter {
            next: head,
            rem: len,
            _p: PhantomData,
        }
        .filter(move |a| a.kind() == attr)
    }

    /// Builds a reply with `fill` and sends it to the requester.
    pub fn reply(&self, fill: impl FnOnce(&mut Message<'_>) -> Result) -> Result {
        // SAFETY: By the type invariants the request's family is
        // registered while it is handled.
        let skb = unsafe {
            build(
                self.raw.family,
                self.raw.snd_portid,
                self.raw.snd_seq,
                self.cmd(),
                fill,
            )
        }?;
        // SAFETY: `skb` holds a complete message; `genlmsg_reply` consumes
        // it; `self.raw` is valid.
        to_result(unsafe { bindings::genlmsg_reply(skb, self.as_ptr()) })
    }
}

/// A message of command `cmd` of `family` for `portid` and `seq`, filled
/// by `fill` and ended. On failure nothing stays allocated.
///
/// # Safety
///
/// `family` is a registered family.
unsafe fn build(
    family: *const bindings::genl_family,
    portid: u32,
    seq: u32,
    cmd: u8,
    fill: impl FnOnce(&mut Message<'_>) -> Result,
) -> Result<*mut bindings::sk_buff> {
    // SAFETY: FFI call; a null return means allocation failure.
    let skb = unsafe { bindings::genlmsg_new(bindings::NLMSG_GOODSIZE, GFP_KERNEL.as_raw()) };
    if skb.is_null() {
        return Err(ENOMEM);
    }
    // SAFETY: `skb` is a fresh message buffer; `family` is registered (the
    // caller's guarantee).
    let hdr = unsafe { bindings::genlmsg_put(skb, portid, seq, family, 0, cmd) };
    // INVARIANT: `skb` holds one generic netlink message being built,
    // whose header is `hdr`.
    let mut msg = Message {
        skb,
        _p: PhantomData,
    };
    let r = if hdr.is_null() {
        Err(EMSGSIZE)
    } else {
        fill(&mut msg)
    };
    if let Err(e) = r {
        // SAFETY: `skb` is ours and was never sent.
        unsafe { bindings::nlmsg_free(skb) };
        return Err(e);
    }
    // SAFETY: `skb` holds a complete message with header `hdr`.
    unsafe { bindings::genlmsg_end(skb, hdr) };
    Ok(skb)
}

/// A request attribute.
///
/// # Invariants
///
/// `self.0` points to a valid attribute validated against its policy.
#[derive(Clone, Copy)]
pub struct Attr<'a>(*const bindings::nlattr, PhantomData<&'a ()>);

impl Attr<'_> {
    /// # Safety
    ///
    /// `ptr` must point to a valid, policy-validated attribute that outlives
    /// the returned object.
    unsafe fn from_raw(ptr: *const bindings::nlattr) -> Self {
        // INVARIANT: guaranteed by the caller.
        Self(ptr, PhantomData)
    }

    /// The payload as a `u32` (the policy guarantees the length).
    pub fn get_u32(&self) -> u32 {
        // SAFETY: By the type invariants, `self.0` is valid.
        unsafe { bindings::nla_get_u32(self.0) }
    }

    /// The payload as a `u16` (the policy guarantees the length).
    pub fn get_u16(&self) -> u16 {
        // SAFETY: By the type invariants, `self.0` is valid.
        unsafe { bindings::nla_get_u16(self.0) }
    }

    /// The payload's bytes.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: By the type invariants, `self.0` is a valid attribute: its
        // payload is `nla_len` bytes of the request, which outlives `self`.
        unsafe {
            let len = bindings::nla_len(self.0);
            core::slice::from_raw_parts(bindings::nla_data(self.0).cast(), len.max(0) as usize)
        }
    }

    /// The attribute's type.
    pub fn kind(&self) -> u16 {
        // SAFETY: By the type invariants, `self.0` is valid.
        unsafe { bindings::nla_type(self.0) as u16 }
    }

    /// Parses the attributes nested in this one (validated by the
    /// request's policy as `AttrPolicy::nested(policy)`) against
    /// `policy`; errors are reported in `extack`.
    pub fn parse_nested<'b>(
        &'b self,
        policy: &'static [AttrPolicy],
        extack: &crate::net::mp::ExtAck<'_>,
    ) -> Result<Nested<'b>> {
        let max = policy.len().checked_sub(1).ok_or(EINVAL)?;
        let mut tb = KVec::from_elem(core::ptr::null_mut(), max + 1, GFP_KERNEL)?;
        // SAFETY: `self.0` is a valid nested attribute; `tb` has `max + 1`
        // entries; `policy` is a `'static` table of `max + 1` entries.
        to_result(unsafe {
            bindings::nla_parse_nested(
                tb.as_mut_ptr(),
                max as i32,
                self.0,
                policy.as_ptr().cast(),
                extack.as_raw(),
            )
        })?;
        // INVARIANT: validated attributes inside the request.
        Ok(Nested {
            tb,
            _p: PhantomData,
        })
    }
}

/// The attributes nested in one, parsed against a policy.
///
/// # Invariants
///
/// Each non-null entry of `tb` is a valid attribute of the request,
/// validated against the policy it was parsed with; entry `i` has type `i`.
pub struct Nested<'a> {
    tb: KVec<*mut bindings::nlattr>,
    _p: PhantomData<&'a ()>,
}

impl<'a> Nested<'a> {
    /// The nested attribute of type `attr`, if present.
    pub fn attr(&self, attr: u16) -> Option<Attr<'a>> {
        let a = *self.tb.get(usize::from(attr))?;
        // SAFETY: Valid and validated (type invariants).
        (!a.is_null()).then(|| unsafe { Attr::from_raw(a) })
    }
}

/// Iterator over a stream of attributes (`nla_for_each_attr`).
///
/// # Invariants
///
/// `next` points at `rem` bytes of attributes of a request being handled.
struct AttrIter<'a> {
    next: *const bindings::nlattr,
    rem: i32,
    _p: PhantomData<&'a ()>,
}

impl<'a> Iterator for AttrIter<'a> {
    type Item = Attr<'a>;

    fn next(&mut self) -> Option<Attr<'a>> {
        // SAFETY: `next` points at `rem` bytes of the request (type
        // invariants); `nla_ok` checks that a whole attribute is there.
        if unsafe { bindings::nla_ok(self.next, self.rem) } == 0 {
            return None;
        }
        let a = self.next;
        // SAFETY: `a` is a whole attribute; `nla_next` steps over it and
        // updates `rem`.
        self.next = unsafe { bindings::nla_next(a, &mut self.rem) };
        // SAFETY: An attribute of the request, validated by genetlink
        // against the operation's policy before the handler runs.
        Some(unsafe { Attr::from_raw(a) })
    }
}

/// Sends a message of command `cmd` built by `fill` to multicast group
/// `group` of `family` in `net`.
///
/// # Safety
///
/// `family` is a registered family.
unsafe fn multicast(
    family: *const bindings::genl_family,
    net: &Net,
    group: u32,
    cmd: u8,
    fill: impl FnOnce(&mut Message<'_>) -> Result,
) -> Result {
    // SAFETY: `family` is registered (the caller's guarantee).
    if group >= u32::from(unsafe { (*family).n_mcgrps }) {
        return Err(EINVAL);
    }
    // SAFETY: `family` is registered (the caller's guarantee).
    let skb = unsafe { build(family, 0, 0, cmd, fill) }?;
    // SAFETY: `skb` holds a complete message; `genlmsg_multicast_netns`
    // consumes it; `group` is below the family's group count.
    let ret = unsafe {
        bindings::genlmsg_multicast_netns(family, net.as_ptr(), skb, 0, group, GFP_KERNEL.as_raw())
    };
    // Nobody listening.
    if ret == -(bindings::ESRCH as i32) {
        return Ok(());
    }
    to_result(ret)
}

/// A dump in progress (`struct netlink_callback`): messages are added to
/// the current reply skb until it is full.
///
/// # Invariants
///
/// `skb` and `cb` are the reply and callback of a dump of a registered
/// family being handled, valid for `'a`.
pub struct Dump<'a> {
    skb: *mut bindings::sk_buff,
    cb: *mut bindings::netlink_callback,
    family: *const bindings::genl_family,
    cmd: u8,
    _p: PhantomData<&'a ()>,
}

impl<'a> Dump<'a> {
    /// The network namespace of the requesting socket.
    pub fn net(&self) -> &'a Net {
        // SAFETY: The request's socket (valid during the dump, type
        // invariants) holds its namespace.
        unsafe { Net::from_raw(bindings::net_ext_netlink_cb_net(self.cb)) }
    }

    /// Netlink port id of the requester.
    pub fn portid(&self) -> u32 {
        // SAFETY: `cb` is valid (type invariants).
        unsafe { bindings::net_ext_netlink_cb_portid(self.cb) }
    }

    /// Where the dump is: kept between the calls of one dump, 0 at first.
    pub fn cursor(&mut self) -> &mut u64 {
        // SAFETY: `cb->ctx` is 48 bytes of scratch space of this dump,
        // aligned for a `long` (type invariants; we are its only user).
        unsafe { &mut *bindings::net_ext_netlink_cb_ctx(self.cb).cast::<u64>() }
    }

    /// Adds one message built by `fill`. `EMSGSIZE` if it does not fit
    /// (nothing of it stays): end this call, the dump goes on in the next.
    pub fn add(&mut self, fill: impl FnOnce(&mut Message<'_>) -> Result) -> Result {
        // SAFETY: `skb` and `cb` are the dump's (type invariants).
        let hdr = unsafe {
            bindings::genlmsg_put(
                self.skb,
                bindings::net_ext_netlink_cb_portid(self.cb),
                bindings::net_ext_netlink_cb_seq(self.cb),
                self.family,
                bindings::NLM_F_MULTI as i32,
                self.cmd,
            )
        };
        if hdr.is_null() {
            return Err(EMSGSIZE);
        }
        // INVARIANT: a message being built in the dump's skb.
        let mut msg = Message {
            skb: self.skb,
            _p: PhantomData,
        };
        match fill(&mut msg) {
            Ok(()) => {
                // SAFETY: `hdr` starts the message just built in `skb`.
                unsafe { bindings::genlmsg_end(self.skb, hdr) };
                Ok(())
            }
            Err(e) => {
                // SAFETY: As above: the message is removed whole.
                unsafe { bindings::genlmsg_cancel(self.skb, hdr) };
                Err(e)
            }
        }
    }
}

/// A generic netlink socket being released (`NETLINK_URELEASE`).
///
/// # Invariants
///
/// `net` is the socket's namespace, alive during the notification;
/// `family` is registered.
pub struct Release<'a> {
    net: &'a Net,
    portid: u32,
    family: *const bindings::genl_family,
}

impl Release<'_> {
    /// The socket's network namespace.
    pub fn net(&self) -> &Net {
        self.net
    }

    /// The socket's port id.
    pub fn portid(&self) -> u32 {
        self.portid
    }

    /// As [`Info::multicast`], in the socket's namespace.
    pub fn multicast(
        &self,
        group: u32,
        cmd: u8,
        fill: impl FnOnce(&mut Message<'_>) -> Result,
    ) -> Result {
        // SAFETY: `family` is registered (type invariants).
        unsafe { multicast(self.family, self.net, group, cmd, fill) }
    }
}

/// A generic netlink message being built.
///
/// # Invariants
///
/// `skb` holds one generic netlink message being built, owned by whoever
/// created this object.
pub struct Message<'a> {
    skb: *mut bindings::sk_buff,
    _p: PhantomData<&'a ()>,
}

impl Message<'_> {
    /// Appends a `u32` attribute.
    pub fn put_u32(&mut self, attr: u16, value: u32) -> Result {
        // SAFETY: By the type invariants, `skb` is a message being built.
        to_result(unsafe { bindings::nla_put_u32(self.skb, attr.into(), value) })
            .map_err(|_| EMSGSIZE)
    }

    /// Appends a `u16` attribute.
    pub fn put_u16(&mut self, attr: u16, value: u16) -> Result {
        // SAFETY: By the type invariants, `skb` is a message being built.
        to_result(unsafe { bindings::nla_put_u16(self.skb, attr.into(), value) })
            .map_err(|_| EMSGSIZE)
    }

    /// Appends a binary attribute.
    pub fn put_bytes(&mut self, attr: u16, value: &[u8]) -> Result {
        let len = i32::try_from(value.len()).map_err(|_| EMSGSIZE)?;
        // SAFETY: By the type invariants, `skb` is a message being built;
        // `value` is valid for reads of `len` bytes.
        to_result(unsafe { bindings::nla_put(self.skb, attr.into(), len, value.as_ptr().cast()) })
            .map_err(|_| EMSGSIZE)
    }

    /// Appends a nest attribute whose content `fill` adds (nothing of it
    /// stays if `fill` fails).
    pub fn put_nest(&mut self, attr: u16, fill: impl FnOnce(&mut Self) -> Result) -> Result {
        // SAFETY: By the type invariants, `skb` is a message being built.
        let start = unsafe { bindings::nla_nest_start(self.skb, attr.into()) };
        if start.is_null() {
            return Err(EMSGSIZE);
        }
        match fill(self) {
            Ok(()) => {
                // SAFETY: `start` opened the nest in `skb` above.
                unsafe { bindings::nla_nest_end(self.skb, start) };
                Ok(())
            }
            Err(e) => {
                // SAFETY: As above: the nest is removed whole.
                unsafe { bindings::nla_nest_cancel(self.skb, start) };
                Err(e)
            }
        }
    }

    /// Appends a `u64` attribute, aligned with a `pad` attribute if needed.
    pub fn put_u64(&mut self, attr: u16, value: u64, pad: u16) -> Result {
        // SAFETY: By the type invariants, `skb` is a message being built.
        to_result(unsafe { bindings::nla_put_u64_64bit(self.skb, attr.into(), value, pad.into()) })
            .map_err(|_| EMSGSIZE)
    }
}

/// A registered family; unregistered when dropped.
///
/// # Examples
///
/// ```
/// use kernel::c_str;
/// use kernel::net::genl::{Family, Info, Op, Perm, Registration};
/// use kernel::prelude::*;
///
/// // SAFETY: Built-in code's module pointer is null.
/// static M: ThisModule = unsafe { ThisModule::from_ptr(core::ptr::null_mut()) };
///
/// struct Demo;
/// impl Family for Demo {
///     type Data = ();
///     const NAME: &'static CStr = c_str!("rs_genl_demo");
///     const VERSION: u32 = 1;
///     const OPS: &'static [Op] = &[
///         Op { cmd: 1, perm: Perm::Any, policy: &[] },
///         Op { cmd: 2, perm: Perm::Admin, policy: &[] },
///     ];
///     fn doit(_data: &(), _cmd: u8, _info: &Info<'_>) -> Result {
///         Ok(())
///     }
/// }
///
/// let reg = Registration::<Demo>::new(&M, ())?;
/// // The name is taken while `reg` lives.
/// assert_eq!(Registration::<Demo>::new(&M, ()).err(), Some(EEXIST));
/// drop(reg);
/// let reg = Registration::<Demo>::new(&M, ())?;
/// drop(reg);
///
/// // Operations out of order would make genetlink WARN: refused first.
/// struct Unsorted;
/// impl Family for Unsorted {
///     type Data = ();
///     const NAME: &'static CStr = c_str!("rs_genl_bad");
///     const VERSION: u32 = 1;
///     const OPS: &'static [Op] = &[
///         Op { cmd: 2, perm: Perm::Any, policy: &[] },
///         Op { cmd: 1, perm: Perm::Any, policy: &[] },
///     ];
///     fn doit(_data: &(), _cmd: u8, _info: &Info<'_>) -> Result {
///         Ok(())
///     }
/// }
/// assert_eq!(Registration::<Unsorted>::new(&M, ()).err(), Some(EINVAL));
///
/// // So would a name genetlink cannot hold.
/// struct LongName;
/// impl Family for LongName {
///     type Data = ();
///     const NAME: &'static CStr = c_str!("a_name_of_16_chr");
///     const VERSION: u32 = 1;
///     const OPS: &'static [Op] = &[Op { cmd: 1, perm: Perm::Any, policy: &[] }];
///     fn doit(_data: &(), _cmd: u8, _info: &Info<'_>) -> Result {
///         Ok(())
///     }
/// }
/// assert_eq!(Registration::<LongName>::new(&M, ()).err(), Some(EINVAL));
/// # Ok::<(), Error>(())
/// ```
///
/// # Invariants
///
/// `family` was registered with `genl_register_family` and stays
/// registered until `drop`; `ops` is the split ops table it points to.
pub struct Registration<F: Family> {
    inner: Pin<KBox<Inner<F>>>,
    _ops: KVec<bindings::genl_split_ops>,
    _mcgrps: KVec<bindings::genl_multicast_group>,
}

/// The registered family and its state, found from the family pointer in
/// each request.
#[pin_data]
struct Inner<F: Family> {
    family: Opaque<bindings::genl_family>,
    nb: Opaque<bindings::notifier_block>,
    #[pin]
    data: F::Data,
}

// SAFETY: The registration only owns C objects that the generic netlink core
// accesses under its own locking; it can be dropped from any thread.
unsafe impl<F: Family> Send for Registration<F> {}
// SAFETY: `&Registration` exposes nothing.
unsafe impl<F: Family> Sync for Registration<F> {}

/// Finds the family's [`Inner`] from its `genl_family`.
///
/// # Safety
///
/// `family` is the `genl_family` of a live `Registration<F>`.
unsafe fn inner_of<'a, F: Family>(family: *const bindings::genl_family) -> &'a Inner<F> {
    // SAFETY: `family` is inside the pinned `Inner<F>` of a registration
    // (the caller's guarantee).
    unsafe {
        &*crate::container_of!(
            family.cast::<Opaque<bindings::genl_family>>(),
            Inner<F>,
            family
        )
    }
}

/// Called by genetlink for every `dump` request of family `F`.
///
/// # Safety
///
/// `skb` and `cb` must be the reply and callback of a dump being handled.
unsafe extern "C" fn dumpit_callback<F: Family>(
    skb: *mut bindings::sk_buff,
    cb: *mut bindings::netlink_callback,
) -> core::ffi::c_int {
    // SAFETY: A dump of a generic netlink family (the caller's guarantee):
    // its `genl_info` and header are valid.
    let (family, cmd) = unsafe {
        let info = bindings::net_ext_genl_dump_info(cb);
        ((*info).family, (*(*info).genlhdr).cmd)
    };
    // SAFETY: Genetlink only calls us for the family registered with this
    // callback, alive while it runs.
    let inner = unsafe { inner_of::<F>(family) };
    // INVARIANT: the dump's reply and callback, valid during the call.
    let mut dump = Dump {
        skb,
        cb,
        family,
        cmd,
        _p: PhantomData,
    };
    // SAFETY: `skb` is valid during the call (the caller's guarantee).
    let skb_len = || unsafe { (*skb).len } as core::ffi::c_int;
    let before = skb_len();
    let r = F::dumpit(&inner.data, cmd, &mut dump);
    let after = skb_len();
    match r {
        // Done when a call adds nothing more.
        Ok(()) => after,
        // Full: called again with a new skb.
        Err(e) if e == EMSGSIZE && after > before => after,
        Err(e) => e.to_errno(),
    }
}

/// Called for every netlink socket released (`NETLINK_URELEASE`).
///
/// # Safety
///
/// `nb` is the notifier block of a live `Registration<F>`; `ptr` the
/// `netlink_notify` of the event.
unsafe extern "C" fn release_callback<F: Family>(
    nb: *mut bindings::notifier_block,
    event: usize,
    ptr: *mut core::ffi::c_void,
) -> core::ffi::c_int {
    if event != bindings::NETLINK_URELEASE as usize {
        return bindings::NOTIFY_DONE as core::ffi::c_int;
    }
    let n = ptr.cast::<bindings::netlink_notify>();
    // SAFETY: The event's `netlink_notify` (the caller's guarantee).
    let (net, portid, protocol) = unsafe { ((*n).net, (*n).portid, (*n).protocol) };
    if protocol != bindings::NETLINK_GENERIC as i32 {
        return bindings::NOTIFY_DONE as core::ffi::c_int;
    }
    // SAFETY: `nb` is inside the pinned `Inner<F>` of a live registration.
    let inner = unsafe {
        &*crate::container_of!(nb.cast::<Opaque<bindings::notifier_block>>(), Inner<F>, nb)
    };
    // INVARIANT: the socket holds its namespace until the notification is
    // over; the family is registered while the notifier is.
    let rel = Release {
        // SAFETY: As above.
        net: unsafe { Net::from_raw(net) },
        portid,
        family: inner.family.get(),
    };
    F::release(&inner.data, &rel);
    bindings::NOTIFY_DONE as core::ffi::c_int
}

/// Called by genetlink for every `do` request of family `F`.
///
/// # Safety
///
/// `info` must be the valid `genl_info` of the request being handled.
unsafe extern "C" fn doit_callback<F: Family>(
    _skb: *mut bindings::sk_buff,
    info: *mut bindings::genl_info,
) -> core::ffi::c_int {
    from_result(|| {
        // SAFETY: `info` is valid (guaranteed by the caller), so is the
        // generic netlink header it points to.
        let cmd = unsafe { (*(*info).genlhdr).cmd };
        // Genetlink only calls us for the commands of our split ops.
        let op = F::OPS.iter().find(|op| op.cmd == cmd).ok_or(EOPNOTSUPP)?;
        let maxattr = op.policy.len().saturating_sub(1) as u32;
        // SAFETY: guaranteed by the caller; `maxattr` is the one `new` gave
        // the split op of `cmd`.
        let family = unsafe { (*info).family };
        // SAFETY: `family` is the `genl_family` of a `Registration<F>`,
        // registered (so alive) while requests run.
        let inner = unsafe { inner_of::<F>(family) };
        // SAFETY: guaranteed by the caller; `maxattr` is the one `new` gave
        // the split op of `cmd`.
        let info = unsafe { Info::from_raw(info, maxattr) };
        F::doit(&inner.data, cmd, &info)?;
        Ok(0)
    })
}

impl<F: Family> Registration<F> {
    /// Registers family `F` with state `data`.
    pub fn new(module: &'static ThisModule, data: impl PinInit<F::Data, Error>) -> Result<Self> {
        let name = F::NAME.as_bytes();
        if name.is_empty() || name.len() >= bindings::GENL_NAMSIZ as usize || F::OPS.is_empty() {
            return Err(EINVAL);
        }
        let mut ops = KVec::with_capacity(F::OPS.len() + F::DUMPS.len(), GFP_KERNEL)?;
        let mut maxattr = 0;
        for (i, &d) in F::DUMPS.iter().enumerate() {
            if (i > 0 && F::DUMPS[i - 1] >= d) || !F::OPS.iter().any(|op| op.cmd == d) {
                return Err(EINVAL);
            }
        }
        for (i, op) in F::OPS.iter().enumerate() {
            if i > 0 && F::OPS[i - 1].cmd >= op.cmd {
                return Err(EINVAL);
            }
            let mut flags = bindings::GENL_CMD_CAP_DO;
            flags |= match op.perm {
                Perm::Any => 0,
                Perm::NetnsAdmin => bindings::GENL_UNS_ADMIN_PERM,
                Perm::Admin => bindings::GENL_ADMIN_PERM,
            };
            // SAFETY: `genl_split_ops` is plain old data; zero means "unset".
            let mut s: bindings::genl_split_ops = unsafe { core::mem::zeroed() };
            s.__bindgen_anon_1.__bindgen_anon_1.doit = Some(doit_callback::<F>);
            let policy = if op.policy.is_empty() {
                &REJECT_ALL[..]
            } else {
                op.policy
            };
            s.policy = policy.as_ptr().cast();
            s.maxattr = (policy.len() - 1) as u32;
            maxattr = maxattr.max(s.maxattr);
            s.cmd = op.cmd;
            s.flags = flags as u8;
            ops.push(s, GFP_KERNEL)?;
            if F::DUMPS.contains(&op.cmd) {
                // The dump of the same command follows its do.
                s.__bindgen_anon_1.__bindgen_anon_2 =
                    bindings::genl_split_ops__bindgen_ty_1__bindgen_ty_2 {
                        dumpit: Some(dumpit_callback::<F>),
                        // SAFETY: plain old data; zero means "unset".
                        ..unsafe { core::mem::zeroed() }
                    };
                s.flags = (flags & !bindings::GENL_CMD_CAP_DO | bindings::GENL_CMD_CAP_DUMP) as u8;
                s.policy = REJECT_ALL.as_ptr().cast();
                s.maxattr = (REJECT_ALL.len() - 1) as u32;
                ops.push(s, GFP_KERNEL)?;
            }
        }
        if F::MCGRPS.len() > u8::MAX as usize {
            return Err(EINVAL);
        }
        let mut mcgrps = KVec::with_capacity(F::MCGRPS.len(), GFP_KERNEL)?;
        for g in F::MCGRPS {
            let b = g.as_bytes();
            if b.is_empty() || b.len() >= bindings::GENL_NAMSIZ as usize {
                return Err(EINVAL);
            }
            // SAFETY: plain old data; zero means "unset".
            let mut m: bindings::genl_multicast_group = unsafe { core::mem::zeroed() };
            for (d, s) in m.name.iter_mut().zip(b) {
                *d = *s as _;
            }
            mcgrps.push(m, GFP_KERNEL)?;
        }

        // SAFETY: `genl_family` is plain old data; zero means "unset".
        let mut fam: bindings::genl_family = unsafe { core::mem::zeroed() };
        for (d, s) in fam.name.iter_mut().zip(name) {
            *d = *s as _;
        }
        fam.version = F::VERSION;
        fam.maxattr = maxattr;
        fam.set_netnsok(1);
        fam.n_split_ops = ops.len() as u8;
        fam.split_ops = ops.as_ptr();
        if !mcgrps.is_empty() {
            fam.mcgrps = mcgrps.as_ptr();
            fam.n_mcgrps = mcgrps.len() as u8;
        }
        // Zero, as new families leave it: the core checks the reserved
        // header field and the netlink flags of every command.
        fam.resv_start_op = 0;
        fam.module = module.as_ptr();
        let inner = KBox::pin_init(
            try_pin_init!(Inner::<F> {
                family: Opaque::new(fam),
                nb: Opaque::new(bindings::notifier_block {
                    notifier_call: Some(release_callback::<F>),
                    // SAFETY: plain old data; zero means "unset".
                    ..unsafe { core::mem::zeroed() }
                }),
                data <- data,
            }? Error),
            GFP_KERNEL,
        )?;

        // SAFETY: `inner.family` is a fully initialised family, pinned on
        // the heap; it and the `ops` table it points to live until `drop`
        // unregisters it.
        to_result(unsafe { bindings::genl_register_family(inner.family.get()) })?;
        // SAFETY: `inner.nb` is pinned and lives until `drop` unregisters
        // it; its callback finds `inner` from it.
        let r = to_result(unsafe { bindings::netlink_register_notifier(inner.nb.get()) });
        if let Err(e) = r {
            // SAFETY: Registered above, no user yet.
            unsafe { bindings::genl_unregister_family(inner.family.get()) };
            return Err(e);
        }
        // INVARIANT: registered above.
        Ok(Self {
            inner,
            _ops: ops,
            _mcgrps: mcgrps,
        })
    }

    /// Sends a message of command `cmd` built by `fill` to multicast group
    /// `group` (an index into [`Family::MCGRPS`]) in `net`. Nobody
    /// listening is not an error.
    pub fn multicast(
        &self,
        net: &Net,
        group: u32,
        cmd: u8,
        fill: impl FnOnce(&mut Message<'_>) -> Result,
    ) -> Result {
        // SAFETY: Registered while `self` lives (type invariants).
        unsafe { multicast(self.inner.family.get(), net, group, cmd, fill) }
    }

    /// The family's state.
    pub fn data(&self) -> &F::Data {
        &self.inner.data
    }
}

impl<F: Family> Drop for Registration<F> {
    fn drop(&mut self) {
        // SAFETY: By the type invariants the notifier and the family are
        // registered. After this returns no callback runs any more.
        unsafe {
            bindings::netlink_unregister_notifier(self.inner.nb.get());
            bindings::genl_unregister_family(self.inner.family.get());
        }
    }
}
