// SPDX-License-Identifier: GPL-2.0

//! The socket side: `recvmsg(MSG_SOCK_DEVMEM)` and `SO_DEVMEM_DONTNEED`.
//!
//! What user space sees is 6.12's, byte for byte: the cmsgs and their
//! order, the token values, the bytes reported, the return values and
//! errnos (Documentation/networking/devmem-rs.rst lists them), with one
//! exception: a control buffer too small for the next cmsg fails the read
//! with `EMSGSIZE`, where 6.12 leaks the kernel-internal `ETOOSMALL` (525).
//! What differs is the token store ([`crate::tokens`]) and how
//! `SO_DEVMEM_DONTNEED` gives frags back: in batches of up to 64, each
//! taken out of the table under one lock hold and released without it.

use crate::tokens::{give_back, Batch, Tokens};
use kernel::bindings;
use kernel::net::devmem_uapi::{
    DmabufCmsg, DmabufToken, MAX_DONTNEED_TOKENS, SCM_DEVMEM_DMABUF, SCM_DEVMEM_LINEAR,
};
use kernel::net::netmem::NetIovRef;
use kernel::net::skb::Skb;
use kernel::net::sock::{LockedSock, Msg, OptVal, Sock, SockCore};
use kernel::prelude::*;

/// How many tokens of a `SO_DEVMEM_DONTNEED` call are copied to the stack
/// (256 bytes) rather than to the heap: the batch sizes receivers use
/// for latency (1 to 32).
const STACK_TOKENS: usize = 32;

/// The socket side of the Rust devmem core.
pub(crate) struct DevmemSock;

kernel::net_devmem_sock!(DevmemSock);

impl SockCore for DevmemSock {
    type Tokens = Tokens<NetIovRef>;

    fn recvmsg_dmabuf(
        sk: &LockedSock<Self::Tokens>,
        skb: &Skb,
        offset: u32,
        msg: &mut Msg<'_>,
        len: u32,
    ) -> Result<u32> {
        let tokens = sk.tokens_or_init(Tokens::new())?;
        let mut batch = Batch::new(&tokens);
        let mut sent = 0u32;
        let r = receive(&mut batch, skb, offset, msg, len, &mut sent);
        batch.commit();
        match r {
            Err(e) if sent == 0 => Err(e),
            _ => Ok(sent),
        }
    }

    fn dontneed(sk: &Sock<Self::Tokens>, optval: &OptVal<'_>) -> Result<u32> {
        const TOKEN: usize = core::mem::size_of::<DmabufToken>();
        if !sk.is_tcp() {
            return Err(EBADF);
        }
        let len = optval.len();
        if len % TOKEN != 0 || len > TOKEN * MAX_DONTNEED_TOKENS {
            return Err(EINVAL);
        }
        // Every token is read before any is given back (a fault fails the
        // call with nothing done, as in 6.12); up to STACK_TOKENS of them
        // on the stack. A heap copy per call (what 6.12 does) was, with
        // its kmemleak bookkeeping, 38% of a 1-token call's time in the
        // test kernel (make bench's batch-1 profile).
        let mut small = [0u8; TOKEN * STACK_TOKENS];
        let mut big: KVec<u8>;
        let raw: &mut [u8] = if len <= small.len() {
            &mut small[..len]
        } else {
            big = KVec::from_elem(0u8, len, GFP_KERNEL)?;
            &mut big
        };
        optval.read(raw)?;
        let Some(tokens) = sk.tokens() else {
            // No devmem read yet: no token is known.
            return Ok(0);
        };
        let word = |b: &[u8]| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
        let ranges = raw
            .chunks_exact(TOKEN)
            .map(|t| (word(&t[0..4]), word(&t[4..8])));
        Ok(give_back(&tokens, ranges))
    }
}

/// Puts `cmsg` as a control message of type `ty`.
fn put(msg: &mut Msg<'_>, ty: u32, cmsg: &DmabufCmsg) -> Result {
    let mut b = [0u8; 24];
    b[0..8].copy_from_slice(&cmsg.frag_offset.to_ne_bytes());
    b[8..12].copy_from_slice(&cmsg.frag_size.to_ne_bytes());
    b[12..16].copy_from_slice(&cmsg.frag_token.to_ne_bytes());
    b[16..20].copy_from_slice(&cmsg.dmabuf_id.to_ne_bytes());
    b[20..24].copy_from_slice(&cmsg.flags.to_ne_bytes());
    msg.put_cmsg(bindings::SOL_SOCKET as i32, ty as i32, &b)
}

/// The read itself: `len` bytes from `offset` of `skb` and the skbs on its
/// frag list, counting what was received in `sent`.
fn receive(
    batch: &mut Batch<'_, NetIovRef>,
    skb: &Skb,
    mut offset: u32,
    msg: &mut Msg<'_>,
    mut len: u32,
    sent: &mut u32,
) -> Result {
    for s in Iterator::chain(core::iter::once(skb), skb.frag_list()) {
        if s.frags_readable() {
            return Err(ENODEV);
        }
        // Where the skb's next piece starts, relative to the skb.
        let mut start = s.headlen();
        if offset < start {
            let copy = (start - offset).min(len);
            let lin = &s.linear()[offset as usize..(offset + copy) as usize];
            if msg.copy_to_iter(lin) != copy as usize {
                return Err(EFAULT);
            }
            offset += copy;
            len -= copy;
            let cmsg = DmabufCmsg {
                frag_offset: 0,
                frag_size: copy,
                frag_token: 0,
                dmabuf_id: 0,
                flags: 0,
            };
            put(msg, SCM_DEVMEM_LINEAR, &cmsg)?;
            *sent += copy;
            if len == 0 {
                return Ok(());
            }
        }
        let nr_frags = s.nr_frags();
        for (i, frag) in s.frags().enumerate() {
            let Some(niov) = frag.net_iov() else {
                pr_err!("devmem: an unreadable skb has a page frag\n");
                return Err(ENODEV);
            };
            let end = start + frag.size();
            if offset < end {
                let copy = (end - offset).min(len);
                let token = batch.next_token(nr_frags - i)?;
                let cmsg = DmabufCmsg {
                    frag_offset: niov.dmabuf_offset() + u64::from(frag.offset() + offset - start),
                    frag_size: copy,
                    frag_token: token,
                    dmabuf_id: niov.binding_id(),
                    flags: 0,
                };
                offset += copy;
                len -= copy;
                put(msg, SCM_DEVMEM_DMABUF, &cmsg)?;
                batch.give(niov.hold());
                niov.note_received(copy);
                *sent += copy;
                if len == 0 {
                    return Ok(());
                }
            }
            start = end;
        }
        batch.commit();
        offset -= start;
    }
    // The skbs ended before `len` bytes.
    Err(EFAULT)
}
