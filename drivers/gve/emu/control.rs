// SPDX-License-Identifier: GPL-2.0

//! The `gve-emu` generic netlink family: create and delete port pairs.
//!
//! Spec: `Documentation/netlink/specs/gve_emu.yaml`; uapi header (generated
//! from it): `include/uapi/linux/gve_emu.h`.

use super::port::Pair;
use super::uapi;
use kernel::c_str;
use kernel::net::genl::{self, AttrPolicy, Info, Op, Perm};
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::Mutex;

/// Most port pairs.
pub(crate) const MAX_PAIRS: usize = 8;

const CMD_PAIR_NEW: u8 = uapi::GVE_EMU_CMD_PAIR_NEW as u8;
const CMD_PAIR_DEL: u8 = uapi::GVE_EMU_CMD_PAIR_DEL as u8;
const A_PAIR_ID: u16 = uapi::GVE_EMU_A_PAIR_ID as u16;

static PAIR_POLICY: [AttrPolicy; 2] = [AttrPolicy::unused(), AttrPolicy::u32_range(0, 7)];

/// The pairs that exist, by number.
#[pin_data]
pub(crate) struct Pairs {
    #[pin]
    slots: Mutex<KVec<Option<Pair>>>,
}

impl Pairs {
    pub(crate) fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            slots <- new_mutex!({
                let mut slots = KVec::with_capacity(MAX_PAIRS, GFP_KERNEL)?;
                for _ in 0..MAX_PAIRS {
                    slots.push(None, GFP_KERNEL)?;
                }
                slots
            }),
        }? Error)
    }

    /// Creates pair `id`, or the lowest free one; returns its number.
    pub(crate) fn add(&self, id: Option<u32>) -> Result<u32> {
        let mut slots = self.slots.lock();
        let id = match id {
            Some(id) => id as usize,
            None => slots.iter().position(Option::is_none).ok_or(ENOSPC)?,
        };
        let slot = slots.get_mut(id).ok_or(ERANGE)?;
        if slot.is_some() {
            return Err(EEXIST);
        }
        *slot = Some(Pair::new(id as u32)?);
        Ok(id as u32)
    }

    /// Deletes pair `id`.
    pub(crate) fn del(&self, id: u32) -> Result {
        let mut slots = self.slots.lock();
        let slot = slots.get_mut(id as usize).ok_or(ERANGE)?;
        let pair = slot.take().ok_or(ENOENT)?;
        // Unregisters the ports, which removes their netdevs.
        drop(pair);
        Ok(())
    }
}

/// The `gve-emu` family.
pub(crate) struct EmuFamily;

impl genl::Family for EmuFamily {
    type Data = Pairs;
    const NAME: &'static CStr = c_str!("gve-emu");
    const VERSION: u32 = uapi::GVE_EMU_FAMILY_VERSION;
    const OPS: &'static [Op] = &[
        Op {
            cmd: CMD_PAIR_NEW,
            perm: Perm::Admin,
            policy: &PAIR_POLICY,
        },
        Op {
            cmd: CMD_PAIR_DEL,
            perm: Perm::Admin,
            policy: &PAIR_POLICY,
        },
    ];

    fn doit(pairs: &Pairs, cmd: u8, info: &Info<'_>) -> Result {
        let id = info.attr(A_PAIR_ID).map(|a| a.get_u32());
        match cmd {
            CMD_PAIR_NEW => {
                let id = pairs.add(id).inspect_err(|e| {
                    if *e == EEXIST {
                        info.set_err_msg(c_str!("pair exists"));
                    } else if *e == ENOSPC {
                        info.set_err_msg(c_str!("no free pair number"));
                    }
                })?;
                info.reply(|msg| msg.put_u32(A_PAIR_ID, id))
            }
            CMD_PAIR_DEL => {
                let Some(id) = id else {
                    info.set_err_missing(A_PAIR_ID, c_str!("pair id missing"));
                    return Err(EINVAL);
                };
                pairs.del(id).inspect_err(|e| {
                    if *e == ENOENT {
                        info.set_err_msg(c_str!("no such pair"));
                    }
                })
            }
            _ => Err(EOPNOTSUPP),
        }
    }
}
