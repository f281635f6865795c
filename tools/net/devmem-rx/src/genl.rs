// SPDX-License-Identifier: GPL-2.0

//! A small generic netlink client: resolves a family with `nlctrl` and
//! sends the `netdev` family's `bind-rx`. The binding lives as long as the
//! socket: closing it (dropping [`Netdev`]) unbinds.

use crate::sys::{check, Fd, Result};
use std::mem::size_of;

const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_CAPPED: u16 = 0x100;
const NLM_F_ACK_TLVS: u16 = 0x200;
const NLA_F_NESTED: u16 = 1 << 15;
const NLA_TYPE_MASK: u16 = !(NLA_F_NESTED | (1 << 14));
const NETLINK_EXT_ACK: libc::c_int = 11;
const NLMSGERR_ATTR_MSG: u16 = 1;

const GENL_ID_CTRL: u16 = 0x10;
const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;

const NETDEV_FAMILY_VERSION: u8 = 1;
const NETDEV_CMD_BIND_RX: u8 = 13;
const NETDEV_A_DMABUF_IFINDEX: u16 = 1;
const NETDEV_A_DMABUF_QUEUES: u16 = 2;
const NETDEV_A_DMABUF_FD: u16 = 3;
const NETDEV_A_DMABUF_ID: u16 = 4;
const NETDEV_A_QUEUE_ID: u16 = 1;
const NETDEV_A_QUEUE_TYPE: u16 = 3;
const NETDEV_QUEUE_TYPE_RX: u32 = 0;

const NLMSG_HDRLEN: usize = 16;
const GENL_HDRLEN: usize = 4;

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Netlink attributes being built.
#[derive(Default)]
struct Attrs(Vec<u8>);

impl Attrs {
    fn put(&mut self, ty: u16, data: &[u8]) {
        let len = 4 + data.len();
        self.0.extend_from_slice(&(len as u16).to_ne_bytes());
        self.0.extend_from_slice(&ty.to_ne_bytes());
        self.0.extend_from_slice(data);
        self.0.resize(align4(self.0.len()), 0);
    }

    fn put_u32(&mut self, ty: u16, v: u32) {
        self.put(ty, &v.to_ne_bytes());
    }

    fn put_nest(&mut self, ty: u16, inner: &Attrs) {
        self.put(ty | NLA_F_NESTED, &inner.0);
    }
}

/// Iterates over netlink attributes: (type without flags, payload).
fn attrs(mut buf: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if buf.len() < 4 {
            return None;
        }
        let len = u16::from_ne_bytes([buf[0], buf[1]]) as usize;
        let ty = u16::from_ne_bytes([buf[2], buf[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > buf.len() {
            return None;
        }
        let payload = &buf[4..len];
        buf = &buf[align4(len).min(buf.len())..];
        Some((ty, payload))
    })
}

/// The payload of the first attribute of type `ty` in `replies`.
fn reply_attr(replies: &[Vec<u8>], ty: u16) -> Option<&[u8]> {
    replies
        .iter()
        .flat_map(|r| attrs(r))
        .find(|(t, _)| *t == ty)
        .map(|(_, p)| p)
}

fn u32_of(p: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(p.get(..4)?.try_into().ok()?))
}

/// A generic netlink socket.
pub struct GenlSocket {
    fd: Fd,
    seq: u32,
}

impl GenlSocket {
    /// Opens and binds a `NETLINK_GENERIC` socket, with extended acks.
    pub fn open() -> Result<Self> {
        // SAFETY: plain system calls on a descriptor we own.
        unsafe {
            let fd = libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_GENERIC,
            );
            check(fd.into(), "socket(AF_NETLINK)")?;
            let fd = Fd(fd);
            let one: libc::c_int = 1;
            // Best effort: without it errors just lack the kernel's text.
            libc::setsockopt(
                fd.0,
                libc::SOL_NETLINK,
                NETLINK_EXT_ACK,
                (&one as *const libc::c_int).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            );
            let mut sa: libc::sockaddr_nl = std::mem::zeroed();
            sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
            let r = libc::bind(
                fd.0,
                (&sa as *const libc::sockaddr_nl).cast(),
                size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            );
            check(r.into(), "bind(AF_NETLINK)")?;
            Ok(Self { fd, seq: 0 })
        }
    }

    /// Sends one request and collects the attributes of its replies until
    /// the ack; a netlink error becomes `Err` with the kernel's message.
    fn request(&mut self, family: u16, cmd: u8, version: u8, a: &Attrs) -> Result<Vec<Vec<u8>>> {
        self.seq = self.seq.wrapping_add(1);
        let len = NLMSG_HDRLEN + GENL_HDRLEN + a.0.len();
        let mut msg = Vec::with_capacity(len);
        msg.extend_from_slice(&(len as u32).to_ne_bytes());
        msg.extend_from_slice(&family.to_ne_bytes());
        msg.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
        msg.extend_from_slice(&self.seq.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes());
        msg.extend_from_slice(&[cmd, version, 0, 0]);
        msg.extend_from_slice(&a.0);
        // SAFETY: `msg` is a valid buffer of `msg.len()` bytes.
        let n = unsafe { libc::send(self.fd.0, msg.as_ptr().cast(), msg.len(), 0) };
        check(n as libc::c_long, "netlink send")?;

        let mut replies = Vec::new();
        let mut buf = vec![0u8; 64 << 10];
        loop {
            // SAFETY: `buf` is a valid buffer of `buf.len()` bytes.
            let n = unsafe { libc::recv(self.fd.0, buf.as_mut_ptr().cast(), buf.len(), 0) };
            let n = check(n as libc::c_long, "netlink recv")? as usize;
            let mut off = 0;
            while off + NLMSG_HDRLEN <= n {
                let h = &buf[off..n];
                let mlen = u32::from_ne_bytes(h[0..4].try_into()?) as usize;
                let ty = u16::from_ne_bytes(h[4..6].try_into()?);
                let flags = u16::from_ne_bytes(h[6..8].try_into()?);
                let seq = u32::from_ne_bytes(h[8..12].try_into()?);
                if mlen < NLMSG_HDRLEN || mlen > h.len() {
                    return Err("netlink: truncated message".into());
                }
                let body = &h[NLMSG_HDRLEN..mlen];
                off += align4(mlen);
                if seq != self.seq {
                    continue;
                }
                if ty == NLMSG_ERROR {
                    let err = i32::from_ne_bytes(body.get(..4).ok_or("short error")?.try_into()?);
                    if err == 0 {
                        return Ok(replies);
                    }
                    return Err(nl_error(-err, flags, body).into());
                }
                if ty == family {
                    replies.push(body.get(GENL_HDRLEN..).unwrap_or(&[]).to_vec());
                }
            }
        }
    }

    /// The id of generic netlink family `name`.
    pub fn family_id(&mut self, name: &str) -> Result<u16> {
        let mut a = Attrs::default();
        let mut z = name.as_bytes().to_vec();
        z.push(0);
        a.put(CTRL_ATTR_FAMILY_NAME, &z);
        let replies = self
            .request(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 2, &a)
            .map_err(|e| format!("genetlink family {name}: {e}"))?;
        let id = reply_attr(&replies, CTRL_ATTR_FAMILY_ID)
            .and_then(|p| Some(u16::from_ne_bytes(p.get(..2)?.try_into().ok()?)));
        id.ok_or_else(|| format!("genetlink family {name}: no id in reply").into())
    }

    /// Opens a socket and resolves generic netlink family `name` on it.
    fn open_family(name: &str) -> Result<(Self, u16)> {
        let mut sock = Self::open()?;
        let family = sock.family_id(name)?;
        Ok((sock, family))
    }
}

/// Formats a netlink error with the extended ack's message, if any.
fn nl_error(errno: i32, flags: u16, body: &[u8]) -> String {
    let mut s = std::io::Error::from_raw_os_error(errno).to_string();
    if flags & NLM_F_ACK_TLVS != 0 && body.len() >= 4 + NLMSG_HDRLEN {
        let orig = if flags & NLM_F_CAPPED != 0 {
            NLMSG_HDRLEN
        } else {
            u32::from_ne_bytes(body[4..8].try_into().unwrap_or_default()) as usize
        };
        if let Some(tlvs) = body.get(4 + align4(orig)..) {
            for (t, p) in attrs(tlvs) {
                if t == NLMSGERR_ATTR_MSG {
                    let msg = String::from_utf8_lossy(p);
                    s += &format!(" ({})", msg.trim_end_matches('\0'));
                }
            }
        }
    }
    s
}

/// The `netdev` family on its own socket: what it binds stays bound until
/// it is dropped.
pub struct Netdev {
    sock: GenlSocket,
    family: u16,
}

impl Netdev {
    /// Opens a socket and resolves the `netdev` family.
    pub fn open() -> Result<Self> {
        let (sock, family) = GenlSocket::open_family("netdev")?;
        Ok(Self { sock, family })
    }

    /// `bind-rx`: binds dma-buf `dmabuf_fd` to rx `queues` of `ifindex`;
    /// returns the binding's id (the `dmabuf_id` of its cmsgs).
    pub fn bind_rx(&mut self, ifindex: u32, dmabuf_fd: i32, queues: &[u32]) -> Result<u32> {
        let mut a = Attrs::default();
        a.put_u32(NETDEV_A_DMABUF_IFINDEX, ifindex);
        a.put_u32(NETDEV_A_DMABUF_FD, dmabuf_fd as u32);
        for &q in queues {
            let mut n = Attrs::default();
            n.put_u32(NETDEV_A_QUEUE_ID, q);
            n.put_u32(NETDEV_A_QUEUE_TYPE, NETDEV_QUEUE_TYPE_RX);
            a.put_nest(NETDEV_A_DMABUF_QUEUES, &n);
        }
        let replies = self
            .sock
            .request(self.family, NETDEV_CMD_BIND_RX, NETDEV_FAMILY_VERSION, &a)
            .map_err(|e| format!("bind-rx (ifindex {ifindex}, queues {queues:?}): {e}"))?;
        let id = reply_attr(&replies, NETDEV_A_DMABUF_ID).and_then(u32_of);
        id.ok_or_else(|| "bind-rx: no id in reply".into())
    }
}

const DEVMEM_FAMILY_VERSION: u8 = 1;
const DEVMEM_CMD_CAPS_GET: u8 = 1;
const DEVMEM_CMD_ALLOC_BENCH: u8 = 3;
const DEVMEM_CMD_TOKEN_BENCH: u8 = 4;
const DEVMEM_A_CAPS_IMPLEMENTATION: u16 = 9;
const DEVMEM_IMPLEMENTATION_RUST: u32 = 2;

/// The reply attributes of `alloc-bench` and `token-bench`, in attribute
/// order from 4 (after the three request attributes), as ynl names them.
pub const ALLOC_BENCH_REPLY: &[&str] = &["ops", "nsecs", "genpool-ops", "genpool-nsecs"];
pub const TOKEN_BENCH_REPLY: &[&str] = &[
    "rounds",
    "recv-nsecs",
    "dontneed-nsecs",
    "xa-rounds",
    "xa-recv-nsecs",
    "xa-dontneed-nsecs",
];

/// This project's `devmem` family (include/uapi/linux/devmem_rs.h).
pub struct Devmem {
    sock: GenlSocket,
    family: u16,
}

impl Devmem {
    /// Opens a socket and resolves the `devmem` family.
    pub fn open() -> Result<Self> {
        let (sock, family) = GenlSocket::open_family("devmem")?;
        Ok(Self { sock, family })
    }

    /// Which devmem core serves the kernel: `caps-get`'s `implementation`
    /// (a kernel whose family predates it has 6.12's C core).
    pub fn core(&mut self) -> Result<&'static str> {
        let replies = self.sock.request(
            self.family,
            DEVMEM_CMD_CAPS_GET,
            DEVMEM_FAMILY_VERSION,
            &Attrs::default(),
        )?;
        let imp = reply_attr(&replies, DEVMEM_A_CAPS_IMPLEMENTATION).and_then(u32_of);
        Ok(if imp == Some(DEVMEM_IMPLEMENTATION_RUST) {
            "rust"
        } else {
            "c"
        })
    }

    /// Runs `alloc-bench` (`token` false: niovs, batch, msecs) or
    /// `token-bench` (`token` true: held, frags, msecs) in the kernel and
    /// returns the reply's u64 counters, named as in [`ALLOC_BENCH_REPLY`]
    /// or [`TOKEN_BENCH_REPLY`].
    pub fn bench(&mut self, token: bool, args: [u32; 3]) -> Result<Vec<(&'static str, u64)>> {
        let (cmd, names) = if token {
            (DEVMEM_CMD_TOKEN_BENCH, TOKEN_BENCH_REPLY)
        } else {
            (DEVMEM_CMD_ALLOC_BENCH, ALLOC_BENCH_REPLY)
        };
        let mut a = Attrs::default();
        for (i, v) in args.iter().enumerate() {
            a.put_u32(i as u16 + 1, *v);
        }
        let replies = self
            .sock
            .request(self.family, cmd, DEVMEM_FAMILY_VERSION, &a)?;
        let mut out = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let ty = i as u16 + 4;
            let v = reply_attr(&replies, ty)
                .and_then(|p| Some(u64::from_ne_bytes(p.get(..8)?.try_into().ok()?)))
                .ok_or_else(|| format!("no '{name}' in the reply"))?;
            out.push((*name, v));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attrs_round_trip() {
        let mut inner = Attrs::default();
        inner.put_u32(NETDEV_A_QUEUE_ID, 3);
        let mut a = Attrs::default();
        a.put_u32(NETDEV_A_DMABUF_IFINDEX, 7);
        a.put_nest(NETDEV_A_DMABUF_QUEUES, &inner);
        a.put(CTRL_ATTR_FAMILY_NAME, b"abcde\0");
        assert_eq!(a.0.len() % 4, 0);
        let v: Vec<_> = attrs(&a.0).collect();
        assert_eq!(v.len(), 3);
        assert_eq!((v[0].0, u32_of(v[0].1)), (NETDEV_A_DMABUF_IFINDEX, Some(7)));
        assert_eq!(v[1].0, NETDEV_A_DMABUF_QUEUES);
        let n: Vec<_> = attrs(v[1].1).collect();
        assert_eq!((n[0].0, u32_of(n[0].1)), (NETDEV_A_QUEUE_ID, Some(3)));
        assert_eq!(v[2].1, b"abcde\0");
    }

    #[test]
    fn truncated_attrs_stop() {
        let mut a = Attrs::default();
        a.put_u32(1, 1);
        a.0[0] = 200; // length beyond the buffer
        assert_eq!(attrs(&a.0).count(), 0);
    }

    #[test]
    fn resolves_nlctrl_itself() {
        // nlctrl is always there; needs no privilege.
        if let Ok(mut s) = GenlSocket::open() {
            assert_eq!(s.family_id("nlctrl").unwrap(), GENL_ID_CTRL);
            assert!(s.family_id("no-such-family-x").is_err());
        }
    }
}
