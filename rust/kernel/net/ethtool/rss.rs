// SPDX-License-Identifier: GPL-2.0

//! Receive side scaling: hash function, key and indirection table
//! (`ethtool -x/-X`, `struct ethtool_rxfh_param`).
//!
//! C header: [`include/linux/ethtool.h`](srctree/include/linux/ethtool.h)

use crate::bindings;
use crate::error::{code::*, Result};

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
    pub(super) fn from_raw(v: u8) -> Option<Self> {
        match v {
            0 => None,
            v if v == 1 << bindings::ETH_RSS_HASH_TOP_BIT => Some(Self::Toeplitz),
            v if v == 1 << bindings::ETH_RSS_HASH_XOR_BIT => Some(Self::Xor),
            v if v == 1 << bindings::ETH_RSS_HASH_CRC32_BIT => Some(Self::Crc32),
            v => Some(Self::Other(v)),
        }
    }

    pub(super) fn to_raw(self) -> u8 {
        match self {
            Self::Toeplitz => 1 << bindings::ETH_RSS_HASH_TOP_BIT,
            Self::Xor => 1 << bindings::ETH_RSS_HASH_XOR_BIT,
            Self::Crc32 => 1 << bindings::ETH_RSS_HASH_CRC32_BIT,
            Self::Other(v) => v,
        }
    }
}

/// What [`super::EthtoolOps::get_rxfh`] reports: the driver sets `hfunc` and
/// fills the arrays the core asked for (each exactly
/// [`super::EthtoolOps::RSS_KEY_SIZE`] / [`super::EthtoolOps::RSS_INDIR_SIZE`] long).
pub struct RxfhGet<'a> {
    /// The hash function in use.
    pub hfunc: RssHashFunc,
    /// The hash key, if asked for.
    pub key: Option<&'a mut [u8]>,
    /// The indirection table, if asked for.
    pub indir: Option<&'a mut [u32]>,
}

/// An RSS change for [`super::EthtoolOps::set_rxfh`]; `None` means no change.
///
/// The core has checked that `indir` (exactly
/// [`super::EthtoolOps::RSS_INDIR_SIZE`] entries) names only queues below the
/// [`super::EthtoolOps::rx_rings`] count, and filled it with the default spread
/// when the user asked for a reset; `key` is exactly
/// [`super::EthtoolOps::RSS_KEY_SIZE`] bytes.
pub struct RxfhSet<'a> {
    /// New hash function.
    pub hfunc: Option<RssHashFunc>,
    /// New hash key.
    pub key: Option<&'a [u8]>,
    /// New indirection table.
    pub indir: Option<&'a [u32]>,
}

/// The key or indirection table the core passed, as a slice: `None` if it
/// passed none, `EINVAL` unless it has the `want` entries the driver
/// reported (the core sizes its arrays from that; refuse anything else
/// rather than trust a length we did not report).
///
/// # Safety
///
/// A non-null `ptr` must be valid for reads and writes of `size` entries
/// for `'a`, and not otherwise accessed meanwhile.
pub(super) unsafe fn array<'a, E>(
    ptr: *mut E,
    size: u32,
    want: u32,
) -> Result<Option<&'a mut [E]>> {
    if ptr.is_null() {
        return Ok(None);
    }
    if size != want {
        return Err(EINVAL);
    }
    // SAFETY: guaranteed by the caller.
    Ok(Some(unsafe {
        core::slice::from_raw_parts_mut(ptr, size as usize)
    }))
}

/// Like [`array`], for a GET, where the size fields are outputs: the core
/// allocated the arrays from the sizes the driver reported, and may leave
/// a size 0 (`ethtool_get_max_rxfh_channel()`, run before `ethtool -L`,
/// passes a table of our size with `indir_size` 0). A size that is set
/// must still be `want`.
///
/// # Safety
///
/// A non-null `ptr` must be valid for reads and writes of `want` entries
/// for `'a`, and not otherwise accessed meanwhile.
pub(super) unsafe fn array_out<'a, E>(
    ptr: *mut E,
    size: u32,
    want: u32,
) -> Result<Option<&'a mut [E]>> {
    // SAFETY: guaranteed by the caller, for `want` entries.
    unsafe { array(ptr, if size == 0 { want } else { size }, want) }
}

/// An additional RSS context as the ethtool core keeps it
/// (`struct ethtool_rxfh_context`), handed to
/// [`super::EthtoolOps::create_rxfh_context`] for the driver to write the
/// table and key it uses when the request leaves them out.
///
/// # Invariants
///
/// `ptr` points to a context the core allocated for this device (its
/// indirection table of [`super::EthtoolOps::RSS_INDIR_SIZE`] entries and
/// key of [`super::EthtoolOps::RSS_KEY_SIZE`] bytes, the sizes the adapter
/// reported), valid and accessed by nobody else for `'a` (the core holds
/// the device's `rss_lock` and RTNL around the call).
///
/// # Examples
///
/// A driver with additional contexts gets the three context ops, IDs
/// below its `RSS_CONTEXTS` and a key per context in its ops table:
///
/// ```
/// use kernel::bindings;
/// use kernel::c_str;
/// use kernel::net::ethtool::{EthtoolOps, OpsTable, RssHashFunc, RxfhContext, RxfhGet, RxfhSet};
/// use kernel::net::mp::ExtAck;
/// use kernel::net::netdev::{self, Device, Features, Params, Registration, TxResult};
/// use kernel::net::skb::TxSkb;
/// use kernel::prelude::*;
///
/// struct Ctx;
/// #[vtable]
/// impl netdev::Driver for Ctx {
///     type Data = ();
///     fn start_xmit(_dev: &Device<Self>, skb: TxSkb) -> TxResult {
///         skb.consume();
///         TxResult::Ok
///     }
/// }
/// #[vtable]
/// impl EthtoolOps for Ctx {
///     const RSS_KEY_SIZE: u32 = 4;
///     const RSS_INDIR_SIZE: u32 = 8;
///     const RSS_CONTEXTS: u32 = 4;
///     fn get_rxfh(_dev: &Device<Self>, _rss: &mut RxfhGet<'_>) -> Result {
///         Ok(())
///     }
///     fn set_rxfh(_dev: &Device<Self>, _rss: &RxfhSet<'_>) -> Result {
///         Ok(())
///     }
///     fn create_rxfh_context(
///         _dev: &Device<Self>,
///         _id: u32,
///         _rss: &RxfhSet<'_>,
///         ctx: &mut RxfhContext<'_>,
///         _extack: &ExtAck<'_>,
///     ) -> Result<RssHashFunc> {
///         ctx.key_mut().fill(1);
///         Ok(RssHashFunc::Toeplitz)
///     }
///     fn modify_rxfh_context(
///         _dev: &Device<Self>,
///         _id: u32,
///         _rss: &RxfhSet<'_>,
///         _extack: &ExtAck<'_>,
///     ) -> Result {
///         Ok(())
///     }
///     fn remove_rxfh_context(_dev: &Device<Self>, _id: u32, _extack: &ExtAck<'_>) -> Result {
///         Ok(())
///     }
/// }
///
/// let params = Params {
///     name: c_str!("rsctx%d"),
///     txqs: 2,
///     rxqs: 2,
///     mac: [0x02, 0, 0, 0, 0, 9],
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
/// let reg = Registration::<Ctx>::new(&params, ())?;
/// // SAFETY: The device is registered with our ops table, looked up
/// // under RTNL; only the table is read.
/// let ops = unsafe {
///     bindings::rtnl_lock();
///     let net = core::ptr::addr_of_mut!(bindings::init_net);
///     let raw = bindings::__dev_get_by_index(net, reg.device().ifindex());
///     let ops = *(*raw).ethtool_ops;
///     bindings::rtnl_unlock();
///     ops
/// };
/// assert!(ops.create_rxfh_context.is_some());
/// assert!(ops.modify_rxfh_context.is_some() && ops.remove_rxfh_context.is_some());
/// assert_eq!(ops.rxfh_max_num_contexts, 4);
/// // Our bitfield initializer sets `rxfh_per_ctx_key` and nothing else.
/// assert_eq!(ops.rxfh_per_ctx_key(), 1);
/// assert_eq!(ops.cap_rss_ctx_supported(), 0);
/// assert_eq!(ops.rxfh_per_ctx_fields(), 0);
/// assert_eq!(ops.cap_rss_rxnfc_adds(), 0);
/// assert_eq!(ops.supported_input_xfrm(), 0);
/// # Ok::<(), Error>(())
/// ```
pub struct RxfhContext<'a> {
    ptr: core::ptr::NonNull<bindings::ethtool_rxfh_context>,
    _p: core::marker::PhantomData<&'a mut bindings::ethtool_rxfh_context>,
}

impl<'a> RxfhContext<'a> {
    /// # Safety
    ///
    /// `ptr` must satisfy the type invariants for `'a`.
    pub(super) unsafe fn from_raw(ptr: core::ptr::NonNull<bindings::ethtool_rxfh_context>) -> Self {
        // INVARIANT: guaranteed by the caller.
        Self {
            ptr,
            _p: core::marker::PhantomData,
        }
    }

    /// The context's indirection table (zeroed when the core created it).
    pub fn indir_mut(&mut self) -> &mut [u32] {
        // SAFETY: By the type invariants the context is valid and ours.
        let (p, n) = unsafe {
            (
                bindings::ethtool_rxfh_context_indir(self.ptr.as_ptr()),
                bindings::net_ext_rxfh_ctx_indir_size(self.ptr.as_ptr()),
            )
        };
        // SAFETY: The table has `indir_size` entries in the context's data
        // area (type invariants), only reached through this borrow.
        unsafe { core::slice::from_raw_parts_mut(p, n as usize) }
    }

    /// The context's hash key (zeroed when the core created it).
    pub fn key_mut(&mut self) -> &mut [u8] {
        // SAFETY: By the type invariants the context is valid and ours.
        let (p, n) = unsafe {
            (
                bindings::ethtool_rxfh_context_key(self.ptr.as_ptr()),
                bindings::net_ext_rxfh_ctx_key_size(self.ptr.as_ptr()),
            )
        };
        // SAFETY: The key has `key_size` bytes in the context's data area
        // (type invariants), only reached through this borrow.
        unsafe { core::slice::from_raw_parts_mut(p, n as usize) }
    }

    /// Records the hash function and input transformation (none) in use.
    pub(super) fn set_hfunc(&mut self, hfunc: RssHashFunc) {
        // SAFETY: By the type invariants the context is valid and ours.
        unsafe { bindings::net_ext_rxfh_ctx_set_hfunc(self.ptr.as_ptr(), hfunc.to_raw(), 0) };
    }
}
