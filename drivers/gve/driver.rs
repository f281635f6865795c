// SPDX-License-Identifier: GPL-2.0

//! Device glue: probe, and the net_device operations.

use crate::queue::{Irq, QueuePoller, QueueStats};
use kernel::net_ext::bh::BhDisabled;
use kernel::net_ext::emu_nic::{self, Port, TxSeg, MAX_MTU, MAX_QUEUES};
use kernel::net_ext::napi::Napi;
use kernel::net_ext::netdev::{
    self, Device, Features, MappedSkb, Params, Registration, SkBuff, Stats64, TxResult,
};
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
            hw_features: Features::EMPTY,
            features: Features::EMPTY,
            ethtool: None,
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
}

impl Priv {
    fn new(dev: &kernel::device::Device, port: Arc<dyn Port>) -> impl PinInit<Self, Error> + '_ {
        try_pin_init!(Self {
            port,
            dma_dev: dev.into(),
            queues <- new_spinlock!(None),
            old_stats <- new_spinlock!(QueueStats::default()),
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

    fn open(dev: &Device<Self>) -> Result {
        let p = dev.data();
        let nq = dev.real_num_rx_queues() as u16;
        p.port.enable(nq)?;
        let mut napis = KVec::with_capacity(nq.into(), GFP_KERNEL)?;
        for q in 0..nq {
            let poller = QueuePoller::new(dev, q)?;
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

    fn stop(dev: &Device<Self>) -> Result {
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

/// Posts one tx segment; used by [`QueuePoller::xmit`].
pub(crate) fn post_seg(port: &dyn Port, q: u16, seg: TxSeg) -> Result {
    port.post_tx(q, seg)
}
