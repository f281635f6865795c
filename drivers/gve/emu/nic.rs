// SPDX-License-Identifier: GPL-2.0

//! The register interface of the emulated GVE-style NIC: what the driver
//! (`drivers/gve`) and the device (this directory) agree on, as a real NIC
//! and its driver agree on registers and descriptor formats.
//!
//! - [`Port`] is the device's register interface (what MMIO and doorbells
//!   are on real hardware): the driver configures queues, posts rx buffers
//!   and tx segments by DMA address, and reads completions. The device
//!   moves packet bytes only through the DMA addresses it was given, and
//!   only within memory mapped for it
//!   ([`BusMaster`](kernel::dma::BusMaster)).
//! - [`IrqHandler`] is the driver's interrupt handler, which the device
//!   raises per queue.
//! - Each port is a platform device named [`DEVICE_NAME`] carrying its
//!   `Arc<dyn Port>` ([`ModelDevice`](kernel::platform::ModelDevice));
//!   the driver binds to those as a platform driver and gets the port in
//!   `probe`.

use kernel::net::ethtool::FlowSpec;
use kernel::prelude::*;
use kernel::sync::Arc;

/// Name of the ports' platform devices (`gve-rs-emu.N`).
pub(crate) const DEVICE_NAME: &CStr = kernel::c_str!("gve-rs-emu");

/// Most queues per direction of a port.
pub(crate) const MAX_QUEUES: usize = 16;
/// Largest MTU the device supports.
pub(crate) const MAX_MTU: u32 = 9000;
/// RSS hash key length (Toeplitz), bytes.
pub(crate) const RSS_KEY_LEN: usize = 40;
/// RSS indirection table length.
pub(crate) const RSS_INDIR_LEN: usize = 128;
/// Longest interrupt interval (coalescing), µs: as GVE DQO's, whose ITR
/// register holds 12 bits of 2 µs units (`GVE_MAX_ITR_INTERVAL_DQO`).
pub(crate) const MAX_ITR_USECS: u32 = 8190;
/// Flow steering rule locations (0..`MAX_FLOW_RULES`).
pub(crate) const MAX_FLOW_RULES: usize = 64;
/// RSS contexts of a port: 0 is the main one (what frames no rule steers
/// use), 1..`RSS_CONTEXTS` are additional ones, each with its own key and
/// indirection table, that flow rules steer to.
pub(crate) const RSS_CONTEXTS: usize = 16;

/// Where a flow rule sends matching frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RuleDest {
    /// This rx queue.
    Queue(u16),
    /// The queue this additional RSS context's key and table pick.
    Context(u16),
}
/// The RSS key the device starts with, which the driver keeps by default:
/// the key of the Microsoft RSS verification suite.
pub(crate) const DEFAULT_RSS_KEY: [u8; RSS_KEY_LEN] = [
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
    0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
    0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
];

/// An rx buffer posted on a buffer queue (GVE DQO: buffer id, header and
/// payload buffer addresses).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RxBuf {
    /// Driver's id for the buffer, echoed in the completion.
    pub(crate) id: u16,
    /// DMA address of the header buffer.
    pub(crate) hdr_addr: u64,
    /// Size of the header buffer.
    pub(crate) hdr_len: u32,
    /// DMA address of the payload buffer.
    pub(crate) data_addr: u64,
    /// Size of the payload buffer.
    pub(crate) data_len: u32,
}

/// Hardware GRO (GVE DQO's RSC): the packet of a completion chain is
/// `segs` coalesced TCP segments, of `mss` payload bytes each but the last
/// (which may be shorter). The chain's headers are the first segment's
/// with the IP length of the whole (IPv4: and its header checksum) and the
/// last one's PSH; the TCP checksum is the first segment's, and every
/// segment's was right.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RxRsc {
    /// Payload bytes of each segment but the last.
    pub(crate) mss: u32,
    /// Segments coalesced (at least 2).
    pub(crate) segs: u32,
    /// TCP over IPv6 (else over IPv4).
    pub(crate) ipv6: bool,
}

/// Most buffers of a completion chain of coalesced segments (hardware
/// GRO): within the 17 frags of an skb.
pub(crate) const GRO_MAX_BUFS: usize = 16;
/// Most bytes, headers included, of a packet the device coalesces
/// segments into: 64 KiB, as the stack's GRO (`GRO_LEGACY_MAX_SIZE`), so
/// that the segments of a full TSO frame of the peer come back as one
/// packet (in [`GRO_MAX_BUFS`] page-sized buffers without header split).
pub(crate) const GRO_MAX_SIZE: u32 = 64 * 1024;
/// Most header bytes of a packet the device coalesces segments into.
pub(crate) const GRO_MAX_HDR: usize = 256;

/// An rx completion: what the device wrote for one buffer.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RxCompl {
    /// Id of the buffer used.
    pub(crate) id: u16,
    /// Bytes written to the header buffer (headers of a split frame;
    /// 0 if the frame was not split).
    pub(crate) hdr_len: u32,
    /// Bytes written to the payload buffer.
    pub(crate) data_len: u32,
    /// Headers and payload were split.
    pub(crate) split: bool,
    /// First buffer of the frame.
    pub(crate) sop: bool,
    /// Last buffer of the frame.
    pub(crate) eop: bool,
    /// RSS hash of the frame.
    pub(crate) rss_hash: u32,
    /// The hash covers L4 ports.
    pub(crate) hash_l4: bool,
    /// The device verified the L4 checksum.
    pub(crate) l4_csum_ok: bool,
    /// The packet is segments the device coalesced (on every completion
    /// of its chain).
    pub(crate) rsc: Option<RxRsc>,
}

/// Checksum offload of a tx frame: the device stores the 16-bit ones'
/// complement of the ones' complement sum of the frame's bytes from
/// `start` to its end at `start + offset` (0 sent as `0xffff`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TxCsum {
    /// Where the summed bytes start, from the start of the frame.
    pub(crate) start: u32,
    /// Where the checksum goes, from `start`.
    pub(crate) offset: u32,
}

/// Largest tx frame the device segments (TSO), headers included: GVE's
/// limit is larger, 64 KiB is what the stack makes without BIG TCP.
pub(crate) const TSO_MAX_SIZE: u32 = 65536;
/// Most segments the device makes of one TSO frame.
pub(crate) const TSO_MAX_SEGS: u32 = 128;
/// Most header bytes of a TSO frame (Ethernet, IP, TCP with options).
pub(crate) const TSO_MAX_HDR: u32 = 256;

/// TCP segmentation of a tx frame (GVE DQO's TSO context descriptor): the
/// device sends the frame's first `hdr_len` bytes (Ethernet, IPv4 or IPv6
/// without extension headers, TCP) with each `mss` bytes of the rest,
/// fixing the IP lengths (and IPv4 id and header checksum), the TCP
/// sequence number, flags (FIN and PSH on the last segment only, CWR on
/// the first only) and checksum of each. A frame whose headers are not
/// that, longer than [`TSO_MAX_SIZE`], making more than [`TSO_MAX_SEGS`]
/// segments or segments larger than the MTU is dropped
/// ([`PortStats::tx_tso_errors`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TxTso {
    /// Payload bytes per segment.
    pub(crate) mss: u32,
    /// Bytes of headers, up to the end of the TCP header.
    pub(crate) hdr_len: u32,
}

/// A tx segment: `len` bytes at DMA address `addr`; `eop` ends the frame.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TxSeg {
    /// DMA address of the bytes.
    pub(crate) addr: u64,
    /// Number of bytes.
    pub(crate) len: u32,
    /// Last segment of the frame: the device sends it and completes `tag`.
    pub(crate) eop: bool,
    /// Driver's completion tag, echoed in the [`TxCompl`] of the frame.
    pub(crate) tag: u16,
    /// Checksum to fill in; read from the frame's first segment.
    pub(crate) csum: Option<TxCsum>,
    /// Segmentation (which fills in TCP checksums itself, whatever
    /// `csum` says); read from the frame's first segment.
    pub(crate) tso: Option<TxTso>,
}

/// A tx completion: the frame with `tag` was sent (or dropped on the wire),
/// its buffers may be unmapped.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TxCompl {
    /// The frame's tag.
    pub(crate) tag: u16,
}

/// Interrupt vectors of a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Vector {
    /// Rx completions on a queue.
    Rx(u16),
    /// Tx completions on a queue.
    Tx(u16),
    /// Link state changed.
    Link,
}

/// The driver's interrupt handler. Called from any context (the device
/// raises interrupts from its peer's transmit path, in BH context, and
/// from its interrupt moderation timer, in softirq context).
///
/// Interrupt moderation (GVE DQO's ITR): with an interval of `n` µs set
/// for a direction ([`Port::set_coalesce`]), the device raises each of
/// that direction's vectors at most once per `n` µs; completions in
/// between are signalled by one interrupt at the end of the interval. 0
/// raises an interrupt for every completion. The device's clock is the
/// kernel's (`ktime`), its timer the jiffies timer, so an interval shorter
/// than a tick is stretched to the next tick.
pub(crate) trait IrqHandler: Send + Sync {
    /// Handles an interrupt.
    fn irq(&self, vector: Vector);
}

/// Per-port device counters.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PortStats {
    /// Frames dropped because the rx queue had no posted buffer.
    pub(crate) rx_no_buffer: u64,
    /// Frames dropped because a DMA address was refused.
    pub(crate) dma_errors: u64,
    /// Tx frames whose checksum offload pointed past the frame (sent
    /// without the checksum filled in).
    pub(crate) tx_csum_errors: u64,
    /// Tx frames asking for segmentation the device cannot do (see
    /// [`TxTso`]), dropped.
    pub(crate) tx_tso_errors: u64,
}

/// The register interface of one emulated port.
pub(crate) trait Port: Send + Sync {
    /// Permanent MAC address.
    fn mac(&self) -> [u8; 6];
    /// Sets the interrupt handler (None masks all interrupts).
    fn set_irq_handler(&self, handler: Option<Arc<dyn IrqHandler>>);
    /// Enables `nq` rx and tx queues and resets their state; 0 stops the
    /// port (no frame is received or sent, posted buffers are forgotten).
    fn enable(&self, nq: u16) -> Result;
    /// Turns header split on or off.
    fn set_header_split(&self, on: bool);
    /// Turns hardware GRO on or off: with it on, consecutive in-order
    /// segments of one TCP flow that arrive together (the segments of one
    /// frame the peer segmented: one interrupt window) with nothing but
    /// ACK and PSH set, equal headers otherwise, each but the last as long
    /// as the first, are delivered as one packet of at most
    /// [`GRO_MAX_SIZE`] bytes, headers included, in at most [`GRO_MAX_BUFS`]
    /// buffers, payloads packed into them back to back ([`RxRsc`]).
    fn set_rx_gro(&self, on: bool);
    /// Sets the interrupt intervals of the rx and tx vectors, µs (at most
    /// [`MAX_ITR_USECS`]; 0 = an interrupt per completion).
    fn set_coalesce(&self, rx_usecs: u32, tx_usecs: u32) -> Result;
    /// Sets the MTU the port accepts (frames larger are dropped).
    fn set_mtu(&self, mtu: u32) -> Result;
    /// Sets the RSS key and indirection table.
    fn set_rss(&self, key: &[u8; RSS_KEY_LEN], indir: &[u16; RSS_INDIR_LEN]) -> Result;
    /// Sets additional RSS context `ctx` (1..[`RSS_CONTEXTS`]): its key and
    /// indirection table (creating it, or replacing them).
    fn set_rss_context(
        &self,
        ctx: u16,
        key: &[u8; RSS_KEY_LEN],
        indir: &[u16; RSS_INDIR_LEN],
    ) -> Result;
    /// Removes additional RSS context `ctx`; `EBUSY` while a flow rule
    /// steers to it.
    fn del_rss_context(&self, ctx: u16) -> Result;
    /// Installs flow steering rule `loc` sending matching frames to `dest`
    /// (`ENOENT` for an RSS context that does not exist).
    fn set_flow_rule(&self, loc: u32, spec: &FlowSpec, dest: RuleDest) -> Result;
    /// Removes flow steering rule `loc`.
    fn del_flow_rule(&self, loc: u32) -> Result;
    /// Stops and forgets the buffers of rx queue `q` only (queue restart).
    fn rx_queue_stop(&self, q: u16) -> Result;
    /// Starts rx queue `q` again, empty.
    fn rx_queue_start(&self, q: u16) -> Result;
    /// Posts an rx buffer on queue `q`; `EBUSY` when the ring is full.
    fn post_rx(&self, q: u16, buf: RxBuf) -> Result;
    /// Takes the next rx completion of queue `q`.
    fn poll_rx(&self, q: u16) -> Option<RxCompl>;
    /// Posts a tx segment on queue `q`; `EBUSY` when the ring is full.
    fn post_tx(&self, q: u16, seg: TxSeg) -> Result;
    /// Takes the next tx completion of queue `q`.
    fn poll_tx(&self, q: u16) -> Option<TxCompl>;
    /// Whether the emulated wire is connected to a peer port that is up.
    fn link_up(&self) -> bool;
    /// Device counters.
    fn stats(&self) -> PortStats;
}
