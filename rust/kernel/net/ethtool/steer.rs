// SPDX-License-Identifier: GPL-2.0

//! Calling a device's own ethtool operations from kernel code: the RSS
//! indirection table and ntuple rules, as `ethtool -x/-X/-n/-N` reach them.
//!
//! C header: [`include/linux/ethtool.h`](srctree/include/linux/ethtool.h)
//!
//! [`DeviceOps`] is what the ethtool core's ioctl path does around a
//! driver's callbacks, for a caller holding RTNL: the device must be
//! registered and present, `begin`/`complete` bracket every call, buffers
//! are sized from the driver's own reports, and an indirection table is
//! checked against the device's rx ring count before the driver sees it.
//! Runtime PM of the parent is not touched (the ioctl path resumes it;
//! network drivers with ntuple filters keep the device up while it is
//! registered).

use super::FlowRule;
use crate::bindings;
use crate::error::{code::*, to_result, Result};
use crate::net::mp::{ExtAck, NetDevice};
use crate::net::rtnl::Rtnl;
use crate::prelude::*;

/// The ethtool operations of a registered network device of any driver.
///
/// # Invariants
///
/// `dev` is registered and present, and RTNL is held, for `'a`; `ops` is
/// its `ethtool_ops` (the driver's table, valid while it is registered).
pub struct DeviceOps<'a> {
    dev: &'a NetDevice,
    ops: &'a bindings::ethtool_ops,
}

impl<'a> DeviceOps<'a> {
    /// The ethtool operations of `dev`; `ENODEV` unless it is registered
    /// and present.
    pub fn new(dev: &'a NetDevice, _rtnl: &'a Rtnl) -> Result<Self> {
        let raw = dev.as_ptr();
        // SAFETY: `dev` is a valid `net_device` (type invariants of
        // `NetDevice`); RTNL, which we hold, serialises `reg_state`.
        let registered = unsafe { bindings::net_ext_dev_registered(raw) };
        if !registered || !dev.is_present() {
            return Err(ENODEV);
        }
        // SAFETY: As above; a registered device has an `ethtool_ops`
        // (`register_netdevice` sets the default one), which stays valid
        // while it is registered, so for `'a` as RTNL is held.
        let ops = unsafe { (*raw).ethtool_ops.as_ref() }.ok_or(EOPNOTSUPP)?;
        // INVARIANT: checked above; `_rtnl` proves RTNL is held for `'a`.
        Ok(Self { dev, ops })
    }

    /// Whether the driver has what RSS and ntuple steering need.
    pub fn can_steer(&self) -> bool {
        let o = self.ops;
        o.get_rxfh_indir_size.is_some()
            && o.get_rxfh.is_some()
            && o.set_rxfh.is_some()
            && o.get_rxnfc.is_some()
            && o.set_rxnfc.is_some()
    }

    /// Runs `f` between the driver's `begin` and `complete`, as the ioctl
    /// path does.
    fn call<R>(&self, f: impl FnOnce(*mut bindings::net_device) -> Result<R>) -> Result<R> {
        let dev = self.dev.as_ptr();
        if let Some(begin) = self.ops.begin {
            // SAFETY: The device is registered and RTNL held (type
            // invariants): the driver's callbacks may be called.
            let rc = unsafe { begin(dev) };
            if rc < 0 {
                return Err(Error::from_errno(rc));
            }
        }
        let r = f(dev);
        if let Some(complete) = self.ops.complete {
            // SAFETY: As above; `begin` (if any) succeeded.
            unsafe { complete(dev) };
        }
        r
    }

    /// `get_rxnfc` with `info`, no rule buffer.
    fn get_rxnfc(&self, info: &mut bindings::ethtool_rxnfc) -> Result {
        let get = self.ops.get_rxnfc.ok_or(EOPNOTSUPP)?;
        // SAFETY: Registered device, RTNL held (type invariants); `info` is
        // valid; no command used here writes rule locations.
        self.call(|dev| to_result(unsafe { get(dev, info, core::ptr::null_mut()) }))
    }

    /// `set_rxnfc` with `info`.
    fn set_rxnfc(&self, info: &mut bindings::ethtool_rxnfc) -> Result {
        let set = self.ops.set_rxnfc.ok_or(EOPNOTSUPP)?;
        // SAFETY: Registered device, RTNL held (type invariants); `info` is
        // valid.
        self.call(|dev| to_result(unsafe { set(dev, info) }))
    }

    /// The number of rx rings RSS and rules may name (`ETHTOOL_GRXRINGS`).
    pub fn rx_rings(&self) -> Result<u32> {
        let mut info = rxnfc(bindings::ETHTOOL_GRXRINGS);
        self.get_rxnfc(&mut info)?;
        u32::try_from(info.data).map_err(|_| EINVAL)
    }

    /// The RSS indirection table of the default context.
    pub fn rss_indir(&self) -> Result<KVec<u32>> {
        let (Some(size), Some(get)) = (self.ops.get_rxfh_indir_size, self.ops.get_rxfh) else {
            return Err(EOPNOTSUPP);
        };
        // SAFETY: Registered device, RTNL held (type invariants).
        let n = unsafe { size(self.dev.as_ptr()) };
        if n == 0 {
            return Err(EOPNOTSUPP);
        }
        let mut indir = KVec::from_elem(0u32, n as usize, GFP_KERNEL)?;
        // SAFETY: `ethtool_rxfh_param` is plain old data; all zero asks
        // for nothing.
        let mut p: bindings::ethtool_rxfh_param = unsafe { core::mem::zeroed() };
        p.indir_size = n;
        p.indir = indir.as_mut_ptr();
        // SAFETY: Registered device, RTNL held (type invariants); `p.indir`
        // has the `n` entries the driver reported, and no key is asked for.
        self.call(|dev| to_result(unsafe { get(dev, &mut p) }))?;
        Ok(indir)
    }

    /// Sets the RSS indirection table of the default context to `indir`
    /// (as long as [`Self::rss_indir`]'s, each entry below
    /// [`Self::rx_rings`]: `EINVAL` otherwise), leaving hash function and
    /// key; marks the table as configured, as `ethtool -X` does, so that
    /// channel changes keep it, or as the default one if `default`.
    pub fn set_rss_indir(&self, indir: &[u32], default: bool, extack: &ExtAck<'_>) -> Result {
        let (Some(size), Some(set)) = (self.ops.get_rxfh_indir_size, self.ops.set_rxfh) else {
            return Err(EOPNOTSUPP);
        };
        // SAFETY: Registered device, RTNL held (type invariants).
        let n = unsafe { size(self.dev.as_ptr()) };
        let rings = self.rx_rings()?;
        if indir.len() != n as usize || indir.iter().any(|&q| q >= rings) {
            return Err(EINVAL);
        }
        let mut table = KVec::with_capacity(indir.len(), GFP_KERNEL)?;
        table.extend_from_slice(indir, GFP_KERNEL)?;
        // SAFETY: `ethtool_rxfh_param` is plain old data.
        let mut p: bindings::ethtool_rxfh_param = unsafe { core::mem::zeroed() };
        p.hfunc = bindings::ETH_RSS_HASH_NO_CHANGE as u8;
        p.input_xfrm = bindings::RXH_XFRM_NO_CHANGE as u8;
        p.indir_size = n;
        p.indir = table.as_mut_ptr();
        // SAFETY: Registered device, RTNL held (type invariants); `p.indir`
        // has the `n` entries the driver reported; `extack` is valid or
        // null.
        self.call(|dev| to_result(unsafe { set(dev, &mut p, extack.as_raw()) }))?;
        // SAFETY: `dev` is valid and RTNL held, which guards `priv_flags`.
        unsafe { bindings::net_ext_set_rxfh_configured(self.dev.as_ptr(), !default) };
        Ok(())
    }

    /// Whether the indirection table was set by the user (not the driver's
    /// default).
    pub fn rss_configured(&self) -> bool {
        // SAFETY: `dev` is valid (type invariants).
        unsafe { bindings::netif_is_rxfh_configured(self.dev.as_ptr()) }
    }

    /// Inserts `rule` at a free location, which it returns: the driver's
    /// pick when it takes `RX_CLS_LOC_ANY`, else the highest free
    /// location of its table (as ethtool(8) does).
    pub fn insert_rule(&self, rule: &FlowRule) -> Result<u32> {
        let mut cnt = rxnfc(bindings::ETHTOOL_GRXCLSRLCNT);
        self.get_rxnfc(&mut cnt)?;
        let loc = if cnt.data & u64::from(bindings::RX_CLS_LOC_SPECIAL) != 0 {
            bindings::RX_CLS_LOC_ANY
        } else {
            // SAFETY: Reading a `u32` member of a union of `u32`s.
            let used = unsafe { cnt.__bindgen_anon_1.rule_cnt };
            self.free_location(used, cnt.data)?
        };
        let mut ins = rxnfc(bindings::ETHTOOL_SRXCLSRLINS);
        ins.fs = rule.to_raw(loc);
        ins.__bindgen_anon_1.rss_context = rule.rss_context();
        self.set_rxnfc(&mut ins)?;
        Ok(ins.fs.location)
    }

    /// The highest location below `size` not among the `used` locations
    /// the driver reports (`ETHTOOL_GRXCLSRLALL`).
    fn free_location(&self, used: u32, size: u64) -> Result<u32> {
        let get = self.ops.get_rxnfc.ok_or(EOPNOTSUPP)?;
        let size = u32::try_from(size).map_err(|_| EINVAL)?;
        let mut locs = KVec::from_elem(0u32, used as usize, GFP_KERNEL)?;
        let mut all = rxnfc(bindings::ETHTOOL_GRXCLSRLALL);
        all.__bindgen_anon_1.rule_cnt = used;
        let buf = if used == 0 {
            core::ptr::null_mut()
        } else {
            locs.as_mut_ptr()
        };
        // SAFETY: Registered device, RTNL held (type invariants); `buf` has
        // room for `rule_cnt` locations (or is null for none), as the
        // ethtool core allocates it.
        self.call(|dev| to_result(unsafe { get(dev, &mut all, buf) }))?;
        // SAFETY: As in `insert_rule`.
        let n = (unsafe { all.__bindgen_anon_1.rule_cnt }).min(used) as usize;
        let taken = &locs[..n];
        (0..size).rev().find(|l| !taken.contains(l)).ok_or(ENOSPC)
    }

    /// The rule at `loc`.
    pub fn rule(&self, loc: u32) -> Result<FlowRule> {
        let mut info = rxnfc(bindings::ETHTOOL_GRXCLSRULE);
        info.fs.location = loc;
        self.get_rxnfc(&mut info)?;
        // SAFETY: Reading a `u32` member of a union of `u32`s.
        FlowRule::from_raw(&info.fs, unsafe { info.__bindgen_anon_1.rss_context })
    }

    /// Deletes the rule at `loc`.
    pub fn delete_rule(&self, loc: u32) -> Result {
        let mut info = rxnfc(bindings::ETHTOOL_SRXCLSRLDEL);
        info.fs.location = loc;
        self.set_rxnfc(&mut info)
    }
}

/// An `ethtool_rxnfc` request for `cmd`, otherwise zero.
fn rxnfc(cmd: u32) -> bindings::ethtool_rxnfc {
    // SAFETY: `ethtool_rxnfc` is plain old data; all zero is valid.
    let mut info: bindings::ethtool_rxnfc = unsafe { core::mem::zeroed() };
    info.cmd = cmd;
    info
}

/// The indirection table `indir` with queue `queue` taken out: its entries
/// go, in turn, to the other queues the table names (in increasing
/// order); empty if no other queue is in it.
///
/// # Examples
///
/// ```
/// use kernel::net::ethtool::without_queue;
///
/// let t = without_queue(&[0, 1, 2, 3, 0, 1, 2, 3], 2)?;
/// assert_eq!(&t[..], &[0, 1, 0, 3, 0, 1, 1, 3]);
/// assert!(without_queue(&[2, 2], 2)?.is_empty());
/// assert_eq!(&without_queue(&[0, 1], 3)?[..], &[0, 1]);
/// # Ok::<(), Error>(())
/// ```
pub fn without_queue(indir: &[u32], queue: u32) -> Result<KVec<u32>> {
    let mut others = KVec::<u32>::new();
    for &q in indir.iter().filter(|&&q| q != queue) {
        if let Err(at) = others.binary_search(&q) {
            // KVec has no insert: push, then rotate into place.
            others.push(q, GFP_KERNEL)?;
            others[at..].rotate_right(1);
        }
    }
    let mut out = KVec::with_capacity(indir.len(), GFP_KERNEL)?;
    if others.is_empty() {
        return Ok(out);
    }
    let mut next = 0;
    for &q in indir {
        if q == queue {
            out.push(others[next % others.len()], GFP_KERNEL)?;
            next += 1;
        } else {
            out.push(q, GFP_KERNEL)?;
        }
    }
    Ok(out)
}
