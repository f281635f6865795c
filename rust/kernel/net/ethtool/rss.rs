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
