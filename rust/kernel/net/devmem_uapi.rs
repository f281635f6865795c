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
