// SPDX-License-Identifier: GPL-2.0

//! Device glue: probe, and the net_device operations.

use crate::queue::{Irq, QueuePoller, QueueStats, Rx};
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::net_ext::bh::BhDisabled;
use kernel::net_ext::emu_nic::{self, Port, TxSeg, MAX_MTU, MAX_QUEUES};
use kernel::net_ext::napi::Napi;
use kernel::net_ext::netdev::{
    self, Device, MappedSkb, Params, Registration, SkBuff, Stats64, TxResult,
};
use kernel::net_ext::queue_mgmt::{self, QueueMgmt, Rtnl};
use kernel::prelude::*;
use kernel::sync::{Arc, SpinLock};
use kernel::types::ARef;
use kernel::{c_str, new_spinlock};

/// Queues in use when a port is probed.
const DEFAULT_QUEUES: u16 = 4;

/// The driver of the emulated ports.
pub(crate) struct GveDriver;

impl emu_nic::Driver for GveDriver {
    type Data = Registration<GveNetdev>;

    fn probe(dev: &kernel::device::Device, port: Arc<dyn Port>) -> Result<KBox<Self::Data>> {
        let priv_ = KBox::pin_init(Priv::new(dev, port.clone()), GFP_KERNEL)?;
        let params = Params {
            name: c_str!("eth%d"),
            txqs: MAX_QUEUES as u32,
            rxqs: MAX_QUEUES as u32,
            mac: port.mac(),
            parent: Some(dev),
            max_mtu: MAX_MTU,
            real_queues: DEFAULT_QUEUES.into(),
            queue_mgmt: Some(queue_mgmt::ops_table::<GveNetdev>()),
        };
        let reg = Registration::new(&params, priv_)?;
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
    pub(crate) queues: SpinLock<Option<Arc<Queues>>>,
    /// Counters of queues that were torn down, so totals survive a stop.
    #[pin]
    pub(crate) old_stats: SpinLock<QueueStats>,
    /// Header split (`ethtool -G tcp-data-split`); off by default, as in
    /// gve. Payload pools take unreadable memory only while it is on.
    pub(crate) hsplit: AtomicBool,
}

impl Priv {
    fn new(dev: &kernel::device::Device, port: Arc<dyn Port>) -> impl PinInit<Self, Error> + '_ {
        try_pin_init!(Self {
            port,
            dma_dev: dev.into(),
            queues <- new_spinlock!(None),
            old_stats <- new_spinlock!(QueueStats::default()),
            hsplit: AtomicBool::new(false),
        })
    }

    fn queues(&self) -> Option<Arc<Queues>> {
        let _bh = BhDisabled::new();
        let q = self.queues.lock().clone();
        q
    }
}

/// The net_device operations.
pub(crate) struct GveNetdev;

#[vtable]
impl netdev::Driver for GveNetdev {
    type Data = Priv;

    fn open(dev: &Device<Self>, rtnl: &Rtnl<'_>) -> Result {
        let p = dev.data();
        let nq = dev.real_num_rx_queues() as u16;
        p.port.set_header_split(p.hsplit.load(Ordering::Relaxed));
        p.port.enable(nq)?;
        let mut napis = KVec::with_capacity(nq.into(), GFP_KERNEL)?;
        for q in 0..nq {
            let poller = QueuePoller::new(dev, rtnl, q)?;
            napis.push(
                Arc::pin_init(Napi::new(dev, poller), GFP_KERNEL)?,
                GFP_KERNEL,
            )?;
        }
        let queues = Arc::new(Queues { napis }, GFP_KERNEL)?;
        let irq: Arc<dyn emu_nic::IrqHandler> = Arc::new(Irq::new(queues.clone()), GFP_KERNEL)?;
        for n in queues.napis.iter() {
            n.enable();
            n.data().refill(p);
        }
        {
            let _bh = BhDisabled::new();
            *p.queues.lock() = Some(queues.clone());
        }
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

    fn stop(dev: &Device<Self>, _rtnl: &Rtnl<'_>) -> Result {
        let p = dev.data();
        dev.tx_disable();
        dev.carrier_off();
        p.port.set_irq_handler(None);
        let queues = {
            let _bh = BhDisabled::new();
            let q = p.queues.lock().take();
            q
        };
        if let Some(queues) = queues {
            for n in queues.napis.iter() {
                n.disable();
            }
            // Stop the device before freeing what it may write to.
            let _ = p.port.enable(0);
            let mut total = QueueStats::default();
            for n in queues.napis.iter() {
                n.data().teardown();
                total.add(&n.data().stats());
            }
            let _bh = BhDisabled::new();
            p.old_stats.lock().add(&total);
        }
        Ok(())
    }

    fn start_xmit(dev: &Device<Self>, skb: SkBuff) -> TxResult {
        let p = dev.data();
        let q = skb.queue_mapping();
        let Some(queues) = p.queues() else {
            return TxResult::Ok;
        };
        let Some(napi) = queues.napis.get(usize::from(q)) else {
            return TxResult::Ok;
        };
        let poller = napi.data();
        let Ok(mapped) = MappedSkb::map(skb, &p.dma_dev) else {
            poller.count_tx_drop();
            return TxResult::Ok;
        };
        poller.xmit(p, mapped);
        TxResult::Ok
    }

    fn get_stats64(dev: &Device<Self>, stats: &mut Stats64) {
        let p = dev.data();
        let mut total = {
            let _bh = BhDisabled::new();
            let s = *p.old_stats.lock();
            s
        };
        if let Some(queues) = p.queues() {
            for n in queues.napis.iter() {
                total.add(&n.data().stats());
            }
        }
        stats.add_rx(total.rx_packets, total.rx_bytes);
        stats.add_tx(total.tx_packets, total.tx_bytes);
        stats.add_dropped(total.rx_dropped, total.tx_dropped);
    }
}

/// Restart of one rx queue (devmem binding and unbinding): the queue's
/// payload pool is rebuilt so that it picks up, or drops, the queue's
/// memory provider; the other queues and the queue's tx keep running.
#[vtable]
impl QueueMgmt for GveNetdev {
    type QueueMem = Rx;

    fn queue_mem_alloc(dev: &Device<Self>, rtnl: &Rtnl<'_>, idx: u32) -> Result<KBox<Rx>> {
        // Down: the core just records the provider; `open` picks it up.
        if dev.data().queues().is_none() {
            return Err(ENETDOWN);
        }
        if idx >= dev.real_num_rx_queues() {
            return Err(ERANGE);
        }
        Rx::new(dev, rtnl, idx as u16)
    }

    fn queue_stop(dev: &Device<Self>, _rtnl: &Rtnl<'_>, idx: u32) -> Result<KBox<Rx>> {
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
        _rtnl: &Rtnl<'_>,
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
        napi.data().refill(p);
        Ok(())
    }
}

/// Posts one tx segment; used by [`QueuePoller::xmit`].
pub(crate) fn post_seg(port: &dyn Port, q: u16, seg: TxSeg) -> Result {
    port.post_tx(q, seg)
}
