// SPDX-License-Identifier: GPL-2.0

//! The user ABI of Device Memory TCP, as merged in Linux 6.12.
//!
//! C headers: [`include/uapi/linux/uio.h`](srctree/include/uapi/linux/uio.h),
//! [`include/uapi/asm-generic/socket.h`](srctree/include/uapi/asm-generic/socket.h),
//! [`include/linux/socket.h`](srctree/include/linux/socket.h).
//!
//! devmem-rs stays ABI-compatible with the C implementation: the socket
//! option and cmsg numbers, `MSG_SOCK_DEVMEM` and the layouts of
//! `struct dmabuf_cmsg` and `struct dmabuf_token` are taken from the C
//! headers through bindgen, and checked at build time below.

use crate::bindings;
use crate::error::{code::*, Result};

/// `SO_DEVMEM_LINEAR`: cmsg type reporting bytes copied from the linear part.
pub const SCM_DEVMEM_LINEAR: u32 = bindings::SCM_DEVMEM_LINEAR;
/// `SO_DEVMEM_DMABUF`: cmsg type describing one payload frag in a dma-buf.
pub const SCM_DEVMEM_DMABUF: u32 = bindings::SCM_DEVMEM_DMABUF;
/// `SO_DEVMEM_DONTNEED`: socket option that returns frags to the kernel.
pub const SO_DEVMEM_DONTNEED: u32 = bindings::SO_DEVMEM_DONTNEED;
/// `MSG_SOCK_DEVMEM`: recvmsg flag asking for devmem cmsgs.
pub const MSG_SOCK_DEVMEM: u32 = bindings::MSG_SOCK_DEVMEM;

/// Most tokens one `SO_DEVMEM_DONTNEED` call may carry (as in 6.12).
pub const MAX_DONTNEED_TOKENS: usize = 128;
/// Most frags one `SO_DEVMEM_DONTNEED` call frees; bounds the work done
/// under the socket's lock whatever the ranges say.
pub const MAX_DONTNEED_FRAGS: usize = 1024;

/// One payload frag as reported to user space (`struct dmabuf_cmsg`).
pub type DmabufCmsg = bindings::dmabuf_cmsg;
/// A range of tokens handed back with `SO_DEVMEM_DONTNEED`
/// (`struct dmabuf_token`).
pub type DmabufToken = bindings::dmabuf_token;

// The ABI is fixed: 24 and 8 bytes, no holes, whatever the headers say.
const _: () = {
    assert!(core::mem::size_of::<DmabufCmsg>() == 24);
    assert!(core::mem::offset_of!(DmabufCmsg, frag_offset) == 0);
    assert!(core::mem::offset_of!(DmabufCmsg, frag_size) == 8);
    assert!(core::mem::offset_of!(DmabufCmsg, frag_token) == 12);
    assert!(core::mem::offset_of!(DmabufCmsg, dmabuf_id) == 16);
    assert!(core::mem::offset_of!(DmabufCmsg, flags) == 20);
    assert!(core::mem::size_of::<DmabufToken>() == 8);
    assert!(core::mem::offset_of!(DmabufToken, token_start) == 0);
    assert!(core::mem::offset_of!(DmabufToken, token_count) == 4);
};

/// Number of [`DmabufToken`]s in a `SO_DEVMEM_DONTNEED` option of `optlen`
/// bytes.
///
/// Fails with `EINVAL` when `optlen` is not a whole number of tokens or
/// carries more than [`MAX_DONTNEED_TOKENS`], as the C implementation does.
///
/// # Examples
///
/// ```
/// use kernel::net_ext::devmem_uapi::dontneed_token_count;
/// use kernel::error::code::EINVAL;
///
/// assert_eq!(dontneed_token_count(0), Ok(0));
/// assert_eq!(dontneed_token_count(16), Ok(2));
/// assert_eq!(dontneed_token_count(128 * 8), Ok(128));
/// assert_eq!(dontneed_token_count(12), Err(EINVAL));
/// assert_eq!(dontneed_token_count(129 * 8), Err(EINVAL));
/// ```
pub fn dontneed_token_count(optlen: usize) -> Result<usize> {
    let size = core::mem::size_of::<DmabufToken>();
    if optlen % size != 0 || optlen > size * MAX_DONTNEED_TOKENS {
        return Err(EINVAL);
    }
    Ok(optlen / size)
}

/// Iterator over the token ids named by a `SO_DEVMEM_DONTNEED` request.
///
/// Yields at most [`MAX_DONTNEED_FRAGS`] ids in total, so a request for
/// huge ranges cannot keep the kernel busy. Ranges that run past `u32::MAX`
/// stop at `u32::MAX` instead of wrapping around to token 0.
///
/// # Examples
///
/// ```
/// use kernel::net_ext::devmem_uapi::{DmabufToken, DontneedTokens, MAX_DONTNEED_FRAGS};
///
/// let req = [
///     DmabufToken { token_start: 5, token_count: 2 },
///     DmabufToken { token_start: 1, token_count: 0 },
///     DmabufToken { token_start: 9, token_count: 1 },
/// ];
/// let mut it = DontneedTokens::new(&req);
/// assert_eq!(it.next(), Some(5));
/// assert_eq!(it.next(), Some(6));
/// assert_eq!(it.next(), Some(9));
/// assert_eq!(it.next(), None);
///
/// // The total is capped, whatever the ranges claim.
/// let big = [DmabufToken { token_start: 0, token_count: u32::MAX }; 4];
/// assert_eq!(DontneedTokens::new(&big).count(), MAX_DONTNEED_FRAGS);
///
/// // No wrap-around past u32::MAX.
/// let edge = [DmabufToken { token_start: u32::MAX - 1, token_count: 5 }];
/// assert_eq!(DontneedTokens::new(&edge).count(), 2);
/// ```
pub struct DontneedTokens<'a> {
    ranges: &'a [DmabufToken],
    /// Index of the next token within `ranges[0]`.
    pos: u32,
    left: usize,
}

impl<'a> DontneedTokens<'a> {
    /// Creates an iterator over the ids named by `ranges`.
    pub fn new(ranges: &'a [DmabufToken]) -> Self {
        Self {
            ranges,
            pos: 0,
            left: MAX_DONTNEED_FRAGS,
        }
    }
}

impl Iterator for DontneedTokens<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        while self.left > 0 {
            let (first, rest) = self.ranges.split_first()?;
            if self.pos < first.token_count {
                if let Some(id) = first.token_start.checked_add(self.pos) {
                    self.pos += 1;
                    self.left -= 1;
                    return Some(id);
                }
            }
            self.ranges = rest;
            self.pos = 0;
        }
        None
    }
}
