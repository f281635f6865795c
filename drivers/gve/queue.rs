// SPDX-License-Identifier: GPL-2.0

//! Queue pairs: the rx buffer/completion queue with its page pool and
//! header buffers, the tx queue, and the NAPI poll that serves both.

use crate::driver::{post_seg, GveNetdev, Priv, Queues};
use crate::emu::nic::{IrqHandler, RxBuf, RxCompl, TxCsum, TxSeg, TxTso, Vector};
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use kernel::dma::CoherentBuffer;
use kernel::net::napi::{NapiRef, Poll};
use kernel::net::netdev::{Device, Features};
use kernel::net::page_pool::{Netmem, PagePool, Params, RxQueue};
use kernel::net::rtnl::Rtnl;
use kernel::net::skb::{CsumPartial, MappedSkb, RxSkb};
use kernel::new_spinlock_bh;
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::sync::SpinLockBh;
use kernel::time::msecs_to_jiffies;

/// Rx buffers per queue (buffer ids).
pub(crate) const RX_BUFS: usize = 512;
/// Low-water mark of posted rx buffers: below it, with the page pool
/// empty, the queue may get no completion (so no interrupt, so no poll)
/// ever again, as the device drops frames it has no room for; the poll
/// then retries the refill from a timer. Far more than one frame needs
/// (MTU 9000: three payload buffers).
const RX_LOW_WATER: usize = RX_BUFS / 8;
/// First and longest delay between refill retries of a starved queue,
/// in ms: the delay doubles while the pool stays empty.
const REFILL_RETRY_MIN_MS: u32 = 1;
const REFILL_RETRY_MAX_MS: u32 = 64;
/// Bytes of each header buffer.
const HDR_BUF: usize = 256;
/// Tx frames in flight per queue (completion tags).
pub(crate) const TX_SLOTS: usize = 1024;
/// Bytes copied into the linear part of an skb when the device did not
/// split headers from payload (the rest stays in the page).
const COPYBREAK: usize = 256;
const PAGE: u32 = kernel::page::PAGE_SIZE as u32;

/// Per-queue counters.
#[derive(Clone, Copy, Default)]
pub(crate) struct QueueStats {
    pub(crate) rx_packets: u64,
    pub(crate) rx_bytes: u64,
    pub(crate) rx_dropped: u64,
    pub(crate) rx_split: u64,
    pub(crate) rx_unsplit: u64,
    pub(crate) rx_alloc_fail: u64,
    pub(crate) rx_csum_unnecessary: u64,
    /// Interrupts of the queue's rx vector.
    pub(crate) rx_irqs: u64,
    /// Packets of segments the device coalesced (hardware GRO).
    pub(crate) rx_gro_hw_packets: u64,
    /// Segments in them.
    pub(crate) rx_gro_hw_segments: u64,
    pub(crate) tx_packets: u64,
    pub(crate) tx_bytes: u64,
    pub(crate) tx_dropped: u64,
    /// Frames sent with checksum offload (`CHECKSUM_PARTIAL`).
    pub(crate) tx_csum_partial: u64,
    /// Frames sent from more than one buffer (scatter-gather: linear part
    /// and frags).
    pub(crate) tx_sg_packets: u64,
    /// Super-frames the device segmented (TSO).
    pub(crate) tx_tso_packets: u64,
    /// Segments the stack counted on for them (`gso_segs`).
    pub(crate) tx_tso_segments: u64,
    /// Interrupts of the queue's tx vector.
    pub(crate) tx_irqs: u64,
}

/// The rx offloads the stack has on (`ethtool -K rx`, `rxhash`), read once
/// per poll: a change applies from the next poll on.
#[derive(Clone, Copy)]
pub(crate) struct RxOffloads {
    /// Mark packets whose L4 checksum the device validated as
    /// `CHECKSUM_UNNECESSARY`.
    csum: bool,
    /// Hand the device's flow hash to the stack.
    hash: bool,
}

impl RxOffloads {
    fn of(dev: &Device<GveNetdev>) -> Self {
        let f = dev.features();
        Self {
            csum: f.contains(Features::RXCSUM),
            hash: f.contains(Features::RXHASH),
        }
    }
}

impl QueueStats {
    /// Packets as they were on the wire (the netdev family's and the
    /// link's `rx-packets`): a packet the device coalesced counts as its
    /// segments. `rx_packets` counts what the driver gave the stack.
    pub(crate) fn rx_wire_packets(&self) -> u64 {
        self.rx_packets - self.rx_gro_hw_packets + self.rx_gro_hw_segments
    }

    /// Packets as they went on the wire (`tx-packets`): a super-frame the
    /// device segmented counts as its segments.
    pub(crate) fn tx_wire_packets(&self) -> u64 {
        self.tx_packets - self.tx_tso_packets + self.tx_tso_segments
    }

    pub(crate) fn add(&mut self, o: &QueueStats) {
        self.rx_packets += o.rx_packets;
        self.rx_bytes += o.rx_bytes;
        self.rx_dropped += o.rx_dropped;
        self.rx_split += o.rx_split;
        self.rx_unsplit += o.rx_unsplit;
        self.rx_alloc_fail += o.rx_alloc_fail;
        self.rx_csum_unnecessary += o.rx_csum_unnecessary;
        self.rx_gro_hw_packets += o.rx_gro_hw_packets;
        self.rx_gro_hw_segments += o.rx_gro_hw_segments;
        self.tx_packets += o.tx_packets;
        self.tx_bytes += o.tx_bytes;
        self.tx_dropped += o.tx_dropped;
        self.rx_irqs += o.rx_irqs;
        self.tx_csum_partial += o.tx_csum_partial;
        self.tx_sg_packets += o.tx_sg_packets;
        self.tx_tso_packets += o.tx_tso_packets;
        self.tx_tso_segments += o.tx_tso_segments;
        self.tx_irqs += o.tx_irqs;
    }
}

/// The memory of one rx queue: what a queue restart replaces.
pub(crate) struct Rx {
    pool: Option<PagePool>,
    hdrs: Option<CoherentBuffer>,
    /// The payload buffer posted under each buffer id.
    bufs: KVec<Option<Netmem>>,
    /// Buffer ids not posted.
    free: IdPool,
    /// The frame being assembled from several buffers.
    skb: Option<RxSkb>,
    /// The frame being assembled is dropped (an unreadable payload the
    /// device did not split, or an allocation failure).
    dropping: bool,
}

struct Tx {
    slots: KVec<Option<MappedSkb>>,
    free: IdPool,
}

/// A stack of free ids `0..n`.
struct IdPool {
    ids: KVec<u16>,
    n: usize,
}

impl IdPool {
    fn new(n: usize) -> Result<Self> {
        let mut ids = KVec::with_capacity(n, GFP_KERNEL)?;
        for id in 0..n {
            ids.push(id as u16, GFP_KERNEL)?;
        }
        Ok(Self { ids, n })
    }

    fn last(&self) -> Option<u16> {
        self.n.checked_sub(1).map(|i| self.ids[i])
    }

    fn pop(&mut self) -> Option<u16> {
        let id = self.last()?;
        self.n -= 1;
        Some(id)
    }

    /// Returns `id`; ids are only ever returned once, so there is room.
    fn push(&mut self, id: u16) {
        if let Some(slot) = self.ids.get_mut(self.n) {
            *slot = id;
            self.n += 1;
        }
    }
}

impl Rx {
    /// Memory for rx queue `q` of `dev`: a page pool for payloads (able to
    /// take a memory provider's unreadable buffers when header split is on)
    /// and header buffers in host memory.
    pub(crate) fn new(dev: &Device<GveNetdev>, rtnl: &Rtnl, q: u16) -> Result<KBox<Self>> {
        let p = dev.data();
        let params = Params::new(&p.dma_dev, RX_BUFS as u32);
        let rxq = RxQueue::new(dev, q.into())?;
        // Without header split the driver must read the headers from the
        // payload buffer: never take unreadable memory then (binding a
        // dma-buf to the queue fails with ENODATA).
        let unreadable = p.cfg.lock().hsplit;
        let pool = PagePool::new_for_rx_queue(&params, &rxq, unreadable, rtnl)?;
        let hdrs = CoherentBuffer::new(&p.dma_dev, RX_BUFS * HDR_BUF, GFP_KERNEL)?;
        let mut bufs = KVec::with_capacity(RX_BUFS, GFP_KERNEL)?;
        for _ in 0..RX_BUFS {
            bufs.push(None, GFP_KERNEL)?;
        }
        Ok(KBox::new(
            Self {
                pool: Some(pool),
                hdrs: Some(hdrs),
                bufs,
                free: IdPool::new(RX_BUFS)?,
                skb: None,
                dropping: false,
            },
            GFP_KERNEL,
        )?)
    }
}

impl Drop for Rx {
    fn drop(&mut self) {
        // Buffers go back to the pool before it is destroyed.
        self.skb = None;
        self.bufs = KVec::new();
        self.pool = None;
    }
}

/// One queue pair, polled by one NAPI context.
#[pin_data]
pub(crate) struct QueuePoller {
    q: u16,
    link_check: AtomicBool,
    /// Delay before the next refill retry of a starved queue (ms); only
    /// the poll uses it.
    refill_retry_ms: AtomicU32,
    /// The rx queue's memory; `None` while the queue is stopped for a
    /// restart.
    #[pin]
    rx: SpinLockBh<Option<KBox<Rx>>>,
    #[pin]
    tx: SpinLockBh<Tx>,
    #[pin]
    stats: SpinLockBh<QueueStats>,
}

impl QueuePoller {
    /// The state of queue pair `q` of `dev` (its page pool and header
    /// buffers are allocated here, in process context under RTNL).
    pub(crate) fn new(
        dev: &Device<GveNetdev>,
        rtnl: &Rtnl,
        q: u16,
    ) -> Result<impl PinInit<Self, Error>> {
        let rx = Rx::new(dev, rtnl, q)?;
        let mut slots = KVec::with_capacity(TX_SLOTS, GFP_KERNEL)?;
        for _ in 0..TX_SLOTS {
            slots.push(None, GFP_KERNEL)?;
        }
        let tfree = IdPool::new(TX_SLOTS)?;
        Ok(try_pin_init!(Self {
            q,
            link_check: AtomicBool::new(false),
            refill_retry_ms: AtomicU32::new(REFILL_RETRY_MIN_MS),
            rx <- new_spinlock_bh!(Some(rx)),
            tx <- new_spinlock_bh!(Tx { slots, free: tfree }),
            stats <- new_spinlock_bh!(QueueStats::default()),
        }? Error))
    }

    pub(crate) fn stats(&self) -> QueueStats {
        let stats = *self.stats.lock();
        stats
    }

    pub(crate) fn count_tx_drop(&self) {
        self.stats.lock().tx_dropped += 1;
    }

    pub(crate) fn request_link_check(&self) {
        self.link_check.store(true, Ordering::Release);
    }

    /// Posts every free rx buffer id with a fresh page-pool buffer.
    ///
    /// Returns whether the queue is starved: the pool ran out with fewer
    /// than [`RX_LOW_WATER`] buffers posted (a dma-buf whose buffers the
    /// application holds, or no memory), so that the caller must make
    /// sure the queue is polled again without waiting for an interrupt.
    pub(crate) fn refill(&self, p: &Priv) -> bool {
        let mut rx = self.rx.lock();
        let Some(rx) = rx.as_deref_mut() else {
            return false;
        };
        let (Some(pool), Some(hdrs)) = (rx.pool.as_mut(), rx.hdrs.as_ref()) else {
            return false;
        };
        while let Some(id) = rx.free.last() {
            let Some(nm) = pool.alloc_netmem(GFP_ATOMIC) else {
                self.stats.lock().rx_alloc_fail += 1;
                return RX_BUFS - rx.free.n < RX_LOW_WATER;
            };
            let buf = RxBuf {
                id,
                hdr_addr: hdrs.dma_addr() + (usize::from(id) * HDR_BUF) as u64,
                hdr_len: HDR_BUF as u32,
                data_addr: nm.dma_addr(),
                data_len: PAGE,
            };
            if p.port.post_rx(self.q, buf).is_err() {
                break;
            }
            rx.free.pop();
            rx.bufs[usize::from(id)] = Some(nm);
        }
        false
    }

    /// Counts an interrupt of the queue's rx or tx vector.
    fn count_irq(&self, tx: bool) {
        let mut st = self.stats.lock();
        if tx {
            st.tx_irqs += 1;
        } else {
            st.rx_irqs += 1;
        }
    }

    /// Transmits a mapped frame: one segment per mapping (the linear part,
    /// then each frag); the device fills in the checksum `csum` asks for,
    /// or segments the frame as `tso` asks (into `segs` segments, as the
    /// stack counts them).
    pub(crate) fn xmit(
        &self,
        p: &Priv,
        skb: MappedSkb,
        csum: Option<CsumPartial>,
        tso: Option<(TxTso, u32)>,
    ) {
        let mut tx = self.tx.lock();
        let Some(tag) = tx.free.pop() else {
            drop(tx);
            self.stats.lock().tx_dropped += 1;
            return;
        };
        let n = skb.nr_segments();
        let len = skb.len();
        let mut ok = n > 0;
        for (i, (addr, seg_len)) in skb.segments().enumerate() {
            let seg = TxSeg {
                addr,
                len: seg_len,
                eop: i + 1 == n,
                tag,
                csum: csum.map(|c| TxCsum {
                    start: c.start,
                    offset: c.offset,
                }),
                tso: tso.map(|(t, _)| t),
            };
            if post_seg(&*p.port, self.q, seg).is_err() {
                ok = false;
                break;
            }
        }
        if ok {
            tx.slots[usize::from(tag)] = Some(skb);
            drop(tx);
            let mut st = self.stats.lock();
            st.tx_packets += 1;
            st.tx_bytes += u64::from(len);
            st.tx_csum_partial += u64::from(csum.is_some());
            st.tx_sg_packets += u64::from(n > 1);
            if let Some((_, segs)) = tso {
                st.tx_tso_packets += 1;
                st.tx_tso_segments += u64::from(segs);
            }
        } else {
            tx.free.push(tag);
            drop(tx);
            self.stats.lock().tx_dropped += 1;
        }
    }

    /// Frees every buffer (the device is stopped and NAPI disabled).
    pub(crate) fn teardown(&self) {
        let (rx, tx) = {
            let rx = self.rx.lock().take();
            let tx = core::mem::take(&mut self.tx.lock().slots);
            (rx, tx)
        };
        drop((rx, tx));
    }

    /// Takes the rx queue's memory (the device's queue is stopped and this
    /// NAPI disabled).
    pub(crate) fn take_rx(&self) -> Option<KBox<Rx>> {
        let rx = self.rx.lock().take();
        rx
    }

    /// Installs new rx queue memory; returns it back if the queue has some.
    pub(crate) fn put_rx(&self, mem: KBox<Rx>) -> core::result::Result<(), KBox<Rx>> {
        let mut rx = self.rx.lock();
        if rx.is_some() {
            return Err(mem);
        }
        *rx = Some(mem);
        Ok(())
    }

    fn complete_tx(&self, p: &Priv) -> i32 {
        let mut done = 0;
        while let Some(c) = p.port.poll_tx(self.q) {
            let skb = {
                let mut tx = self.tx.lock();
                let skb = tx.slots.get_mut(usize::from(c.tag)).and_then(Option::take);
                if skb.is_some() {
                    tx.free.push(c.tag);
                }
                skb
            };
            drop(skb);
            done += 1;
        }
        done
    }

    /// Handles one rx completion; returns a finished frame.
    fn rx_one(
        &self,
        c: &RxCompl,
        napi: &NapiRef<'_>,
        off: RxOffloads,
        st: &mut QueueStats,
    ) -> Option<RxSkb> {
        let mut rx = self.rx.lock();
        let rx = rx.as_deref_mut()?;
        let nm = rx.bufs.get_mut(usize::from(c.id)).and_then(Option::take);
        if nm.is_some() {
            rx.free.push(c.id);
        }
        let Some(nm) = nm else {
            // A completion for a buffer we did not post: ignore it.
            st.rx_dropped += 1;
            return None;
        };
        if c.sop {
            rx.skb = None;
            rx.dropping = false;
            let hdrs = rx.hdrs.as_ref()?;
            if c.split {
                st.rx_split += 1;
                let mut hdr = [0u8; HDR_BUF];
                let len = (c.hdr_len as usize).min(HDR_BUF);
                // The header buffer may hold payload too (the device's
                // `rx_inline`), next to dma-buf frags: a kmalloc'd head.
                let skb = napi.alloc_skb_kmalloc_head(len as u32).and_then(|mut skb| {
                    hdrs.read(usize::from(c.id) * HDR_BUF, &mut hdr[..len])
                        .ok()?;
                    skb.put_data(&hdr[..len]).ok()?;
                    Some(skb)
                });
                rx.dropping = skb.is_none();
                rx.skb = skb;
            } else {
                st.rx_unsplit += 1;
                // Headers are in the payload buffer: copy the start.
                let len = (c.data_len as usize).min(COPYBREAK);
                let mut head = [0u8; COPYBREAK];
                let skb = napi.alloc_skb(len as u32).and_then(|mut skb| {
                    nm.read(0, &mut head[..len]).ok()?;
                    skb.put_data(&head[..len]).ok()?;
                    Some(skb)
                });
                rx.dropping = skb.is_none();
                rx.skb = skb;
                if let Some(skb) = rx.skb.as_mut() {
                    if c.data_len as usize > len
                        && skb
                            .add_rx_frag(nm, len as u32, c.data_len - len as u32, PAGE)
                            .is_err()
                    {
                        rx.skb = None;
                        rx.dropping = true;
                    }
                }
                return self.rx_finish(c, rx, off, st);
            }
        }
        if let Some(skb) = rx.skb.as_mut() {
            if c.data_len > 0 && skb.add_rx_frag(nm, 0, c.data_len, PAGE).is_err() {
                rx.skb = None;
                rx.dropping = true;
            }
        }
        self.rx_finish(c, rx, off, st)
    }

    fn rx_finish(
        &self,
        c: &RxCompl,
        rx: &mut Rx,
        off: RxOffloads,
        st: &mut QueueStats,
    ) -> Option<RxSkb> {
        if !c.eop {
            return None;
        }
        let Some(mut skb) = rx.skb.take() else {
            if rx.dropping {
                st.rx_dropped += 1;
            }
            return None;
        };
        // Coalesced segments: the device validated each one's checksum
        // (the packet's own is not right), so they are marked whatever
        // `rx` says (the stack turns GRO_HW off with it anyway).
        if let Some(r) = c.rsc {
            let (Ok(size), Ok(segs)) = (u16::try_from(r.mss), u16::try_from(r.segs)) else {
                st.rx_dropped += 1;
                return None;
            };
            skb.set_gso_tcp(size, segs, r.ipv6);
            st.rx_gro_hw_packets += 1;
            st.rx_gro_hw_segments += u64::from(r.segs);
        }
        if (off.csum || c.rsc.is_some()) && c.l4_csum_ok {
            skb.set_csum_unnecessary();
            st.rx_csum_unnecessary += 1;
        }
        skb.set_rx_queue(self.q);
        if off.hash {
            skb.set_hash(c.rss_hash, c.hash_l4);
        }
        st.rx_packets += 1;
        st.rx_bytes += u64::from(skb.len());
        Some(skb)
    }
}

impl Poll<GveNetdev> for QueuePoller {
    fn poll(&self, dev: &Device<GveNetdev>, napi: &NapiRef<'_>, budget: i32) -> i32 {
        let p = dev.data();
        if self.link_check.swap(false, Ordering::AcqRel) {
            if p.port.link_up() {
                dev.carrier_on();
            } else {
                dev.carrier_off();
            }
        }
        self.complete_tx(p);
        let off = RxOffloads::of(dev);
        let mut done = 0;
        let mut st = QueueStats::default();
        while done < budget {
            let Some(c) = p.port.poll_rx(self.q) else {
                break;
            };
            let skb = self.rx_one(&c, napi, off, &mut st);
            if let Some(skb) = skb {
                napi.gro_receive(dev, skb);
                done += 1;
            }
        }
        self.stats.lock().add(&st);
        if self.refill(p) {
            // Nothing may ever interrupt us again (the device has no
            // buffer to complete): poll again later, backing off while the
            // pool stays empty. Never a busy loop: at most one poll per
            // jiffy, then fewer.
            let ms = self.refill_retry_ms.load(Ordering::Relaxed);
            napi.schedule_after(msecs_to_jiffies(ms));
            let next = ms.saturating_mul(2).min(REFILL_RETRY_MAX_MS);
            self.refill_retry_ms.store(next, Ordering::Relaxed);
        } else {
            self.refill_retry_ms
                .store(REFILL_RETRY_MIN_MS, Ordering::Relaxed);
        }
        if done < budget {
            napi.complete_done(done);
        }
        done
    }
}

/// The interrupt handler: schedules the NAPI context of the queue.
pub(crate) struct Irq {
    queues: Arc<Queues>,
}

impl Irq {
    pub(crate) fn new(queues: Arc<Queues>) -> Self {
        Self { queues }
    }
}

impl IrqHandler for Irq {
    fn irq(&self, v: Vector) {
        let (q, tx) = match v {
            Vector::Rx(q) => (usize::from(q), Some(false)),
            Vector::Tx(q) => (usize::from(q), Some(true)),
            Vector::Link => {
                if let Some(n) = self.queues.napis.first() {
                    n.data().request_link_check();
                }
                (0, None)
            }
        };
        if let Some(n) = self.queues.napis.get(q) {
            if let Some(tx) = tx {
                n.data().count_irq(tx);
            }
            n.schedule();
        }
    }
}
