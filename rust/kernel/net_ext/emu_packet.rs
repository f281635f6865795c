// SPDX-License-Identifier: GPL-2.0

//! Packet parsing for the emulated NIC: what its "hardware" understands.
//!
//! Header split, RSS, flow steering and L4 checksum validation need the
//! offsets and the 5-tuple of Ethernet + IPv4/IPv6 + TCP/UDP frames. This
//! is plain safe Rust over byte slices; anything it does not understand
//! (VLAN tags, IPv4 options are fine, IPv6 extension headers, fragments)
//! is reported as not parsed, and the device then delivers the frame
//! unsplit to queue 0, as hardware does with frames it cannot classify.

/// `IPPROTO_TCP`.
pub const IPPROTO_TCP: u8 = 6;
/// `IPPROTO_UDP`.
pub const IPPROTO_UDP: u8 = 17;

const ETH_HLEN: usize = 14;
const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;

/// A parsed TCP or UDP frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flow {
    /// IPv6 (else IPv4).
    pub ipv6: bool,
    /// `IPPROTO_TCP` or `IPPROTO_UDP`.
    pub proto: u8,
    /// Source address (IPv4 in the first 4 bytes).
    pub src: [u8; 16],
    /// Destination address.
    pub dst: [u8; 16],
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Offset of the L3 header.
    pub l3_off: usize,
    /// Offset of the L4 header.
    pub l4_off: usize,
    /// End of the L4 header: where the payload starts.
    pub hdr_end: usize,
    /// End of the L3 packet (frames may carry Ethernet padding after it).
    pub pkt_end: usize,
}

fn be16(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(off)?, *b.get(off + 1)?]))
}

/// Parses an Ethernet frame carrying TCP or UDP over IPv4 or IPv6.
///
/// # Examples
///
/// ```
/// use kernel::net_ext::emu_packet::{parse, IPPROTO_TCP};
///
/// // Ethernet + IPv4 (20 bytes) + TCP (20 bytes) + 4 payload bytes.
/// let mut f = [0u8; 14 + 20 + 20 + 4];
/// f[12] = 0x08; // IPv4
/// f[14] = 0x45; // version 4, IHL 5
/// f[16..18].copy_from_slice(&44u16.to_be_bytes()); // total length
/// f[23] = IPPROTO_TCP;
/// f[26..30].copy_from_slice(&[10, 0, 0, 1]);
/// f[30..34].copy_from_slice(&[10, 0, 0, 2]);
/// f[34..36].copy_from_slice(&1234u16.to_be_bytes());
/// f[36..38].copy_from_slice(&5201u16.to_be_bytes());
/// f[46] = 5 << 4; // data offset: 5 words
/// let p = parse(&f).unwrap();
/// assert_eq!((p.sport, p.dport, p.hdr_end, p.pkt_end), (1234, 5201, 54, 58));
/// assert_eq!(&p.dst[..4], &[10, 0, 0, 2]);
///
/// // Truncated or non-IP frames are not parsed.
/// assert!(parse(&f[..40]).is_none());
/// f[12] = 0x08; f[13] = 0x06; // ARP
/// assert!(parse(&f).is_none());
/// ```
pub fn parse(f: &[u8]) -> Option<Flow> {
    let mut flow = Flow {
        ipv6: false,
        proto: 0,
        src: [0; 16],
        dst: [0; 16],
        sport: 0,
        dport: 0,
        l3_off: ETH_HLEN,
        l4_off: 0,
        hdr_end: 0,
        pkt_end: 0,
    };
    let l3 = ETH_HLEN;
    match be16(f, 12)? {
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
            flow.pkt_end = l3 + usize::from(be16(f, l3 + 2)?);
            flow.proto = f[l3 + 9];
            flow.src[..4].copy_from_slice(&f[l3 + 12..l3 + 16]);
            flow.dst[..4].copy_from_slice(&f[l3 + 16..l3 + 20]);
            flow.l4_off = l3 + ihl;
        }
        ETH_P_IPV6 => {
            if f.len() < l3 + 40 || f[l3] >> 4 != 6 {
                return None;
            }
            flow.ipv6 = true;
            flow.pkt_end = l3 + 40 + usize::from(be16(f, l3 + 4)?);
            flow.proto = f[l3 + 6];
            flow.src.copy_from_slice(&f[l3 + 8..l3 + 24]);
            flow.dst.copy_from_slice(&f[l3 + 24..l3 + 40]);
            flow.l4_off = l3 + 40;
        }
        _ => return None,
    }
    if flow.pkt_end > f.len() || flow.pkt_end < flow.l4_off {
        return None;
    }
    let l4 = flow.l4_off;
    let l4_hlen = match flow.proto {
        IPPROTO_TCP => usize::from(*f.get(l4 + 12)? >> 4) * 4,
        IPPROTO_UDP => 8,
        _ => return None,
    };
    if l4_hlen < 8 || l4 + l4_hlen > flow.pkt_end {
        return None;
    }
    flow.sport = be16(f, l4)?;
    flow.dport = be16(f, l4 + 2)?;
    flow.hdr_end = l4 + l4_hlen;
    Some(flow)
}

fn sum16(mut acc: u32, b: &[u8]) -> u32 {
    let mut chunks = b.chunks_exact(2);
    for c in &mut chunks {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u32::from(*last) << 8;
    }
    acc
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
pub fn l4_csum_ok(f: &[u8], flow: &Flow) -> bool {
    let l4 = &f[flow.l4_off..flow.pkt_end];
    if flow.proto == IPPROTO_UDP && !flow.ipv6 && l4[6] == 0 && l4[7] == 0 {
        return true;
    }
    let alen = if flow.ipv6 { 16 } else { 4 };
    let mut acc = sum16(0, &flow.src[..alen]);
    acc = sum16(acc, &flow.dst[..alen]);
    acc += u32::from(flow.proto) + l4.len() as u32;
    fold(sum16(acc, l4)) == 0xffff
}

/// Toeplitz hash of `input` with `key` (Microsoft RSS).
///
/// # Examples
///
/// The verification suite of the Microsoft RSS specification:
///
/// ```
/// use kernel::net_ext::emu_packet::toeplitz;
///
/// let key = [
///     0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
///     0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
///     0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
/// ];
/// // 66.9.149.187:2794 -> 161.142.100.80:1766
/// let input = [66, 9, 149, 187, 161, 142, 100, 80, 0x0a, 0xea, 0x06, 0xe6];
/// assert_eq!(toeplitz(&key, &input), 0x51ccc178);
/// assert_eq!(toeplitz(&key, &input[..8]), 0x323e8fc2);
/// ```
pub fn toeplitz(key: &[u8], input: &[u8]) -> u32 {
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
pub fn rss_hash(key: &[u8], flow: &Flow) -> u32 {
    let alen = if flow.ipv6 { 16 } else { 4 };
    let mut input = [0u8; 36];
    input[..alen].copy_from_slice(&flow.src[..alen]);
    input[alen..2 * alen].copy_from_slice(&flow.dst[..alen]);
    input[2 * alen..2 * alen + 2].copy_from_slice(&flow.sport.to_be_bytes());
    input[2 * alen + 2..2 * alen + 4].copy_from_slice(&flow.dport.to_be_bytes());
    toeplitz(key, &input[..2 * alen + 4])
}
