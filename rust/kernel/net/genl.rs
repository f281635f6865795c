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
use crate::prelude::*;
use crate::str::CStr;
use crate::types::Opaque;
use crate::ThisModule;
use core::marker::PhantomData;

/// Attribute type constants of the netlink policy (`enum nla_types`).
mod nla {
    use crate::bindings;
    pub(super) const U32: u8 = bindings::NLA_U32 as u8;
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

    /// A `u32` attribute of at least `min`.
    pub const fn u32_min(min: i16) -> Self {
        let mut p = Self::new(nla::U32);
        p.0.validation_type = nla::VALIDATE_MIN;
        p.0.__bindgen_anon_1.__bindgen_anon_1 =
            bindings::nla_policy__bindgen_ty_1__bindgen_ty_1 { min, max: 0 };
        p
    }

    /// A `u32` attribute in `min..=max`.
    pub const fn u32_range(min: i16, max: i16) -> Self {
        let mut p = Self::new(nla::U32);
        p.0.validation_type = nla::VALIDATE_RANGE;
        p.0.__bindgen_anon_1.__bindgen_anon_1 =
            bindings::nla_policy__bindgen_ty_1__bindgen_ty_1 { min, max };
        p
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

    /// Handles a `do` request for command `cmd`.
    ///
    /// On error, the errno (and any message set with
    /// [`Info::set_err_msg`]) is reported to the caller in the ack.
    fn doit(data: &Self::Data, cmd: u8, info: &Info<'_>) -> Result;
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

    /// Builds a reply with `fill` and sends it to the requester.
    pub fn reply(&self, fill: impl FnOnce(&mut Message<'_>) -> Result) -> Result {
        // SAFETY: FFI call; a null return means allocation failure.
        let skb = unsafe { bindings::genlmsg_new(bindings::NLMSG_GOODSIZE, GFP_KERNEL.as_raw()) };
        if skb.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: `skb` is a fresh message buffer; by the type invariants
        // `self.raw` is valid, and so are its header and family
        // (`genlmsg_put_reply`).
        let hdr = unsafe {
            bindings::genlmsg_put(
                skb,
                self.raw.snd_portid,
                self.raw.snd_seq,
                self.raw.family,
                0,
                self.cmd(),
            )
        };
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
        // SAFETY: `skb` holds a complete message with header `hdr`;
        // `genlmsg_reply` consumes it.
        to_result(unsafe {
            bindings::genlmsg_end(skb, hdr);
            bindings::genlmsg_reply(skb, self.as_ptr())
        })
    }
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
}

/// The registered family and its state, found from the family pointer in
/// each request.
#[pin_data]
struct Inner<F: Family> {
    family: Opaque<bindings::genl_family>,
    #[pin]
    data: F::Data,
}

// SAFETY: The registration only owns C objects that the generic netlink core
// accesses under its own locking; it can be dropped from any thread.
unsafe impl<F: Family> Send for Registration<F> {}
// SAFETY: `&Registration` exposes nothing.
unsafe impl<F: Family> Sync for Registration<F> {}

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
        // inside its pinned `Inner<F>`, registered (so alive) while
        // requests run.
        let inner = unsafe {
            &*crate::container_of!(
                family.cast::<Opaque<bindings::genl_family>>(),
                Inner<F>,
                family
            )
        };
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
        let mut ops = KVec::with_capacity(F::OPS.len(), GFP_KERNEL)?;
        let mut maxattr = 0;
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
            if !op.policy.is_empty() {
                s.policy = op.policy.as_ptr().cast();
                s.maxattr = (op.policy.len() - 1) as u32;
                maxattr = maxattr.max(s.maxattr);
            }
            s.cmd = op.cmd;
            s.flags = flags as u8;
            ops.push(s, GFP_KERNEL)?;
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
        // Strict validation for every command of a new family.
        fam.resv_start_op = F::OPS[F::OPS.len() - 1].cmd + 1;
        fam.module = module.as_ptr();
        let inner = KBox::pin_init(
            try_pin_init!(Inner::<F> {
                family: Opaque::new(fam),
                data <- data,
            }? Error),
            GFP_KERNEL,
        )?;

        // SAFETY: `inner.family` is a fully initialised family, pinned on
        // the heap; it and the `ops` table it points to live until `drop`
        // unregisters it.
        to_result(unsafe { bindings::genl_register_family(inner.family.get()) })?;
        // INVARIANT: registered above.
        Ok(Self { inner, _ops: ops })
    }

    /// The family's state.
    pub fn data(&self) -> &F::Data {
        &self.inner.data
    }
}

impl<F: Family> Drop for Registration<F> {
    fn drop(&mut self) {
        // SAFETY: By the type invariants the family is registered. After
        // this returns no callback runs any more.
        unsafe { bindings::genl_unregister_family(self.inner.family.get()) };
    }
}
