// SPDX-License-Identifier: GPL-2.0

//! Ethtool: driver info, channels, rings (header split), interrupt
//! coalescing, RSS, ntuple rules and per-queue statistics.
//!
//! Every operation runs under RTNL, like `open` and `stop`, so the
//! configuration in [`Priv::cfg`] only changes with RTNL held.
//!
//! Channels are combined only (1 to [`MAX_QUEUES`]). Changing them while
//! the device is up restarts it (stop, new queue count, open), as upstream
//! gve does; if the restart fails the old count is restored.
//!
//! RSS: the main context (`ethtool -x/-X`) and additional contexts 1 to
//! [`RSS_CONTEXTS`]` - 1` (`ethtool -X dev context new`), each with its
//! own Toeplitz key and indirection table, which ntuple rules steer flows
//! to (`ethtool -N ... context N`). A new context spreads over the queues
//! in use and takes the main context's key unless told otherwise; deleting
//! a context deletes the rules that steer to it.
//!
//! Coalescing is GVE DQO's: `rx-usecs` and `tx-usecs` are the interrupt
//! intervals of every rx and every tx vector (at most [`MAX_ITR_USECS`];
//! 0, the default, raises an interrupt per completion); they apply at once,
//! up or down.

use crate::driver::{port_table, program_rss, GveNetdev, Priv, RssCtx};
use crate::emu::nic::{
    RuleDest, MAX_FLOW_RULES, MAX_ITR_USECS, MAX_QUEUES, RSS_CONTEXTS, RSS_INDIR_LEN, RSS_KEY_LEN,
};
use crate::queue::{QueueStats, RX_BUFS, TX_SLOTS};
use kernel::c_str;
use kernel::net::ethtool::{
    Channels, Coalesce, DrvInfo, EthtoolOps, FlowRule, RingParam, RssHashFunc, RuleLocation,
    RuleLocs, RxAction, RxfhContext, RxfhGet, RxfhSet, Strings, TcpDataSplit,
};
use kernel::net::mp::ExtAck;
use kernel::net::netdev::{self, Device, Features};
use kernel::net::rtnl::Rtnl;
use kernel::prelude::*;

/// A per-queue statistic: direction, name, value.
type QueueStat = (&'static str, &'static str, fn(&QueueStats) -> u64);

/// Per-queue statistics, in `ethtool -S` order; names are `rx<q>_packets`
/// and so on.
const QUEUE_STATS: [QueueStat; 16] = [
    ("rx", "packets", |s| s.rx_packets),
    ("rx", "bytes", |s| s.rx_bytes),
    ("rx", "split", |s| s.rx_split),
    ("rx", "unsplit", |s| s.rx_unsplit),
    ("rx", "alloc_fail", |s| s.rx_alloc_fail),
    ("rx", "csum_unnecessary", |s| s.rx_csum_unnecessary),
    ("rx", "interrupts", |s| s.rx_irqs),
    ("rx", "gro_hw_packets", |s| s.rx_gro_hw_packets),
    ("rx", "gro_hw_segments", |s| s.rx_gro_hw_segments),
    ("tx", "packets", |s| s.tx_packets),
    ("tx", "bytes", |s| s.tx_bytes),
    ("tx", "csum_partial", |s| s.tx_csum_partial),
    ("tx", "sg_packets", |s| s.tx_sg_packets),
    ("tx", "tso_packets", |s| s.tx_tso_packets),
    ("tx", "tso_segments", |s| s.tx_tso_segments),
    ("tx", "interrupts", |s| s.tx_irqs),
];
/// Device statistics after the per-queue ones.
const DEVICE_STATS: [&str; 4] = [
    "rx_no_buffer",
    "dma_errors",
    "tx_csum_errors",
    "tx_tso_errors",
];

/// Deletes every ntuple rule (ntuple turned off).
pub(crate) fn clear_rules(p: &Priv) {
    let mut cfg = p.cfg.lock();
    for (loc, r) in cfg.rules.iter_mut().enumerate() {
        if r.take().is_some() {
            let _ = p.port.del_flow_rule(loc as u32);
        }
    }
}

fn set_queue_count(dev: &Device<GveNetdev>, rtnl: &Rtnl, n: u32) -> Result {
    dev.set_real_num_queues(rtnl, n, n)?;
    if !dev.rxfh_configured() {
        // Not set by the user: spread RSS over the new queues.
        dev.data().cfg.lock().default_indir(n);
    }
    Ok(())
}

/// The slot of RSS context `id`: `EINVAL` for 0 (the main context) and
/// IDs the device does not have (the core allocates below
/// [`RSS_CONTEXTS`]).
fn ctx_slot(id: u32, extack: &ExtAck<'_>) -> Result<usize> {
    if id == 0 || id as usize >= RSS_CONTEXTS {
        extack.set_msg(c_str!("RSS context ID out of the device's range"));
        return Err(EINVAL);
    }
    Ok(id as usize)
}

/// Applies the key and table of a context request to `c`; the core has
/// checked the sizes and that the table names only queues in use.
fn apply_rxfh(c: &mut RssCtx, rss: &RxfhSet<'_>, nq: u32, extack: &ExtAck<'_>) -> Result {
    if let Some(k) = rss.key {
        if k.len() != RSS_KEY_LEN {
            extack.set_msg(c_str!("RSS key of the wrong size"));
            return Err(EINVAL);
        }
        c.key.copy_from_slice(k);
    }
    if let Some(indir) = rss.indir {
        if indir.len() != RSS_INDIR_LEN || indir.iter().any(|&q| q >= nq) {
            extack.set_msg(c_str!("indirection table names a queue not in use"));
            return Err(EINVAL);
        }
        c.indir.copy_from_slice(indir);
    }
    Ok(())
}

/// `EOPNOTSUPP` for a context request asking for another hash function.
fn toeplitz_only(rss: &RxfhSet<'_>, extack: &ExtAck<'_>) -> Result {
    if rss.hfunc.is_some_and(|h| h != RssHashFunc::Toeplitz) {
        extack.set_msg(c_str!("the device hashes with Toeplitz only"));
        return Err(EOPNOTSUPP);
    }
    Ok(())
}

#[vtable]
impl EthtoolOps for GveNetdev {
    const TCP_DATA_SPLIT: bool = true;
    const RSS_KEY_SIZE: u32 = RSS_KEY_LEN as u32;
    const RSS_INDIR_SIZE: u32 = RSS_INDIR_LEN as u32;
    const NTUPLE_RULES: u32 = MAX_FLOW_RULES as u32;
    const RSS_CONTEXTS: u32 = RSS_CONTEXTS as u32;

    fn get_drvinfo(_dev: &Device<Self>, info: &mut DrvInfo) {
        info.set_driver(c_str!("gve_rs"));
        info.set_version(c_str!("1.0.0"));
        // The bus address is left to the core: the port's platform device
        // name (gve-rs-emu.N).
    }

    fn get_channels(dev: &Device<Self>) -> Channels {
        Channels {
            max_combined: MAX_QUEUES as u32,
            combined: dev.real_num_rx_queues(),
            ..Default::default()
        }
    }

    fn set_channels(dev: &Device<Self>, rtnl: &Rtnl, ch: &Channels) -> Result {
        if ch.rx != 0 || ch.tx != 0 || ch.other != 0 {
            return Err(EINVAL);
        }
        let n = ch.combined;
        if n == 0 || n as usize > MAX_QUEUES {
            return Err(EINVAL);
        }
        let old = dev.real_num_rx_queues();
        if n == old {
            return Ok(());
        }
        if !dev.is_running() {
            return set_queue_count(dev, rtnl, n);
        }
        <Self as netdev::Driver>::stop(dev, rtnl)?;
        let r =
            set_queue_count(dev, rtnl, n).and_then(|()| <Self as netdev::Driver>::open(dev, rtnl));
        if let Err(e) = r {
            // Back to the queues that worked.
            let _ = <Self as netdev::Driver>::stop(dev, rtnl);
            let _ = set_queue_count(dev, rtnl, old);
            let _ = <Self as netdev::Driver>::open(dev, rtnl);
            return Err(e);
        }
        Ok(())
    }

    fn get_ringparam(dev: &Device<Self>) -> RingParam {
        let hsplit = dev.data().cfg.lock().hsplit;
        RingParam {
            rx_max_pending: RX_BUFS as u32,
            tx_max_pending: TX_SLOTS as u32,
            rx_pending: RX_BUFS as u32,
            tx_pending: TX_SLOTS as u32,
            rx_buf_len: kernel::page::PAGE_SIZE as u32,
            tcp_data_split: if hsplit {
                TcpDataSplit::Enabled
            } else {
                TcpDataSplit::Disabled
            },
            ..Default::default()
        }
    }

    fn set_ringparam(dev: &Device<Self>, rtnl: &Rtnl, rp: &RingParam) -> Result {
        // Ring sizes are fixed.
        if rp.rx_pending != RX_BUFS as u32
            || rp.tx_pending != TX_SLOTS as u32
            || rp.rx_mini_pending != 0
            || rp.rx_jumbo_pending != 0
        {
            return Err(EINVAL);
        }
        let on = match rp.tcp_data_split {
            TcpDataSplit::Unknown => return Ok(()),
            TcpDataSplit::Disabled => false,
            TcpDataSplit::Enabled => true,
        };
        // A bound dma-buf needs header split: the driver could not read
        // the headers of an unsplit frame in device memory.
        if !on && (0..dev.real_num_rx_queues()).any(|q| dev.rx_queue_has_provider(rtnl, q)) {
            return Err(EBUSY);
        }
        let p = dev.data();
        let mut cfg = p.cfg.lock();
        p.port.set_header_split(on);
        cfg.hsplit = on;
        Ok(())
    }

    fn get_coalesce(dev: &Device<Self>) -> Coalesce {
        dev.data().cfg.lock().coalesce
    }

    fn set_coalesce(dev: &Device<Self>, c: &Coalesce, extack: &ExtAck<'_>) -> Result {
        // As upstream gve: EINVAL above the ITR register's range.
        if c.rx_usecs > MAX_ITR_USECS {
            extack.set_msg(c_str!("rx-usecs above the device's maximum, 8190"));
            return Err(EINVAL);
        }
        if c.tx_usecs > MAX_ITR_USECS {
            extack.set_msg(c_str!("tx-usecs above the device's maximum, 8190"));
            return Err(EINVAL);
        }
        let p = dev.data();
        let mut cfg = p.cfg.lock();
        p.port.set_coalesce(c.rx_usecs, c.tx_usecs)?;
        cfg.coalesce = *c;
        Ok(())
    }

    fn get_rxfh(dev: &Device<Self>, rss: &mut RxfhGet<'_>) -> Result {
        let cfg = dev.data().cfg.lock();
        rss.hfunc = RssHashFunc::Toeplitz;
        if let Some(key) = rss.key.as_deref_mut() {
            if key.len() != RSS_KEY_LEN {
                return Err(EINVAL);
            }
            key.copy_from_slice(&cfg.rss_key);
        }
        if let Some(indir) = rss.indir.as_deref_mut() {
            if indir.len() != RSS_INDIR_LEN {
                return Err(EINVAL);
            }
            indir.copy_from_slice(&cfg.rss_indir);
        }
        Ok(())
    }

    fn set_rxfh(dev: &Device<Self>, rss: &RxfhSet<'_>) -> Result {
        if rss.hfunc.is_some_and(|h| h != RssHashFunc::Toeplitz) {
            return Err(EOPNOTSUPP);
        }
        let nq = dev.real_num_rx_queues();
        let p = dev.data();
        let mut cfg = p.cfg.lock();
        let (mut key, mut table) = (cfg.rss_key, cfg.rss_indir);
        if let Some(k) = rss.key {
            if k.len() != RSS_KEY_LEN {
                return Err(EINVAL);
            }
            key.copy_from_slice(k);
        }
        if let Some(indir) = rss.indir {
            if indir.len() != RSS_INDIR_LEN || indir.iter().any(|&q| q >= nq) {
                return Err(EINVAL);
            }
            table.copy_from_slice(indir);
        }
        // While down the port keeps it too; `open` programs it again.
        program_rss(&*p.port, &key, &table)?;
        (cfg.rss_key, cfg.rss_indir) = (key, table);
        Ok(())
    }

    fn create_rxfh_context(
        dev: &Device<Self>,
        id: u32,
        rss: &RxfhSet<'_>,
        ctx: &mut RxfhContext<'_>,
        extack: &ExtAck<'_>,
    ) -> Result<RssHashFunc> {
        toeplitz_only(rss, extack)?;
        let slot = ctx_slot(id, extack)?;
        let nq = dev.real_num_rx_queues();
        let p = dev.data();
        let mut cfg = p.cfg.lock();
        let mut c = RssCtx {
            key: cfg.rss_key,
            indir: [0; RSS_INDIR_LEN],
        };
        for (i, e) in c.indir.iter_mut().enumerate() {
            *e = (i as u32).checked_rem(nq).unwrap_or(0);
        }
        apply_rxfh(&mut c, rss, nq, extack)?;
        p.port
            .set_rss_context(slot as u16, &c.key, &port_table(&c.indir)?)?;
        cfg.rss_ctx[slot] = Some(c);
        // What the core reports for the context from now on.
        ctx.indir_mut().copy_from_slice(&c.indir);
        ctx.key_mut().copy_from_slice(&c.key);
        Ok(RssHashFunc::Toeplitz)
    }

    fn modify_rxfh_context(
        dev: &Device<Self>,
        id: u32,
        rss: &RxfhSet<'_>,
        extack: &ExtAck<'_>,
    ) -> Result {
        toeplitz_only(rss, extack)?;
        let slot = ctx_slot(id, extack)?;
        let nq = dev.real_num_rx_queues();
        let p = dev.data();
        let mut cfg = p.cfg.lock();
        let Some(mut c) = cfg.rss_ctx[slot] else {
            extack.set_msg(c_str!("no such RSS context"));
            return Err(ENOENT);
        };
        apply_rxfh(&mut c, rss, nq, extack)?;
        p.port
            .set_rss_context(slot as u16, &c.key, &port_table(&c.indir)?)?;
        cfg.rss_ctx[slot] = Some(c);
        Ok(())
    }

    fn remove_rxfh_context(dev: &Device<Self>, id: u32, extack: &ExtAck<'_>) -> Result {
        let slot = ctx_slot(id, extack)?;
        let p = dev.data();
        let mut cfg = p.cfg.lock();
        if cfg.rss_ctx[slot].is_none() {
            extack.set_msg(c_str!("no such RSS context"));
            return Err(ENOENT);
        }
        // The rules steering to the context go with it.
        for (loc, r) in cfg.rules.iter_mut().enumerate() {
            if r.is_some_and(|r| r.action == RxAction::Context(id)) {
                *r = None;
                let _ = p.port.del_flow_rule(loc as u32);
            }
        }
        p.port.del_rss_context(slot as u16)?;
        cfg.rss_ctx[slot] = None;
        Ok(())
    }

    fn rule_count(dev: &Device<Self>) -> u32 {
        dev.data().cfg.lock().rules.iter().flatten().count() as u32
    }

    fn get_rule(dev: &Device<Self>, loc: u32) -> Result<FlowRule> {
        let cfg = dev.data().cfg.lock();
        cfg.rules
            .get(loc as usize)
            .ok_or(EINVAL)?
            .as_ref()
            .copied()
            .ok_or(ENOENT)
    }

    fn rule_locations(dev: &Device<Self>, locs: &mut RuleLocs<'_>) -> Result {
        let cfg = dev.data().cfg.lock();
        for (loc, r) in cfg.rules.iter().enumerate() {
            if r.is_some() {
                locs.push(loc as u32)?;
            }
        }
        Ok(())
    }

    fn insert_rule(dev: &Device<Self>, rule: &FlowRule, loc: RuleLocation) -> Result<u32> {
        if !dev.features().contains(Features::NTUPLE) {
            return Err(EOPNOTSUPP);
        }
        let p = dev.data();
        let mut cfg = p.cfg.lock();
        let dest = match rule.action {
            RxAction::Queue(q) if q < dev.real_num_rx_queues() => RuleDest::Queue(q as u16),
            RxAction::Queue(_) => return Err(EINVAL),
            // The device cannot drop by rule.
            RxAction::Drop => return Err(EOPNOTSUPP),
            // Only to a context that exists.
            RxAction::Context(c) => match cfg.rss_ctx.get(c as usize) {
                Some(Some(_)) => RuleDest::Context(c as u16),
                _ => return Err(ENOENT),
            },
        };
        let loc = match loc {
            RuleLocation::At(l) if (l as usize) < MAX_FLOW_RULES => l as usize,
            RuleLocation::At(_) => return Err(EINVAL),
            // The lowest free location: it matches before the others.
            RuleLocation::Any => cfg.rules.iter().position(Option::is_none).ok_or(ENOSPC)?,
        };
        p.port.set_flow_rule(loc as u32, &rule.spec, dest)?;
        cfg.rules[loc] = Some(*rule);
        Ok(loc as u32)
    }

    fn delete_rule(dev: &Device<Self>, loc: u32) -> Result {
        let p = dev.data();
        let mut cfg = p.cfg.lock();
        let r = cfg.rules.get_mut(loc as usize).ok_or(EINVAL)?;
        if r.is_none() {
            return Err(ENOENT);
        }
        *r = None;
        let _ = p.port.del_flow_rule(loc);
        Ok(())
    }

    fn stats_count(dev: &Device<Self>) -> usize {
        dev.real_num_rx_queues() as usize * QUEUE_STATS.len() + DEVICE_STATS.len()
    }

    fn stats_strings(dev: &Device<Self>, names: &mut Strings<'_>) {
        for q in 0..dev.real_num_rx_queues() {
            for (dir, name, _) in QUEUE_STATS.iter() {
                names.push(format_args!("{dir}{q}_{name}"));
            }
        }
        for name in DEVICE_STATS.iter() {
            names.push(format_args!("{name}"));
        }
    }

    fn stats(dev: &Device<Self>, data: &mut [u64]) {
        let p = dev.data();
        let mut out = data.iter_mut();
        for q in 0..dev.real_num_rx_queues() as usize {
            let s = p.queue_stats(q);
            for (_, _, get) in QUEUE_STATS.iter() {
                if let Some(d) = out.next() {
                    *d = get(&s);
                }
            }
        }
        let ps = p.port.stats();
        for v in [
            ps.rx_no_buffer,
            ps.dma_errors,
            ps.tx_csum_errors,
            ps.tx_tso_errors,
        ] {
            if let Some(d) = out.next() {
                *d = v;
            }
        }
    }
}
