// SPDX-License-Identifier: GPL-2.0

//! Packet parsing for the emulated NIC: what its "hardware" understands.
//!
//! (Its tests run as KUnit through `kunit.c`, which calls [`kunit_parse`]
//! and [`kunit_toeplitz`].)
//!
//! Header split, RSS, flow steering and L4 checksum validation need the
//! offsets and the 5-tuple of Ethernet + IPv4/IPv6 + TCP/UDP frames. This
//! is plain safe Rust over byte slices; anything it does not understand
//! (VLAN tags, IPv4 options are fine, IPv6 extension headers, fragments)
//! is reported as not parsed, and the device then delivers the frame
//! unsplit to queue 0, as hardware does with frames it cannot classify.

use kernel::net::ethtool::{FlowTuple, FlowType};

/// `IPPROTO_TCP`.
const IPPROTO_TCP: u8 = 6;

const ETH_HLEN: usize = 14;
const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;

/// A parsed TCP or UDP frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Flow {
    /// TCP or UDP, over IPv4 or IPv6.
    pub(crate) flow_type: FlowType,
    /// Addresses and ports.
    pub(crate) tuple: FlowTuple,
    /// Offset of the L3 header.
    pub(crate) l3_off: usize,
    /// Offset of the L4 header.
    pub(crate) l4_off: usize,
    /// End of the L4 header: where the payload starts.
    pub(crate) hdr_end: usize,
    /// End of the L3 packet (frames may carry Ethernet padding after it).
    pub(crate) pkt_end: usize,
}

fn be16(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(off)?, *b.get(off + 1)?]))
}

/// Parses an Ethernet frame carrying TCP or UDP over IPv4 or IPv6.
pub(crate) fn parse(f: &[u8]) -> Option<Flow> {
    let mut tuple = FlowTuple::default();
    let l3 = ETH_HLEN;
    let (ipv6, proto, l4, pkt_end) = match be16(f, 12)? {
        ETH_P_IP => {
            let vihl = *f.get(l3)?;
            let ihl = usize::from(vihl & 0xf) * 4;
            if vihl >> 4 != 4 || ihl < 20 || f.len() < l3 + ihl {
                return None;
            }
            // Fragments carry no L4 header (or only part of the payload).
            if be16(f, l3 + 6)? & 0x3fff != 0 {
                return None;
            }
            tuple.src[..4].copy_from_slice(&f[l3 + 12..l3 + 16]);
            tuple.dst[..4].copy_from_slice(&f[l3 + 16..l3 + 20]);
            (
                false,
                f[l3 + 9],
                l3 + ihl,
                l3 + usize::from(be16(f, l3 + 2)?),
            )
        }
        ETH_P_IPV6 => {
            if f.len() < l3 + 40 || f[l3] >> 4 != 6 {
                return None;
            }
            tuple.src.copy_from_slice(&f[l3 + 8..l3 + 24]);
            tuple.dst.copy_from_slice(&f[l3 + 24..l3 + 40]);
            (
                true,
                f[l3 + 6],
                l3 + 40,
                l3 + 40 + usize::from(be16(f, l3 + 4)?),
            )
        }
        _ => return None,
    };
    if pkt_end > f.len() || pkt_end < l4 {
        return None;
    }
    let flow_type = FlowType::from_ip(ipv6, proto)?;
    let l4_hlen = match proto {
        IPPROTO_TCP => usize::from(*f.get(l4 + 12)? >> 4) * 4,
        _ => 8,
    };
    if l4_hlen < 8 || l4 + l4_hlen > pkt_end {
        return None;
    }
    tuple.sport = be16(f, l4)?;
    tuple.dport = be16(f, l4 + 2)?;
    Some(Flow {
        flow_type,
        tuple,
        l3_off: l3,
        l4_off: l4,
        hdr_end: l4 + l4_hlen,
        pkt_end,
    })
}

/// The L4 payload of a TCP or UDP frame (empty if it is not one).
pub(crate) fn l4_payload(f: &[u8]) -> &[u8] {
    parse(f).map_or(&[], |p| &f[p.hdr_end..p.pkt_end])
}

/// `acc` plus the 16-bit big-endian words of `b` (an odd last byte padded
/// with a zero), in ones' complement arithmetic: a value at most `0xffff`
/// that [`fold`] finishes.
///
/// Eight bytes a step, as 32-bit halves into a 64-bit sum (2^16 is 1
/// modulo 0xffff, so a 32-bit word counts as its two 16-bit halves): the
/// device checksums every byte it sends and receives, and a 16-bit loop
/// was most of its cost.
fn sum16(acc: u32, b: &[u8]) -> u32 {
    let mut s = u64::from(acc);
    let mut words = b.chunks_exact(8);
    for w in &mut words {
        let w = u64::from_be_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        s += (w >> 32) + (w & 0xffff_ffff);
    }
    let mut pairs = words.remainder().chunks_exact(2);
    for c in &mut pairs {
        s += u64::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = pairs.remainder() {
        s += u64::from(*last) << 8;
    }
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u32
}

fn fold(mut acc: u32) -> u16 {
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// Whether the TCP or UDP checksum of `flow` (parsed from `f`) is right.
///
/// UDP over IPv4 with checksum 0 (none) counts as right.
pub(crate) fn l4_csum_ok(f: &[u8], flow: &Flow) -> bool {
    let l4 = &f[flow.l4_off..flow.pkt_end];
    if flow.flow_type == FlowType::Udp4 && l4[6] == 0 && l4[7] == 0 {
        return true;
    }
    let alen = if flow.flow_type.is_ipv6() { 16 } else { 4 };
    let mut acc = sum16(0, &flow.tuple.src[..alen]);
    acc = sum16(acc, &flow.tuple.dst[..alen]);
    acc += u32::from(flow.flow_type.ip_proto()) + l4.len() as u32;
    fold(sum16(acc, l4)) == 0xffff
}

/// Tx checksum offload: stores the ones' complement of the ones'
/// complement sum of `f[start..]` at `f[start + offset..][..2]`, where the
/// stack left the pseudo-header's sum (0 is stored as `0xffff`, as UDP
/// needs). Whether the offsets were inside the frame.
pub(crate) fn fill_csum(f: &mut [u8], start: usize, offset: usize) -> bool {
    let at = start.saturating_add(offset);
    if start > f.len() || at.saturating_add(2) > f.len() {
        return false;
    }
    let sum = !fold(sum16(0, &f[start..]));
    let sum = if sum == 0 { 0xffff } else { sum };
    f[at..at + 2].copy_from_slice(&sum.to_be_bytes());
    true
}

const TCP_FIN: u8 = 0x01;
const TCP_PSH: u8 = 0x08;
const TCP_CWR: u8 = 0x80;

/// Makes segment `i` of a TSO frame out of `f`: a copy of the frame's
/// first `hdr_len` bytes (its headers) followed by this segment's payload,
/// which starts `seq_off` bytes into the frame's payload; `last` is the
/// frame's last segment. Fixes the IPv4 total length, id (+ `i`) and
/// header checksum or the IPv6 payload length, the TCP sequence number
/// (+ `seq_off`), flags (FIN and PSH only on the last segment, CWR only on
/// the first) and the TCP checksum. Whether the headers were TCP over
/// IPv4 or IPv6 ending at `hdr_len` (else `f` is garbage).
pub(crate) fn tso_fix(f: &mut [u8], hdr_len: usize, i: u32, seq_off: u32, last: bool) -> bool {
    let l3 = ETH_HLEN;
    let Ok(l3_len) = u16::try_from(f.len().saturating_sub(l3)) else {
        return false;
    };
    match be16(f, 12) {
        Some(ETH_P_IP) => {
            let ihl = usize::from(f.get(l3).copied().unwrap_or(0) & 0xf) * 4;
            if ihl < 20 || l3 + ihl > hdr_len || hdr_len > f.len() {
                return false;
            }
            f[l3 + 2..l3 + 4].copy_from_slice(&l3_len.to_be_bytes());
            let id = u16::from_be_bytes([f[l3 + 4], f[l3 + 5]]).wrapping_add(i as u16);
            f[l3 + 4..l3 + 6].copy_from_slice(&id.to_be_bytes());
            f[l3 + 10..l3 + 12].copy_from_slice(&[0, 0]);
            let sum = !fold(sum16(0, &f[l3..l3 + ihl]));
            f[l3 + 10..l3 + 12].copy_from_slice(&sum.to_be_bytes());
        }
        Some(ETH_P_IPV6) => {
            let Some(plen) = l3_len.checked_sub(40) else {
                return false;
            };
            f[l3 + 4..l3 + 6].copy_from_slice(&plen.to_be_bytes());
        }
        _ => return false,
    }
    let Some(flow) = parse(f) else {
        return false;
    };
    if flow.flow_type.ip_proto() != IPPROTO_TCP
        || flow.hdr_end != hdr_len
        || flow.hdr_end < flow.l4_off + 20
        || flow.pkt_end != f.len()
    {
        return false;
    }
    let l4 = flow.l4_off;
    let seq = u32::from_be_bytes([f[l4 + 4], f[l4 + 5], f[l4 + 6], f[l4 + 7]]);
    f[l4 + 4..l4 + 8].copy_from_slice(&seq.wrapping_add(seq_off).to_be_bytes());
    if !last {
        f[l4 + 13] &= !(TCP_FIN | TCP_PSH);
    }
    if i > 0 {
        f[l4 + 13] &= !TCP_CWR;
    }
    // The checksum field gets the pseudo-header's sum, then the sum of
    // the whole segment goes over it.
    let alen = if flow.flow_type.is_ipv6() { 16 } else { 4 };
    let mut acc = sum16(0, &flow.tuple.src[..alen]);
    acc = sum16(acc, &flow.tuple.dst[..alen]);
    acc += u32::from(IPPROTO_TCP) + (f.len() - l4) as u32;
    f[l4 + 16..l4 + 18].copy_from_slice(&fold(acc).to_be_bytes());
    fill_csum(f, l4, 16)
}

/// Toeplitz hash of `input` with `key` (Microsoft RSS).
pub(crate) fn toeplitz(key: &[u8], input: &[u8]) -> u32 {
    let mut hash = 0u32;
    for (i, byte) in input.iter().enumerate() {
        for bit in 0..8 {
            if byte & (0x80 >> bit) != 0 {
                // The 32 key bits starting at bit i * 8 + bit.
                let pos = i * 8 + bit;
                let mut w = 0u32;
                for k in 0..32 {
                    let kb = pos + k;
                    let b = key.get(kb / 8).copied().unwrap_or(0);
                    w = (w << 1) | u32::from((b >> (7 - kb % 8)) & 1);
                }
                hash ^= w;
            }
        }
    }
    hash
}

/// The RSS hash of a flow: Toeplitz over addresses and ports.
pub(crate) fn rss_hash(key: &[u8], flow: &Flow) -> u32 {
    let t = &flow.tuple;
    let alen = if flow.flow_type.is_ipv6() { 16 } else { 4 };
    let mut input = [0u8; 36];
    input[..alen].copy_from_slice(&t.src[..alen]);
    input[alen..2 * alen].copy_from_slice(&t.dst[..alen]);
    input[2 * alen..2 * alen + 2].copy_from_slice(&t.sport.to_be_bytes());
    input[2 * alen + 2..2 * alen + 4].copy_from_slice(&t.dport.to_be_bytes());
    toeplitz(key, &input[..2 * alen + 4])
}

/// KUnit case `parse` (`kunit.c`): parsing of well-formed, truncated and
/// non-IP frames; whether it passed.
#[cfg(CONFIG_KUNIT)]
#[no_mangle]
pub(crate) extern "C" fn gve_rs_emu_kunit_parse() -> bool {
    // Ethernet + IPv4 (20 bytes) + TCP (20 bytes) + 4 payload bytes.
    let mut f = [0u8; 14 + 20 + 20 + 4];
    f[12] = 0x08; // IPv4
    f[14] = 0x45; // version 4, IHL 5
    f[16..18].copy_from_slice(&44u16.to_be_bytes()); // total length
    f[23] = IPPROTO_TCP;
    f[26..30].copy_from_slice(&[10, 0, 0, 1]);
    f[30..34].copy_from_slice(&[10, 0, 0, 2]);
    f[34..36].copy_from_slice(&1234u16.to_be_bytes());
    f[36..38].copy_from_slice(&5201u16.to_be_bytes());
    f[46] = 5 << 4; // data offset: 5 words
    let Some(p) = parse(&f) else {
        return false;
    };
    let parsed = p.flow_type == FlowType::Tcp4
        && (p.tuple.sport, p.tuple.dport, p.hdr_end, p.pkt_end) == (1234, 5201, 54, 58)
        && p.tuple.dst[..4] == [10, 0, 0, 2];
    // Checksum offload: the stack's seed (the pseudo-header sum, here
    // computed the slow way) completed by the device verifies.
    let mut seed = sum16(0, &f[26..34]);
    seed += u32::from(IPPROTO_TCP) + 24;
    f[50..52].copy_from_slice(&fold(seed).to_be_bytes());
    let filled = fill_csum(&mut f, 34, 16) && l4_csum_ok(&f, &p);
    f[57] ^= 1;
    let corrupted = !l4_csum_ok(&f, &p);
    let outside = !fill_csum(&mut f, 34, 23);
    let parsed = parsed && filled && corrupted && outside;
    // Truncated or non-IP frames are not parsed.
    let truncated = parse(&f[..40]).is_none();
    f[13] = 0x06; // ARP
    parsed && truncated && parse(&f).is_none()
}

/// KUnit case `toeplitz` (`kunit.c`): the verification suite of the
/// Microsoft RSS specification, with the device's default key; whether it
/// passed.
#[cfg(CONFIG_KUNIT)]
#[no_mangle]
pub(crate) extern "C" fn gve_rs_emu_kunit_toeplitz() -> bool {
    let key = super::nic::DEFAULT_RSS_KEY;
    // 66.9.149.187:2794 -> 161.142.100.80:1766
    let input = [66, 9, 149, 187, 161, 142, 100, 80, 0x0a, 0xea, 0x06, 0xe6];
    toeplitz(&key, &input) == 0x51ccc178 && toeplitz(&key, &input[..8]) == 0x323e8fc2
}

/// KUnit case `tso` (`kunit.c`): a TCP over IPv4 super-frame with FIN, PSH
/// and CWR, 2500 payload bytes, cut into segments of 1000 as the device
/// does; each has its lengths, id, sequence number, flags and both
/// checksums right; headers other than TCP over IP, or not ending where
/// the driver said, are refused. Whether it passed.
#[cfg(CONFIG_KUNIT)]
#[no_mangle]
pub(crate) extern "C" fn gve_rs_emu_kunit_tso() -> bool {
    const HDR: usize = 14 + 20 + 20;
    let mut hdr = [0u8; HDR];
    hdr[12] = 0x08; // IPv4
    hdr[14] = 0x45;
    hdr[16..18].copy_from_slice(&((20 + 20 + 2500) as u16).to_be_bytes());
    hdr[18..20].copy_from_slice(&0xfffeu16.to_be_bytes()); // id: wraps
    hdr[20] = 0x40; // DF
    hdr[22] = 64;
    hdr[23] = IPPROTO_TCP;
    hdr[26..30].copy_from_slice(&[10, 0, 0, 1]);
    hdr[30..34].copy_from_slice(&[10, 0, 0, 2]);
    hdr[34..36].copy_from_slice(&1234u16.to_be_bytes());
    hdr[36..38].copy_from_slice(&5201u16.to_be_bytes());
    hdr[38..42].copy_from_slice(&0xffff_fc00u32.to_be_bytes()); // seq: wraps
    hdr[46] = 5 << 4;
    hdr[47] = TCP_CWR | TCP_PSH | TCP_FIN | 0x10; // and ACK
    let mut f = [0u8; HDR + 1000];
    let mut ok = true;
    for (i, len) in [1000usize, 1000, 500].into_iter().enumerate() {
        let f = &mut f[..HDR + len];
        f[..HDR].copy_from_slice(&hdr);
        for (j, b) in f[HDR..].iter_mut().enumerate() {
            *b = ((i * 1000 + j) % 251) as u8;
        }
        let last = i == 2;
        ok &= tso_fix(f, HDR, i as u32, (i * 1000) as u32, last);
        let Some(p) = parse(f) else {
            return false;
        };
        let id = 0xfffeu16.wrapping_add(i as u16);
        let seq = 0xffff_fc00u32.wrapping_add((i * 1000) as u32);
        let flags = match i {
            0 => TCP_CWR | 0x10,
            1 => 0x10,
            _ => TCP_PSH | TCP_FIN | 0x10,
        };
        ok &= be16(f, 16) == Some((20 + 20 + len) as u16)
            && be16(f, 18) == Some(id)
            && fold(sum16(0, &f[14..34])) == 0xffff
            && f[38..42] == seq.to_be_bytes()
            && f[47] == flags
            && p.pkt_end == f.len()
            && l4_csum_ok(f, &p)
            && f[HDR..]
                .iter()
                .enumerate()
                .all(|(j, b)| *b == ((i * 1000 + j) % 251) as u8);
    }
    // The headers end elsewhere than the driver says; not TCP; not IP.
    let f = &mut f[..HDR + 10];
    f[..HDR].copy_from_slice(&hdr);
    let short = !tso_fix(f, HDR - 4, 0, 0, true);
    f[..HDR].copy_from_slice(&hdr);
    f[23] = 17;
    let udp = !tso_fix(f, HDR, 0, 0, true);
    f[..HDR].copy_from_slice(&hdr);
    f[12] = 0x06;
    let arp = !tso_fix(f, HDR, 0, 0, true);
    // Too short for the headers it claims.
    f[..HDR].copy_from_slice(&hdr);
    let truncated = !tso_fix(&mut f[..30], HDR, 0, 0, true);
    ok && short && udp && arp && truncated
}

/// One frame's part in hardware GRO (see [`gro_len`]).
#[derive(Clone, Copy)]
struct GroSeg {
    flow: Flow,
    seq: u32,
    flags: u8,
    payload: usize,
}

const TCP_ACK: u8 = 0x10;

/// The TCP segment `f` is, if it may take part in hardware GRO: TCP over
/// IPv4 without options or fragmentation, or over IPv6, with payload,
/// flags ACK and maybe PSH only, its checksum right.
fn gro_seg(f: &[u8]) -> Option<GroSeg> {
    let flow = parse(f)?;
    if flow.flow_type.ip_proto() != IPPROTO_TCP
        || flow.hdr_end < flow.l4_off + 20
        || (!flow.flow_type.is_ipv6() && flow.l4_off != ETH_HLEN + 20)
        || !l4_csum_ok(f, &flow)
    {
        return None;
    }
    let l4 = flow.l4_off;
    let flags = f[l4 + 13];
    let payload = flow.pkt_end - flow.hdr_end;
    if flags & !TCP_PSH != TCP_ACK || payload == 0 {
        return None;
    }
    let seq = u32::from_be_bytes([f[l4 + 4], f[l4 + 5], f[l4 + 6], f[l4 + 7]]);
    Some(GroSeg {
        flow,
        seq,
        flags,
        payload,
    })
}

/// Whether headers `a` and `b` (of the same length, parsed as `flow`) are
/// those of one flow's segments that coalesce: equal but for the IP
/// lengths, IPv4 id and checksum, TCP sequence number, PSH and checksum.
fn gro_same_headers(a: &[u8], b: &[u8], flow: &Flow) -> bool {
    let (l3, l4) = (flow.l3_off, flow.l4_off);
    let skip = |i: usize| {
        let ip = if flow.flow_type.is_ipv6() {
            (l3 + 4..l3 + 6).contains(&i)
        } else {
            (l3 + 2..l3 + 6).contains(&i) || (l3 + 10..l3 + 12).contains(&i)
        };
        ip || (l4 + 4..l4 + 8).contains(&i) || i == l4 + 13 || (l4 + 16..l4 + 18).contains(&i)
    };
    a.len() == b.len()
        && a.iter()
            .zip(b.iter())
            .enumerate()
            .all(|(i, (x, y))| x == y || skip(i))
        && (a[l4 + 13] & !TCP_PSH) == (b[l4 + 13] & !TCP_PSH)
}

/// Hardware GRO: how many of `frames`, from the first, the device
/// coalesces into one packet (1: the first goes alone). Consecutive
/// in-order segments of one TCP flow (see [`gro_seg`]) with equal headers
/// (see [`gro_same_headers`]) coalesce: as long as each before had the
/// first's payload length and no PSH, each one's sequence number follows,
/// its payload is no longer than the first's, and the packet, the first's
/// headers and every payload, stays within `max_size` bytes. Frames longer
/// than `mtu` take no part.
pub(crate) fn gro_len<'a>(
    mut frames: impl Iterator<Item = &'a [u8]>,
    mtu: usize,
    max_size: usize,
) -> usize {
    let Some(first) = frames.next() else {
        return 0;
    };
    if first.len() > mtu + ETH_HLEN {
        return 1;
    }
    let Some(g) = gro_seg(first) else {
        return 1;
    };
    let hdr = &first[..g.flow.hdr_end];
    let (mut n, mut next, mut total, mut open) = (1, g.seq, g.payload, g.flags & TCP_PSH == 0);
    next = next.wrapping_add(g.payload as u32);
    for f in frames {
        if !open || f.len() > mtu + ETH_HLEN {
            break;
        }
        let Some(s) = gro_seg(f) else {
            break;
        };
        if s.flow.hdr_end != hdr.len()
            || s.seq != next
            || s.payload > g.payload
            || hdr.len() + total + s.payload > max_size
            || !gro_same_headers(hdr, &f[..hdr.len()], &g.flow)
        {
            break;
        }
        n += 1;
        total += s.payload;
        next = next.wrapping_add(s.payload as u32);
        open = s.flags & TCP_PSH == 0 && s.payload == g.payload;
    }
    n
}

/// The headers of the packet hardware GRO makes of `n` coalesced segments
/// carrying `payload` bytes in all: `hdr` (the first segment's headers,
/// parsed as `flow`) with the IP length of the whole (and the IPv4 header
/// checksum) and `last_flags` (the last segment's TCP flags: PSH). The
/// TCP checksum is left as it is: the device validated every segment's.
pub(crate) fn gro_headers(hdr: &mut [u8], flow: &Flow, payload: usize, last_flags: u8) -> bool {
    let l3 = flow.l3_off;
    let Some(end) = hdr.len().checked_add(payload) else {
        return false;
    };
    let Ok(l3_len) = u16::try_from(end - l3) else {
        return false;
    };
    if flow.flow_type.is_ipv6() {
        hdr[l3 + 4..l3 + 6].copy_from_slice(&l3_len.saturating_sub(40).to_be_bytes());
    } else {
        let ihl = flow.l4_off - l3;
        hdr[l3 + 2..l3 + 4].copy_from_slice(&l3_len.to_be_bytes());
        hdr[l3 + 10..l3 + 12].copy_from_slice(&[0, 0]);
        let sum = !fold(sum16(0, &hdr[l3..l3 + ihl]));
        hdr[l3 + 10..l3 + 12].copy_from_slice(&sum.to_be_bytes());
    }
    hdr[flow.l4_off + 13] |= last_flags & TCP_PSH;
    true
}
