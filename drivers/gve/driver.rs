// SPDX-License-Identifier: GPL-2.0

//! Device glue: probe, and the net_device operations.

use crate::emu::nic::{
    self, Port, TxSeg, TxTso, DEFAULT_RSS_KEY, MAX_FLOW_RULES, MAX_MTU, MAX_QUEUES, RSS_INDIR_LEN,
    RSS_KEY_LEN, TSO_MAX_SEGS, TSO_MAX_SIZE,
};
use crate::queue::{Irq, QueuePoller, QueueStats, Rx};
use kernel::net::ethtool::{Coalesce, FlowRule, OpsTable};
use kernel::net::napi::Napi;
use kernel::net::netdev::{
    self, Device, Features, Params, Registration, Stats64, TsoMax, TxResult,
};
use kernel::net::qstats::{self, RxQueueStats, StatOps, TxQueueStats};
use kernel::net::queue_mgmt::{self, QueueMgmt};
use kernel::net::rtnl::Rtnl;
use kernel::net::skb::{GsoKind, MappedSkb, TxSkb};
use kernel::platform;
use kernel::prelude::*;
use kernel::sync::SpinLockBh;
use kernel::sync::{Arc, Mutex};
use kernel::types::ARef;
use kernel::{c_str, new_mutex, new_spinlock_bh};

/// Queues in use when a port is probed.
const DEFAULT_QUEUES: u16 = 4;

/// What the device offers, all on by default (and each switched with
/// `ethtool -K`): ntuple steering, rx checksum validation, the RSS hash,
/// tx checksums, scatter-gather, TCP segmentation (v4 and v6) and
/// hardware GRO.
const FEATURES: Features = Features::NTUPLE
    .union(Features::RXCSUM)
    .union(Features::RXHASH)
    .union(Features::HW_CSUM)
    .union(Features::SG)
    .union(Features::TSO)
    .union(Features::TSO6)
    .union(Features::GRO_HW);

/// The driver of the emulated ports.
pub(crate) struct GveDriver;

impl platform::Driver for GveDriver {
    type DeviceData = Arc<dyn Port>;
    type Data = Registration<GveNetdev>;

    fn probe(dev: &kernel::device::Device, port: &Arc<dyn Port>) -> Result<KBox<Self::Data>> {
        let params = Params {
            name: c_str!("eth%d"),
            txqs: MAX_QUEUES as u32,
            rxqs: MAX_QUEUES as u32,
            mac: port.mac(),
            parent: Some(dev),
            max_mtu: MAX_MTU,
            real_queues: DEFAULT_QUEUES.into(),
            queue_mgmt: Some(queue_mgmt::OpsTable::get()),
            hw_features: FEATURES,
            features: FEATURES,
            ethtool: Some(OpsTable::get()),
            stat_ops: Some(qstats::OpsTable::get()),
            tso_max: Some(TsoMax {
                size: TSO_MAX_SIZE,
                segs: TSO_MAX_SEGS,
            }),
        };
        let reg = Registration::new(&params, Priv::new(dev, port.clone()))?;
        Ok(KBox::new(reg, GFP_KERNEL)?)
    }
}

/// The queues of an open device.
pub(crate) struct Queues {
    pub(crate) napis: KVec<Arc<Napi<GveNetdev, QueuePoller>>>,
}

/// Per-device state.
#[pin_data]
pub(crate) struct Priv {
    pub(crate) port: Arc<dyn Port>,
    /// The DMA device (the port's platform device).
    pub(crate) dma_dev: ARef<kernel::device::Device>,
    /// The queues while the device is up; taken with BH disabled (the
    /// transmit path reads it in softirq context).
    #[pin]
    pub(crate) queues: SpinLockBh<Option<Arc<Queues>>>,
    /// Counters of queues that were torn down, by queue, so totals
    /// survive a stop (and a change of channels).
    #[pin]
    pub(crate) old_stats: SpinLockBh<[QueueStats; MAX_QUEUES]>,
    /// What ethtool configured; changed and applied under RTNL.
    #[pin]
    pub(crate) cfg: Mutex<Config>,
}

/// Device configuration that survives stop and open, kept by the driver
/// so that ethtool can read it back and `open` can program it again.
pub(crate) struct Config {
    /// TCP header split (ethtool `tcp-data-split`); off by default, as in
    /// upstream gve.
    pub(crate) hsplit: bool,
    /// RSS hash key (Toeplitz).
    pub(crate) rss_key: [u8; RSS_KEY_LEN],
    /// RSS indirection table.
    pub(crate) rss_indir: [u32; RSS_INDIR_LEN],
    /// Ntuple rules by location ([`MAX_FLOW_RULES`] of them; on the heap,
    /// the table is too large for the stack).
    pub(crate) rules: KVec<Option<FlowRule>>,
    /// Interrupt coalescing (ethtool `rx-usecs`, `tx-usecs`): the
    /// device's interrupt intervals; 0 (off) by default.
    pub(crate) coalesce: Coalesce,
    /// Additional RSS contexts by ID ([`nic::RSS_CONTEXTS`] slots, 0
    /// unused): the key and table of each, as programmed into the port.
    pub(crate) rss_ctx: KVec<Option<RssCtx>>,
}

/// An additional RSS context's key and indirection table.
#[derive(Clone, Copy)]
pub(crate) struct RssCtx {
    pub(crate) key: [u8; RSS_KEY_LEN],
    pub(crate) indir: [u32; RSS_INDIR_LEN],
}

impl Config {
    fn new(nq: u32) -> Result<Self> {
        let mut cfg = Self {
            hsplit: false,
            rss_key: DEFAULT_RSS_KEY,
            rss_indir: [0; RSS_INDIR_LEN],
            rules: KVec::from_elem(None, MAX_FLOW_RULES, GFP_KERNEL)?,
            coalesce: Coalesce::default(),
            rss_ctx: KVec::from_elem(None, nic::RSS_CONTEXTS, GFP_KERNEL)?,
        };
        cfg.default_indir(nq);
        Ok(cfg)
    }

    /// Spreads RSS evenly over `nq` queues (`ethtool_rxfh_indir_default`).
    pub(crate) fn default_indir(&mut self, nq: u32) {
        for (i, e) in self.rss_indir.iter_mut().enumerate() {
            *e = (i as u32).checked_rem(nq).unwrap_or(0);
        }
    }

    /// Programs the RSS key and table into the port.
    pub(crate) fn program_rss(&self, port: &dyn Port) -> Result {
        program_rss(port, &self.rss_key, &self.rss_indir)
    }
}

/// An indirection table as the port takes it (`EINVAL` for a queue number
/// it cannot hold).
pub(crate) fn port_table(indir: &[u32; RSS_INDIR_LEN]) -> Result<[u16; RSS_INDIR_LEN]> {
    let mut table = [0u16; RSS_INDIR_LEN];
    for (d, s) in table.iter_mut().zip(indir.iter()) {
        *d = u16::try_from(*s).map_err(|_| EINVAL)?;
    }
    Ok(table)
}

/// Programs an RSS key and table into the port.
pub(crate) fn program_rss(
    port: &dyn Port,
    key: &[u8; RSS_KEY_LEN],
    indir: &[u32; RSS_INDIR_LEN],
) -> Result {
    port.set_rss(key, &port_table(indir)?)
}

impl Priv {
    fn new(dev: &kernel::device::Device, port: Arc<dyn Port>) -> impl PinInit<Self, Error> + '_ {
        try_pin_init!(Self {
            port,
            dma_dev: dev.into(),
            queues <- new_spinlock_bh!(None),
            old_stats <- new_spinlock_bh!([QueueStats::default(); MAX_QUEUES]),
            cfg <- new_mutex!(Config::new(DEFAULT_QUEUES.into())?),
        })
    }

    /// Counters of queue `q`: of its torn-down instances plus, while up,
    /// of the live one.
    pub(crate) fn queue_stats(&self, q: usize) -> QueueStats {
        let mut s = self.old_stats.lock().get(q).copied().unwrap_or_default();
        if let Some(n) = self.queues().as_ref().and_then(|qs| qs.napis.get(q)) {
            s.add(&n.data().stats());
        }
        s
    }

    pub(crate) fn queues(&self) -> Option<Arc<Queues>> {
        let q = self.queues.lock().clone();
        q
    }
}

/// The net_device operations.
pub(crate) struct GveNetdev;

#[vtable]
impl netdev::Driver for GveNetdev {
    type Data = Priv;

    fn open(dev: &Device<Self>, rtnl: &Rtnl) -> Result {
        let p = dev.data();
        let nq = dev.real_num_rx_queues() as u16;
        p.port.set_mtu(dev.mtu())?;
        let c = p.cfg.lock().coalesce;
        p.port.set_coalesce(c.rx_usecs, c.tx_usecs)?;
        p.port.set_rx_gro(dev.features().contains(Features::GRO_HW));
        p.port.enable(nq)?;
        // Enabling resets the port's RSS table: program ours again.
        if let Err(e) = p.cfg.lock().program_rss(&*p.port) {
            let _ = p.port.enable(0);
            return Err(e);
        }
        let mut napis = KVec::with_capacity(nq.into(), GFP_KERNEL)?;
        for q in 0..nq {
            let poller = QueuePoller::new(dev, rtnl, q)?;
            napis.push(
                Arc::pin_init(Napi::new(dev, poller), GFP_KERNEL)?,
                GFP_KERNEL,
            )?;
        }
        let queues = Arc::new(Queues { napis }, GFP_KERNEL)?;
        let irq: Arc<dyn nic::IrqHandler> = Arc::new(Irq::new(queues.clone()), GFP_KERNEL)?;
        for n in queues.napis.iter() {
            n.enable();
            // A starved queue (a bound dma-buf whose buffers are all held)
            // retries from its poll.
            if n.data().refill(p) {
                n.schedule();
            }
        }
        *p.queues.lock() = Some(queues.clone());
        p.port.set_irq_handler(Some(irq));
        if p.port.link_up() {
            dev.carrier_on();
        }
        dev.tx_start_all();
        // The link check runs in NAPI 0.
        if let Some(n) = queues.napis.first() {
            n.data().request_link_check();
            n.schedule();
        }
        Ok(())
    }

    fn stop(dev: &Device<Self>, _rtnl: &Rtnl) -> Result {
        let p = dev.data();
        dev.tx_disable();
        dev.carrier_off();
        p.port.set_irq_handler(None);
        let queues = p.queues.lock().take();
        if let Some(queues) = queues {
            for n in queues.napis.iter() {
                n.disable();
            }
            // Stop the device before freeing what it may write to.
            let _ = p.port.enable(0);
            for n in queues.napis.iter() {
                n.data().teardown();
            }
            let mut old = p.old_stats.lock();
            for (o, n) in old.iter_mut().zip(queues.napis.iter()) {
                o.add(&n.data().stats());
            }
        }
        Ok(())
    }

    fn start_xmit(dev: &Device<Self>, skb: TxSkb) -> TxResult {
        let p = dev.data();
        let q = skb.queue_mapping();
        let Some(queues) = p.queues() else {
            return TxResult::Ok;
        };
        let Some(napi) = queues.napis.get(usize::from(q)) else {
            return TxResult::Ok;
        };
        let poller = napi.data();
        // Only with `HW_CSUM` on does the stack leave the checksum to us,
        // only with `TSO`/`TSO6` on the segmentation.
        let csum = skb.csum_partial();
        let tso = match skb.gso() {
            None => None,
            Some(g) if g.kind != GsoKind::Other && g.size > 0 => Some((
                TxTso {
                    mss: g.size,
                    hdr_len: g.hdr_len,
                },
                g.segs,
            )),
            // Nothing the device can segment (we offer TCP only).
            Some(_) => {
                poller.count_tx_drop();
                return TxResult::Ok;
            }
        };
        let Ok(mapped) = MappedSkb::map(skb, &p.dma_dev) else {
            poller.count_tx_drop();
            return TxResult::Ok;
        };
        poller.xmit(p, mapped, csum, tso);
        TxResult::Ok
    }

    fn change_mtu(dev: &Device<Self>, _rtnl: &Rtnl, new_mtu: u32) -> Result {
        // The port drops frames larger than its MTU: tell it first.
        dev.data().port.set_mtu(new_mtu)
    }

    fn get_stats64(dev: &Device<Self>, stats: &mut Stats64) {
        let p = dev.data();
        let mut total = QueueStats::default();
        for q in 0..MAX_QUEUES {
            total.add(&p.queue_stats(q));
        }
        stats.add_rx(total.rx_wire_packets(), total.rx_bytes);
        stats.add_tx(total.tx_wire_packets(), total.tx_bytes);
        stats.add_dropped(total.rx_dropped, total.tx_dropped);
    }

    fn set_features(dev: &Device<Self>, features: Features) -> Result {
        // Before the stack sees the change: no coalesced packet after
        // GRO_HW went off but those already completed.
        dev.data()
            .port
            .set_rx_gro(features.contains(Features::GRO_HW));
        // Turning ntuple off deletes every rule (as gve does; ncdevmem
        // relies on "ntuple off, on" to clear the table).
        if dev.features().contains(Features::NTUPLE) && !features.contains(Features::NTUPLE) {
            crate::ethtool::clear_rules(dev.data());
        }
        Ok(())
    }
}

/// Per-queue statistics (`netdev` family `qstats-get`). A queue reports
/// the counters of its index over the device's life (as `ethtool -S`
/// does); the base holds those of the indices not in use, so that the
/// device totals equal `get_stats64`'s. Packets are wire packets, as the
/// family defines them: coalesced and segmented ones count as their
/// segments, also reported as `hw-gro`/`hw-gso` counts.
impl StatOps for GveNetdev {
    fn queue_stats_rx(dev: &Device<Self>, idx: u32, stats: &mut RxQueueStats<'_>) {
        report_rx(&dev.data().queue_stats(idx as usize), stats);
    }

    fn queue_stats_tx(dev: &Device<Self>, idx: u32, stats: &mut TxQueueStats<'_>) {
        report_tx(&dev.data().queue_stats(idx as usize), stats);
    }

    fn base_stats(dev: &Device<Self>, rx: &mut RxQueueStats<'_>, tx: &mut TxQueueStats<'_>) {
        let p = dev.data();
        let (mut r, mut t) = (QueueStats::default(), QueueStats::default());
        for q in dev.real_num_rx_queues() as usize..MAX_QUEUES {
            r.add(&p.queue_stats(q));
        }
        for q in dev.real_num_tx_queues() as usize..MAX_QUEUES {
            t.add(&p.queue_stats(q));
        }
        // The core sums into the base: every counter a queue reports must
        // be set here too.
        report_rx(&r, rx);
        report_tx(&t, tx);
    }
}

fn report_rx(s: &QueueStats, stats: &mut RxQueueStats<'_>) {
    stats.set_packets(s.rx_wire_packets());
    stats.set_bytes(s.rx_bytes);
    stats.set_alloc_fail(s.rx_alloc_fail);
    stats.set_csum_unnecessary(s.rx_csum_unnecessary);
    stats.set_hw_gro_packets(s.rx_gro_hw_packets);
    stats.set_hw_gro_wire_packets(s.rx_gro_hw_segments);
}

fn report_tx(s: &QueueStats, stats: &mut TxQueueStats<'_>) {
    stats.set_packets(s.tx_wire_packets());
    stats.set_bytes(s.tx_bytes);
    stats.set_needs_csum(s.tx_csum_partial);
    stats.set_hw_gso_packets(s.tx_tso_packets);
    stats.set_hw_gso_wire_packets(s.tx_tso_segments);
}

/// Restart of one rx queue (devmem binding and unbinding): the queue's
/// payload pool is rebuilt so that it picks up, or drops, the queue's
/// memory provider; the other queues and the queue's tx keep running.
#[vtable]
impl QueueMgmt for GveNetdev {
    type QueueMem = Rx;

    fn queue_mem_alloc(dev: &Device<Self>, rtnl: &Rtnl, idx: u32) -> Result<KBox<Rx>> {
        // Down: the core just records the provider; `open` picks it up.
        if dev.data().queues().is_none() {
            return Err(ENETDOWN);
        }
        if idx >= dev.real_num_rx_queues() {
            return Err(ERANGE);
        }
        Rx::new(dev, rtnl, idx as u16)
    }

    fn queue_stop(dev: &Device<Self>, _rtnl: &Rtnl, idx: u32) -> Result<KBox<Rx>> {
        let p = dev.data();
        let queues = p.queues().ok_or(ENETDOWN)?;
        let napi = queues.napis.get(idx as usize).ok_or(ERANGE)?;
        napi.disable();
        // The device forgets the posted buffers: no DMA into them after this.
        let r = p.port.rx_queue_stop(idx as u16);
        let mem = napi.data().take_rx();
        // Tx completions of this queue pair keep flowing.
        napi.enable();
        r?;
        mem.ok_or(EINVAL)
    }

    fn queue_start(
        dev: &Device<Self>,
        _rtnl: &Rtnl,
        idx: u32,
        mem: &mut Option<KBox<Rx>>,
    ) -> Result {
        let p = dev.data();
        let queues = p.queues().ok_or(ENETDOWN)?;
        let napi = queues.napis.get(idx as usize).ok_or(ERANGE)?;
        let m = mem.take().ok_or(EINVAL)?;
        if let Err(m) = napi.data().put_rx(m) {
            *mem = Some(m);
            return Err(EBUSY);
        }
        p.port.rx_queue_start(idx as u16)?;
        // A starved queue retries from its poll.
        if napi.data().refill(p) {
            napi.schedule();
        }
        Ok(())
    }
}

/// Posts one tx segment; used by [`QueuePoller::xmit`].
pub(crate) fn post_seg(port: &dyn Port, q: u16, seg: TxSeg) -> Result {
    port.post_tx(q, seg)
}
