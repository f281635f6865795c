// SPDX-License-Identifier: GPL-2.0

//! One emulated port, and pairs of ports joined by a wire.
//!
//! The port keeps its queues in device memory (rings of posted buffers and
//! of completions). Transmit is synchronous with the tx doorbell: the
//! device gathers the frame from the posted segments' DMA addresses,
//! completes it, and hands it to the peer, which classifies it (flow rules,
//! then RSS), splits headers from payload, writes both through the posted
//! rx buffers' DMA addresses and raises the rx queue's interrupt, unless
//! interrupt moderation defers it to the port's timer (see
//! [`IrqHandler`]). A tx frame asking for checksum offload gets its
//! checksum filled in before it goes on the wire; one asking for TCP
//! segmentation ([`TxTso`]) goes as its segments, each with its headers
//! fixed and its checksum filled in. Locks are taken with BH
//! disabled (the doorbells are rung from softirq and from process context);
//! no port lock is held while calling the peer or an interrupt handler.

use super::nic::*;
use super::packet::{self, Flow};
use super::ring::Ring;
use super::rx_inline;
use kernel::dma::BusMaster;
use kernel::net::ethtool::FlowSpec;
use kernel::new_spinlock_bh;
use kernel::platform::ModelDevice;
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::sync::SpinLockBh;
use kernel::time::Ktime;
use kernel::timer::{usecs_to_jiffies, Timer, TimerHandler};

/// Slots of each ring.
const RING_SIZE: usize = 1024;
/// Most flow steering rules.
pub(crate) const MAX_RULES: usize = MAX_FLOW_RULES;

struct RxQueue {
    bufs: Ring<RxBuf>,
    compl: Ring<RxCompl>,
    running: bool,
}

/// An additional RSS context's hash key and indirection table.
#[derive(Clone, Copy)]
struct RssContext {
    key: [u8; RSS_KEY_LEN],
    indir: [u16; RSS_INDIR_LEN],
}

struct TxQueue {
    segs: Ring<TxSeg>,
    compl: Ring<TxCompl>,
}

/// Interrupt moderation of one vector.
#[derive(Clone, Copy, Default)]
struct Itr {
    /// When the vector was last raised (ns, `ktime`).
    last_ns: i64,
    /// When the moderation timer is to raise it (ns), if it is to.
    due_ns: Option<i64>,
}

/// How a completion is signalled.
enum Signal {
    /// By an interrupt now.
    Now,
    /// By the interrupt already due at the end of the interval.
    Pending,
    /// By an interrupt in this many µs, from the moderation timer.
    Later(u32),
}

/// Vectors subject to moderation: rx queues, then tx queues.
const ITR_VECTORS: usize = 2 * MAX_QUEUES;

struct State {
    nq: u16,
    hsplit: bool,
    /// Hardware GRO ([`Port::set_rx_gro`]).
    gro: bool,
    /// Interrupt intervals of the rx and tx vectors, µs.
    itr_usecs: [u32; 2],
    itr: [Itr; ITR_VECTORS],
    mtu: u32,
    key: [u8; RSS_KEY_LEN],
    indir: [u16; RSS_INDIR_LEN],
    /// Additional RSS contexts (index 0 unused: the main context is
    /// `key` and `indir`).
    contexts: KVec<Option<RssContext>>,
    /// Flow rules by location; lower locations match first.
    rules: [Option<(FlowSpec, RuleDest)>; MAX_RULES],
    rx: KVec<RxQueue>,
    tx: KVec<TxQueue>,
    irq: Option<Arc<dyn IrqHandler>>,
    peer: Option<Arc<Dev>>,
    dma: Option<BusMaster>,
    stats: PortStats,
}

/// One emulated port: its state, inside its interrupt moderation timer
/// ([`Dev`]).
#[pin_data]
pub(crate) struct EmuPort {
    mac: [u8; 6],
    #[pin]
    state: SpinLockBh<State>,
    /// The frames the port is putting on the wire: taken (before `state`)
    /// for the whole of a transmission, the peer's receive included, so
    /// its buffers are reused from frame to frame.
    #[pin]
    wire: SpinLockBh<Wire>,
}

/// Bytes of a port's transmit buffer: a TSO frame's segments, each with
/// its own copy of the headers (a frame that does not fit is dropped).
const WIRE_BYTES: usize = (TSO_MAX_SIZE + (TSO_MAX_SEGS - 1) * TSO_MAX_HDR) as usize;

/// A port's transmit buffer, allocated once: the `n` frames of one burst
/// back to back in `data`, frame `i` ending at `ends[i]`.
struct Wire {
    data: KVec<u8>,
    ends: [usize; TSO_MAX_SEGS as usize],
    n: usize,
}

impl Wire {
    fn clear(&mut self) {
        self.n = 0;
    }

    /// A new frame of `len` bytes after the others (zeroed or not: the
    /// caller writes all of it).
    fn frame(&mut self, len: usize) -> core::result::Result<&mut [u8], TxError> {
        let from = match self.n.checked_sub(1) {
            None => 0,
            Some(j) => self.ends[j],
        };
        let to = from.checked_add(len).ok_or(TxError::Dma)?;
        let end = self.ends.get_mut(self.n).ok_or(TxError::Dma)?;
        let buf = self.data.get_mut(from..to).ok_or(TxError::Dma)?;
        *end = to;
        self.n += 1;
        Ok(buf)
    }

    fn burst(&self) -> Burst<'_> {
        Burst {
            data: &self.data,
            ends: &self.ends[..self.n],
            start: 0,
        }
    }
}

/// The frames of one burst on the wire (what one transmitted frame
/// became: itself, or the segments of a TSO frame), back to back: frame
/// `i` is `data[ends[i - 1]..ends[i]]` (the first from `start`).
#[derive(Clone, Copy)]
struct Burst<'a> {
    data: &'a [u8],
    ends: &'a [usize],
    start: usize,
}

impl<'a> Burst<'a> {
    fn len(&self) -> usize {
        self.ends.len()
    }

    /// Frame `i` (empty past the end).
    fn frame(&self, i: usize) -> &'a [u8] {
        let from = match i.checked_sub(1) {
            None => self.start,
            Some(j) => self.ends.get(j).copied().unwrap_or(0),
        };
        let to = self.ends.get(i).copied().unwrap_or(0);
        self.data.get(from..to).unwrap_or(&[])
    }

    /// The frames from the `n`th on.
    fn skip(&self, n: usize) -> Self {
        let n = n.min(self.ends.len());
        let start = match n.checked_sub(1) {
            None => self.start,
            Some(j) => self.ends[j],
        };
        Self {
            data: self.data,
            ends: &self.ends[n..],
            start,
        }
    }

    /// The first `n` frames.
    fn take(&self, n: usize) -> Self {
        Self {
            ends: &self.ends[..n.min(self.ends.len())],
            ..*self
        }
    }

    fn iter(self) -> impl Iterator<Item = &'a [u8]> + Clone {
        (0..self.len()).map(move |i| self.frame(i))
    }
}

/// A port as the driver and its peer see it: with the timer that raises
/// moderated interrupts.
pub(crate) type Dev = Timer<EmuPort>;

fn itr_slot(v: Vector) -> Option<(usize, usize)> {
    match v {
        Vector::Rx(q) => Some((0, usize::from(q))),
        Vector::Tx(q) => Some((1, MAX_QUEUES + usize::from(q))),
        Vector::Link => None,
    }
}

fn itr_vector(i: usize) -> Vector {
    if i < MAX_QUEUES {
        Vector::Rx(i as u16)
    } else {
        Vector::Tx((i - MAX_QUEUES) as u16)
    }
}

/// Whole µs from `now` to `due` (ns), rounded up.
fn usecs_until(due: i64, now: i64) -> u32 {
    ((due - now).max(0) as u64)
        .div_ceil(1000)
        .min(u64::from(u32::MAX)) as u32
}

impl State {
    /// How completions on vector `v` at time `now` (ns) are signalled
    /// (see [`IrqHandler`]).
    fn moderate(&mut self, v: Vector, now: i64) -> Signal {
        let Some((dir, i)) = itr_slot(v) else {
            return Signal::Now;
        };
        let usecs = self.itr_usecs[dir];
        let Some(itr) = self.itr.get_mut(i) else {
            return Signal::Now;
        };
        if usecs == 0 {
            return Signal::Now;
        }
        if itr.due_ns.is_some() {
            return Signal::Pending;
        }
        let interval = i64::from(usecs) * 1000;
        if now - itr.last_ns >= interval {
            itr.last_ns = now;
            return Signal::Now;
        }
        let due = itr.last_ns + interval;
        itr.due_ns = Some(due);
        Signal::Later(usecs_until(due, now))
    }

    /// Signals completions on vector `v` of `port` (whose state this is):
    /// the interrupt handler to call now, if any; or the moderation timer
    /// is armed.
    fn signal(&mut self, port: &Dev, v: Vector) -> Option<Arc<dyn IrqHandler>> {
        match self.moderate(v, Ktime::ktime_get().to_ns()) {
            Signal::Now => self.irq.clone(),
            Signal::Pending => None,
            Signal::Later(us) => {
                port.arm_within(usecs_to_jiffies(us));
                None
            }
        }
    }

    /// The rx queue a frame goes to and its hash: flow rules first (to a
    /// queue, or to an additional RSS context, which hashes with its own
    /// key and picks from its own table), then the main RSS context.
    fn classify(&self, flow: Option<&Flow>) -> (u16, u32, bool) {
        let Some(f) = flow else {
            return (0, 0, false);
        };
        let rule = self
            .rules
            .iter()
            .flatten()
            .find(|(m, _)| m.matches(f.flow_type, &f.tuple));
        let (key, indir) = match rule {
            Some((_, RuleDest::Queue(q))) => {
                return (*q, packet::rss_hash(&self.key, f), true);
            }
            Some((_, RuleDest::Context(c))) => {
                // A rule only names a context that exists (`set_flow_rule`,
                // `del_rss_context`).
                match self.contexts.get(usize::from(*c)).and_then(Option::as_ref) {
                    Some(ctx) => (&ctx.key, &ctx.indir),
                    None => (&self.key, &self.indir),
                }
            }
            None => (&self.key, &self.indir),
        };
        let hash = packet::rss_hash(key, f);
        (indir[hash as usize % RSS_INDIR_LEN], hash, true)
    }
}

impl EmuPort {
    fn new(mac: [u8; 6]) -> Result<Arc<Dev>> {
        let mut contexts = KVec::with_capacity(RSS_CONTEXTS, GFP_KERNEL)?;
        for _ in 0..RSS_CONTEXTS {
            contexts.push(None, GFP_KERNEL)?;
        }
        let wire = KVec::from_elem(0u8, WIRE_BYTES, GFP_KERNEL)?;
        let mut indir = [0u16; RSS_INDIR_LEN];
        for (i, e) in indir.iter_mut().enumerate() {
            *e = (i % MAX_QUEUES) as u16;
        }
        Arc::pin_init(
            kernel::new_timer!(try_pin_init!(Self {
                mac,
                wire <- new_spinlock_bh!(Wire {
                    data: wire,
                    ends: [0; TSO_MAX_SEGS as usize],
                    n: 0,
                }),
                state <- new_spinlock_bh!(State {
                    nq: 0,
                    hsplit: false,
                    gro: false,
                    itr_usecs: [0; 2],
                    itr: [Itr::default(); ITR_VECTORS],
                    mtu: 1500,
                    key: DEFAULT_RSS_KEY,
                    indir,
                    contexts,
                    rules: [None; MAX_RULES],
                    rx: KVec::new(),
                    tx: KVec::new(),
                    irq: None,
                    peer: None,
                    dma: None,
                    stats: PortStats::default(),
                }),
            }? Error)),
            GFP_KERNEL,
        )
    }

    fn raise(irq: Option<Arc<dyn IrqHandler>>, v: Vector) {
        if let Some(h) = irq {
            h.irq(v);
        }
    }

    /// Receives the frames of one burst on the wire (what one transmitted
    /// frame became: itself, or the segments of a TSO frame) into `port`
    /// (called by the peer, in BH context). With hardware GRO on,
    /// consecutive segments of one TCP flow in the burst coalesce into one
    /// packet ([`State::deliver_chain`]); the rest go one by one. The
    /// queues' interrupts are raised (or moderated) per packet.
    fn receive(port: &Dev, frames: Burst<'_>) {
        // Interrupts to raise, by rx queue.
        let mut raise = [0u32; MAX_QUEUES];
        let irq = {
            let mut st = port.state.lock();
            let st = &mut *st;
            let mut i = 0;
            while i < frames.len() {
                let rest = frames.skip(i);
                let n = if st.gro {
                    packet::gro_len(rest.iter(), st.mtu as usize, GRO_MAX_SIZE as usize)
                } else {
                    1
                };
                let chain = Some(rest.take(n)).filter(|c| c.len() > 1);
                let (q, used) = match chain.and_then(|c| st.deliver_chain(c)) {
                    Some(q) => (q, n),
                    // Segments the chain could not take go one by one.
                    None => (st.deliver(rest.frame(0)), 1),
                };
                if let Some(q) = q {
                    if st.signal(port, Vector::Rx(q)).is_some() {
                        if let Some(r) = raise.get_mut(usize::from(q)) {
                            *r += 1;
                        }
                    }
                }
                i += used;
            }
            st.irq.clone()
        };
        for (q, n) in raise.iter().enumerate() {
            for _ in 0..*n {
                Self::raise(irq.clone(), Vector::Rx(q as u16));
            }
        }
    }
}

impl State {
    /// Delivers one frame from the wire to the rx queue it classifies to;
    /// returns that queue if it got completions (`None`: dropped).
    fn deliver(&mut self, frame: &[u8]) -> Option<u16> {
        let flow = packet::parse(frame);
        if self.nq == 0 || frame.len() > self.mtu as usize + 14 {
            return None;
        }
        let (cq, hash, l4) = self.classify(flow.as_ref());
        // A rule may point past the queues in use: that queue is off.
        if cq >= self.nq || !self.rx[cq as usize].running {
            self.stats.rx_no_buffer += 1;
            return None;
        }
        let q = cq;
        let dma = self.dma.as_ref()?;
        let csum_ok = flow.as_ref().is_some_and(|f| packet::l4_csum_ok(frame, f));
        let rxq = &mut self.rx[q as usize];

        // Header split: headers into the first buffer's header buffer,
        // followed by up to `rx_inline` payload bytes as far as it has
        // room; the rest into payload buffers, one completion per
        // buffer. A payload that fits whole uses no payload buffer.
        let split_at = match (&flow, self.hsplit, rxq.bufs.peek(0)) {
            (Some(f), true, Some(b)) if f.hdr_end as u32 <= b.hdr_len => {
                let room = b.hdr_len as usize - f.hdr_end;
                let payload = frame.len().saturating_sub(f.hdr_end);
                f.hdr_end + payload.min(room).min(rx_inline() as usize)
            }
            _ => 0,
        };
        let payload = &frame[split_at..];
        // Enough posted buffers for the whole frame? Else drop it whole.
        let mut need = 0usize;
        let mut left = payload.len();
        loop {
            let Some(b) = rxq.bufs.peek(need) else {
                self.stats.rx_no_buffer += 1;
                return None;
            };
            need += 1;
            if b.data_len == 0 {
                continue;
            }
            left = left.saturating_sub(b.data_len as usize);
            if left == 0 {
                break;
            }
        }
        let mut off = 0usize;
        for i in 0..need {
            let Some(b) = rxq.bufs.pop() else { break };
            let mut c = RxCompl {
                id: b.id,
                sop: i == 0,
                eop: i == need - 1,
                rss_hash: hash,
                hash_l4: l4,
                l4_csum_ok: csum_ok,
                ..Default::default()
            };
            if i == 0 && split_at > 0 {
                if dma.write(b.hdr_addr, &frame[..split_at]).is_err() {
                    self.stats.dma_errors += 1;
                    rxq.bufs.clear();
                    return None;
                }
                c.hdr_len = split_at as u32;
                c.split = true;
            }
            let n = core::cmp::min(b.data_len as usize, payload.len() - off);
            if n > 0 && dma.write(b.data_addr, &payload[off..off + n]).is_err() {
                self.stats.dma_errors += 1;
                return None;
            }
            c.data_len = n as u32;
            off += n;
            // Completion ring has room: it is as large as the buffer ring.
            let _ = rxq.compl.push(c);
        }
        Some(q)
    }

    /// Delivers `frames`, segments of one TCP flow that coalesce (see
    /// [`packet::gro_len`]), as one packet: the first one's headers, fixed
    /// by [`packet::gro_headers`], then every payload one after the other,
    /// packed into at most [`GRO_MAX_BUFS`] posted buffers. Returns the
    /// queue to signal (`None` when the packet was dropped for want of
    /// buffers), or `None` if the posted buffers are too small for the
    /// packet (the caller delivers the segments one by one).
    fn deliver_chain(&mut self, frames: Burst<'_>) -> Option<Option<u16>> {
        if frames.len() == 0 {
            return None;
        }
        let first = frames.frame(0);
        let flow = packet::parse(first)?;
        let hdr_end = flow.hdr_end;
        if hdr_end > GRO_MAX_HDR {
            return None;
        }
        let (q, hash, l4) = self.classify(Some(&flow));
        let Some(dma) = self.dma.as_ref() else {
            return Some(None);
        };
        let nq = self.nq;
        let Some(rxq) = self
            .rx
            .get_mut(usize::from(q))
            .filter(|r| q < nq && r.running)
        else {
            self.stats.rx_no_buffer += 1;
            return Some(None);
        };
        let total: usize = frames.iter().map(|f| packet::l4_payload(f).len()).sum();
        let last_flags = frames
            .frame(frames.len() - 1)
            .get(flow.l4_off + 13)
            .copied();
        let mut hdr = [0u8; GRO_MAX_HDR];
        let hdr = &mut hdr[..hdr_end];
        hdr.copy_from_slice(&first[..hdr_end]);
        if !packet::gro_headers(hdr, &flow, total, last_flags.unwrap_or(0)) {
            return None;
        }
        let split = self.hsplit
            && rxq
                .bufs
                .peek(0)
                .is_some_and(|b| hdr_end as u32 <= b.hdr_len);
        // Without header split the headers lead the payload buffers; with
        // it up to `rx_inline` payload bytes follow them into the header
        // buffer, as for single frames.
        let head: &[u8] = if split { &[] } else { hdr };
        let inline = match rxq.bufs.peek(0) {
            Some(b) if split => (b.hdr_len as usize - hdr_end)
                .min(rx_inline() as usize)
                .min(total),
            _ => 0,
        };
        let mut need = 0usize;
        let mut left = head.len() + total - inline;
        loop {
            let Some(b) = rxq.bufs.peek(need) else {
                self.stats.rx_no_buffer += 1;
                return Some(None);
            };
            need += 1;
            if need > GRO_MAX_BUFS {
                return None;
            }
            left = left.saturating_sub(b.data_len as usize);
            if left == 0 {
                break;
            }
        }
        let rsc = RxRsc {
            mss: packet::l4_payload(first).len() as u32,
            segs: frames.len() as u32,
            ipv6: flow.flow_type.is_ipv6(),
        };
        let mut pieces = Iterator::chain(
            core::iter::once(head),
            frames.iter().map(packet::l4_payload),
        );
        let mut cur: &[u8] = &[];
        for i in 0..need {
            let Some(b) = rxq.bufs.pop() else { break };
            let mut c = RxCompl {
                id: b.id,
                sop: i == 0,
                eop: i + 1 == need,
                rss_hash: hash,
                hash_l4: l4,
                l4_csum_ok: true,
                rsc: Some(rsc),
                ..Default::default()
            };
            if i == 0 && split {
                let at = b.hdr_addr.saturating_add(hdr_end as u64);
                let w = dma
                    .write(b.hdr_addr, hdr)
                    .and_then(|()| write_stream(dma, at, inline, &mut cur, &mut pieces));
                if w.is_err() {
                    self.stats.dma_errors += 1;
                    return Some(None);
                }
                c.hdr_len = (hdr_end + inline) as u32;
                c.split = true;
            }
            let Ok(n) = write_stream(dma, b.data_addr, b.data_len as usize, &mut cur, &mut pieces)
            else {
                self.stats.dma_errors += 1;
                return Some(None);
            };
            c.data_len = n as u32;
            // The completion ring has room: it is as large as the buffer ring.
            let _ = rxq.compl.push(c);
        }
        Some(Some(q))
    }
}

/// The moderation timer fired: raise the vectors that are due.
impl TimerHandler for EmuPort {
    fn expired(port: &Dev) {
        let now = Ktime::ktime_get().to_ns();
        let mut due = 0u64;
        let irq = {
            let mut st = port.state.lock();
            let mut next: Option<i64> = None;
            for (i, itr) in st.itr.iter_mut().enumerate() {
                match itr.due_ns {
                    Some(d) if d <= now => {
                        itr.due_ns = None;
                        itr.last_ns = now;
                        due |= 1 << i;
                    }
                    Some(d) => next = Some(next.map_or(d, |n| n.min(d))),
                    None => {}
                }
            }
            if let Some(n) = next {
                port.arm_within(usecs_to_jiffies(usecs_until(n, now)));
            }
            st.irq.clone()
        };
        for i in (0..ITR_VECTORS).filter(|i| due & (1 << i) != 0) {
            Self::raise(irq.clone(), itr_vector(i));
        }
    }
}

impl Port for Dev {
    fn mac(&self) -> [u8; 6] {
        self.mac
    }

    fn set_irq_handler(&self, handler: Option<Arc<dyn IrqHandler>>) {
        self.state.lock().irq = handler;
    }

    fn enable(&self, nq: u16) -> Result {
        if usize::from(nq) > MAX_QUEUES {
            return Err(EINVAL);
        }
        // Allocate outside the lock.
        let mut rx = KVec::with_capacity(nq.into(), GFP_KERNEL)?;
        let mut tx = KVec::with_capacity(nq.into(), GFP_KERNEL)?;
        for _ in 0..nq {
            rx.push(
                RxQueue {
                    bufs: Ring::new(RING_SIZE, GFP_KERNEL)?,
                    compl: Ring::new(RING_SIZE, GFP_KERNEL)?,
                    running: true,
                },
                GFP_KERNEL,
            )?;
            tx.push(
                TxQueue {
                    segs: Ring::new(MAX_SEGS, GFP_KERNEL)?,
                    compl: Ring::new(RING_SIZE, GFP_KERNEL)?,
                },
                GFP_KERNEL,
            )?;
        }
        let (old_rx, old_tx, peer, irq);
        {
            let mut st = self.state.lock();
            st.nq = nq;
            // Hardware default: spread RSS over the enabled queues.
            for (i, e) in st.indir.iter_mut().enumerate() {
                *e = if nq > 0 {
                    (i % usize::from(nq)) as u16
                } else {
                    0
                };
            }
            // Moderation starts afresh (a due interrupt of the old queues
            // is dropped; the timer finds nothing to raise).
            st.itr = [Itr::default(); ITR_VECTORS];
            old_rx = core::mem::replace(&mut st.rx, rx);
            old_tx = core::mem::replace(&mut st.tx, tx);
            peer = st.peer.clone();
            irq = st.irq.clone();
        }
        drop((old_rx, old_tx));
        // Link state changes on both ends.
        EmuPort::raise(irq, Vector::Link);
        if let Some(p) = peer {
            let pirq = p.state.lock().irq.clone();
            EmuPort::raise(pirq, Vector::Link);
        }
        Ok(())
    }

    fn set_header_split(&self, on: bool) {
        self.state.lock().hsplit = on;
    }

    fn set_rx_gro(&self, on: bool) {
        self.state.lock().gro = on;
    }

    fn set_coalesce(&self, rx_usecs: u32, tx_usecs: u32) -> Result {
        if rx_usecs > MAX_ITR_USECS || tx_usecs > MAX_ITR_USECS {
            return Err(EINVAL);
        }
        self.state.lock().itr_usecs = [rx_usecs, tx_usecs];
        Ok(())
    }

    fn set_mtu(&self, mtu: u32) -> Result {
        if !(68..=MAX_MTU).contains(&mtu) {
            return Err(EINVAL);
        }
        self.state.lock().mtu = mtu;
        Ok(())
    }

    fn set_rss(&self, key: &[u8; RSS_KEY_LEN], indir: &[u16; RSS_INDIR_LEN]) -> Result {
        if indir.iter().any(|&q| usize::from(q) >= MAX_QUEUES) {
            return Err(EINVAL);
        }
        let mut st = self.state.lock();
        st.key = *key;
        st.indir = *indir;
        Ok(())
    }

    fn set_rss_context(
        &self,
        ctx: u16,
        key: &[u8; RSS_KEY_LEN],
        indir: &[u16; RSS_INDIR_LEN],
    ) -> Result {
        if ctx == 0 || indir.iter().any(|&q| usize::from(q) >= MAX_QUEUES) {
            return Err(EINVAL);
        }
        let mut st = self.state.lock();
        let slot = st.contexts.get_mut(usize::from(ctx)).ok_or(EINVAL)?;
        *slot = Some(RssContext {
            key: *key,
            indir: *indir,
        });
        Ok(())
    }

    fn del_rss_context(&self, ctx: u16) -> Result {
        let mut st = self.state.lock();
        if ctx == 0 || usize::from(ctx) >= RSS_CONTEXTS {
            return Err(EINVAL);
        }
        let used = st
            .rules
            .iter()
            .flatten()
            .any(|(_, d)| *d == RuleDest::Context(ctx));
        if used {
            return Err(EBUSY);
        }
        st.contexts[usize::from(ctx)]
            .take()
            .map(|_| ())
            .ok_or(ENOENT)
    }

    fn set_flow_rule(&self, loc: u32, spec: &FlowSpec, dest: RuleDest) -> Result {
        if loc as usize >= MAX_RULES {
            return Err(EINVAL);
        }
        let mut st = self.state.lock();
        match dest {
            RuleDest::Queue(q) if usize::from(q) >= MAX_QUEUES => return Err(EINVAL),
            RuleDest::Context(c) => {
                let exists = st.contexts.get(usize::from(c)).is_some_and(Option::is_some);
                if !exists {
                    return Err(ENOENT);
                }
            }
            RuleDest::Queue(_) => {}
        }
        st.rules[loc as usize] = Some((*spec, dest));
        Ok(())
    }

    fn del_flow_rule(&self, loc: u32) -> Result {
        let mut st = self.state.lock();
        let rule = st.rules.get_mut(loc as usize).ok_or(EINVAL)?;
        rule.take().map(|_| ()).ok_or(ENOENT)
    }

    fn rx_queue_stop(&self, q: u16) -> Result {
        let mut st = self.state.lock();
        let rxq = st.rx.get_mut(usize::from(q)).ok_or(EINVAL)?;
        rxq.running = false;
        rxq.bufs.clear();
        rxq.compl.clear();
        Ok(())
    }

    fn rx_queue_start(&self, q: u16) -> Result {
        let mut st = self.state.lock();
        let rxq = st.rx.get_mut(usize::from(q)).ok_or(EINVAL)?;
        rxq.running = true;
        Ok(())
    }

    fn post_rx(&self, q: u16, buf: RxBuf) -> Result {
        let mut st = self.state.lock();
        let rxq = st.rx.get_mut(usize::from(q)).ok_or(EINVAL)?;
        if !rxq.running {
            return Err(EINVAL);
        }
        // A buffer and its completion must both fit.
        if rxq.bufs.len() + rxq.compl.len() >= RING_SIZE {
            return Err(EBUSY);
        }
        rxq.bufs.push(buf)
    }

    fn poll_rx(&self, q: u16) -> Option<RxCompl> {
        let c = self.state.lock().rx.get_mut(usize::from(q))?.compl.pop();
        c
    }

    fn post_tx(&self, q: u16, seg: TxSeg) -> Result {
        // The last descriptor puts the frame on the wire: in this port's
        // transmit buffers, taken before the state lock.
        let mut wire = seg.eop.then(|| self.wire.lock());
        let (sent, peer, irq) = {
            let mut st = self.state.lock();
            let st = &mut *st;
            let dma = st.dma.as_ref().ok_or(EIO)?;
            let txq = st.tx.get_mut(usize::from(q)).ok_or(EINVAL)?;
            if txq.segs.len() >= MAX_SEGS || txq.compl.len() >= RING_SIZE {
                return Err(EBUSY);
            }
            txq.segs.push(seg)?;
            let Some(wire) = wire.as_deref_mut() else {
                return Ok(());
            };
            // The frame's descriptors; what to do with it is in its first.
            let mut segs = [TxSeg::default(); MAX_SEGS];
            let n = txq.segs.len().min(MAX_SEGS);
            for (i, d) in segs.iter_mut().enumerate().take(n) {
                *d = txq.segs.peek(i).unwrap_or_default();
            }
            let segs = &segs[..n];
            // Read every byte of the frame before completing it (after
            // which the driver unmaps it).
            wire.clear();
            let built = match segs.first().and_then(|s| s.tso) {
                Some(tso) => tso_frames(dma, segs, tso, st.mtu, wire),
                None => whole_frame(dma, segs, &mut st.stats.tx_csum_errors, wire),
            };
            txq.segs.clear();
            let _ = txq.compl.push(TxCompl { tag: seg.tag });
            if let Err(e) = &built {
                match e {
                    TxError::Dma => st.stats.dma_errors += 1,
                    TxError::Tso => st.stats.tx_tso_errors += 1,
                }
            }
            let irq = st.signal(self, Vector::Tx(q));
            (built.is_ok(), st.peer.clone(), irq)
        };
        EmuPort::raise(irq, Vector::Tx(q));
        if let (Some(p), Some(w), true) = (peer, wire.as_deref(), sent) {
            EmuPort::receive(&p, w.burst());
        }
        Ok(())
    }

    fn poll_tx(&self, q: u16) -> Option<TxCompl> {
        let c = self.state.lock().tx.get_mut(usize::from(q))?.compl.pop();
        c
    }

    fn link_up(&self) -> bool {
        let peer = {
            let st = self.state.lock();
            if st.nq == 0 {
                return false;
            }
            st.peer.clone()
        };
        peer.is_some_and(|p| {
            let up = p.state.lock().nq > 0;
            up
        })
    }

    fn stats(&self) -> PortStats {
        let stats = self.state.lock().stats;
        stats
    }
}

/// Most segments of one frame.
const MAX_SEGS: usize = 32;

/// Writes up to `cap` bytes of a stream at DMA address `addr`: the rest of
/// the current piece `cur`, then the next `pieces`. Returns how many (fewer
/// when the stream ends).
fn write_stream<'a>(
    dma: &BusMaster,
    addr: u64,
    cap: usize,
    cur: &mut &'a [u8],
    pieces: &mut impl Iterator<Item = &'a [u8]>,
) -> Result<usize> {
    let mut done = 0;
    while done < cap {
        if cur.is_empty() {
            match pieces.next() {
                Some(p) => *cur = p,
                None => break,
            }
            continue;
        }
        let n = cur.len().min(cap - done);
        let at = addr.checked_add(done as u64).ok_or(EFAULT)?;
        dma.write(at, &cur[..n])?;
        done += n;
        *cur = &cur[n..];
    }
    Ok(done)
}

/// Why a tx frame did not go on the wire.
enum TxError {
    /// A DMA address was refused, or no memory for the frame.
    Dma,
    /// Segmentation the device cannot do (see [`TxTso`]): dropped.
    Tso,
}

/// Reads bytes `off..off + buf.len()` of the frame whose descriptors are
/// `segs` into `buf`, through their DMA addresses.
fn gather(dma: &BusMaster, segs: &[TxSeg], mut off: usize, buf: &mut [u8]) -> Result {
    let mut done = 0;
    for s in segs {
        if done == buf.len() {
            break;
        }
        let len = s.len as usize;
        if off >= len {
            off -= len;
            continue;
        }
        let n = (len - off).min(buf.len() - done);
        let addr = s.addr.checked_add(off as u64).ok_or(EFAULT)?;
        dma.read(addr, &mut buf[done..done + n])?;
        done += n;
        off = 0;
    }
    if done == buf.len() {
        Ok(())
    } else {
        Err(EINVAL)
    }
}

/// Puts the frame as it is into `wire`, its checksum filled in if its
/// first descriptor asks (offsets past the frame: sent as it is, counted
/// in `csum_errors`; its checksum is wrong, and the receiver drops it).
fn whole_frame(
    dma: &BusMaster,
    segs: &[TxSeg],
    csum_errors: &mut u64,
    wire: &mut Wire,
) -> core::result::Result<(), TxError> {
    let total: usize = segs.iter().map(|s| s.len as usize).sum();
    let frame = wire.frame(total)?;
    gather(dma, segs, 0, frame).map_err(|_| TxError::Dma)?;
    if let Some(c) = segs.first().and_then(|s| s.csum) {
        if !packet::fill_csum(frame, c.start as usize, c.offset as usize) {
            *csum_errors += 1;
        }
    }
    Ok(())
}

/// Puts the segments of a TSO frame (see [`TxTso`]) into `wire`, each at
/// most `mtu` bytes past the Ethernet header.
fn tso_frames(
    dma: &BusMaster,
    segs: &[TxSeg],
    tso: TxTso,
    mtu: u32,
    wire: &mut Wire,
) -> core::result::Result<(), TxError> {
    let total: usize = segs.iter().map(|s| s.len as usize).sum();
    let (hdr_len, mss) = (tso.hdr_len as usize, tso.mss as usize);
    if hdr_len > TSO_MAX_HDR as usize
        || total <= hdr_len
        || total > TSO_MAX_SIZE as usize
        || mss == 0
        || hdr_len + mss > mtu as usize + 14
    {
        return Err(TxError::Tso);
    }
    let payload = total - hdr_len;
    let n = payload.div_ceil(mss);
    if n > TSO_MAX_SEGS as usize {
        return Err(TxError::Tso);
    }
    let mut hdr = [0u8; TSO_MAX_HDR as usize];
    let hdr = &mut hdr[..hdr_len];
    gather(dma, segs, 0, hdr).map_err(|_| TxError::Dma)?;
    for i in 0..n {
        let off = i * mss;
        let len = mss.min(payload - off);
        let f = wire.frame(hdr_len + len)?;
        f[..hdr_len].copy_from_slice(hdr);
        gather(dma, segs, hdr_len + off, &mut f[hdr_len..]).map_err(|_| TxError::Dma)?;
        // `off` is below `TSO_MAX_SIZE`, `i` below `TSO_MAX_SEGS`.
        if !packet::tso_fix(f, hdr_len, i as u32, off as u32, i + 1 == n) {
            return Err(TxError::Tso);
        }
    }
    Ok(())
}

/// Two ports joined by a wire, registered as platform devices
/// `gve-rs-emu.<2n>` and `gve-rs-emu.<2n+1>`.
pub(crate) struct Pair {
    ports: [Arc<Dev>; 2],
    devs: KVec<ModelDevice<Arc<dyn Port>>>,
}

impl Pair {
    pub(crate) fn new(n: u32) -> Result<Self> {
        let mac = |i: u32| [0x02, 0x67, 0x76, 0x65, (i >> 8) as u8, i as u8];
        let a = EmuPort::new(mac(2 * n))?;
        let b = EmuPort::new(mac(2 * n + 1))?;
        {
            a.state.lock().peer = Some(b.clone());
            b.state.lock().peer = Some(a.clone());
        }
        let mut pair = Self {
            ports: [a, b],
            devs: KVec::with_capacity(2, GFP_KERNEL)?,
        };
        for (i, p) in pair.ports.clone().iter().enumerate() {
            let id = (2 * n) as i32 + i as i32;
            let port: Arc<dyn Port> = p.clone();
            let dev = ModelDevice::new(DEVICE_NAME, id, port)?;
            p.state.lock().dma = Some(dev.bus_master());
            pair.devs.push(dev, GFP_KERNEL)?;
        }
        Ok(pair)
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        // Remove the devices (and so their drivers) first, then cut the
        // wire, which also breaks the ports' reference cycle.
        drop(core::mem::take(&mut self.devs));
        for p in &self.ports {
            let mut st = p.state.lock();
            st.peer = None;
            st.irq = None;
            st.dma = None;
        }
    }
}
