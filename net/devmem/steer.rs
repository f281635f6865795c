// SPDX-License-Identifier: GPL-2.0

//! Steering one flow to a bound queue (`bind-rx` with `flow`).
//!
//! A devmem queue must receive the flow it was bound for and nothing
//! else: an ntuple rule sends the flow there, and the queue leaves the RSS
//! indirection table so that no other traffic lands in the dma-buf. Both
//! go through the device's own ethtool operations (what `ethtool -N` and
//! `ethtool -X` would do by hand), under RTNL, and are undone when the
//! binding goes:
//!
//! - the rule is deleted if the rule at its location is still ours;
//! - the table goes back to what it was if it is still the one we set
//!   (someone who changed it meanwhile keeps their change), and so does
//!   the "configured by the user" mark that channel changes look at.
//!
//! When the device is being unregistered nothing is undone: its rules and
//! table go with it.

use kernel::c_str;
use kernel::net::ethtool::{without_queue, DeviceOps, FlowRule};
use kernel::net::mp::{ExtAck, NetDevice};
use kernel::net::rtnl::Rtnl;
use kernel::prelude::*;
use kernel::types::ARef;

/// What was done to the RSS table.
struct RssChange {
    before: KVec<u32>,
    after: KVec<u32>,
    was_configured: bool,
}

/// A flow steered to a bound queue, undone by [`Steering::undo`]; dropped
/// without it when the device is being unregistered.
pub(crate) struct Steering {
    dev: ARef<NetDevice>,
    rule: FlowRule,
    location: u32,
    rss: Option<RssChange>,
}

impl Steering {
    /// Takes `queue` of `dev` out of RSS and steers `rule`'s flow to it.
    pub(crate) fn install(
        dev: &NetDevice,
        rtnl: &Rtnl,
        rule: FlowRule,
        queue: u32,
        extack: &ExtAck<'_>,
    ) -> Result<Self> {
        let ops = DeviceOps::new(dev, rtnl)?;
        if !ops.can_steer() {
            extack.set_msg(c_str!("device has no ntuple or RSS ethtool ops"));
            return Err(EOPNOTSUPP);
        }
        let before = ops.rss_indir().inspect_err(|_| {
            extack.set_msg(c_str!("cannot read the RSS indirection table"));
        })?;
        let after = without_queue(&before, queue)?;
        if after.is_empty() {
            extack.set_msg(c_str!(
                "the queue is the only one in the RSS table: nowhere to spread the rest"
            ));
            return Err(EINVAL);
        }
        let was_configured = ops.rss_configured();
        let rss = if after[..] == before[..] {
            None
        } else {
            ops.set_rss_indir(&after, false, extack).inspect_err(|_| {
                extack.set_msg(c_str!("cannot take the queue out of the RSS table"));
            })?;
            Some(RssChange {
                before,
                after,
                was_configured,
            })
        };
        let location = match ops.insert_rule(&rule) {
            Ok(l) => l,
            Err(e) => {
                if let Some(r) = &rss {
                    restore_rss(&ops, r);
                }
                extack.set_msg(c_str!("the device refused the ntuple rule"));
                return Err(e);
            }
        };
        Ok(Self {
            dev: dev.into(),
            rule,
            location,
            rss,
        })
    }

    /// The rule steering the flow.
    pub(crate) fn rule(&self) -> &FlowRule {
        &self.rule
    }

    /// Where the rule is in the device's table.
    pub(crate) fn location(&self) -> u32 {
        self.location
    }

    /// Deletes the rule and gives RSS its table back (see the module
    /// documentation for what is left alone).
    pub(crate) fn undo(&self, rtnl: &Rtnl) {
        let Ok(ops) = DeviceOps::new(&self.dev, rtnl) else {
            return;
        };
        match ops.rule(self.location) {
            Ok(r) if r == self.rule => {
                if let Err(e) = ops.delete_rule(self.location) {
                    pr_warn!(
                        "devmem: ntuple rule {} not deleted: {:?}\n",
                        self.location,
                        e
                    );
                }
            }
            _ => pr_info!(
                "devmem: ntuple rule {} changed meanwhile, left alone\n",
                self.location
            ),
        }
        if let Some(r) = &self.rss {
            match ops.rss_indir() {
                Ok(now) if now[..] == r.after[..] => restore_rss(&ops, r),
                _ => pr_info!("devmem: RSS table changed meanwhile, left alone\n"),
            }
        }
    }
}

/// Sets the table and its mark back.
fn restore_rss(ops: &DeviceOps<'_>, r: &RssChange) {
    let extack = ExtAck::none();
    if let Err(e) = ops.set_rss_indir(&r.before, !r.was_configured, &extack) {
        pr_warn!("devmem: RSS table not restored: {:?}\n", e);
    }
}
