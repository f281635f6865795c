// SPDX-License-Identifier: GPL-2.0

//! Emulated GVE-style NIC: ports in pairs joined by an emulated wire.
//!
//! Crate root: declares the modules and the `module!`, which owns the
//! `gve-emu` netlink family and through it every port pair: those created
//! at boot (`gve_rs_emu.pairs=`, default CONFIG_GVE_RS_EMU_PAIRS) and those
//! created at run time.

use kernel::net_ext::{emu_nic, genl};
use kernel::prelude::*;

mod control;
mod port;
mod ring;

module! {
    type: GveEmu,
    name: "gve_rs_emu",
    author: "devmem-rs developers",
    description: "Emulated GVE-style NIC for Device Memory TCP",
    license: "GPL",
}

struct GveEmu {
    family: genl::Registration<control::EmuFamily>,
}

impl kernel::Module for GveEmu {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let family = genl::Registration::<control::EmuFamily>::new(module, control::Pairs::new())?;
        let n = emu_nic::boot_pairs().clamp(0, control::MAX_PAIRS as i32) as usize;
        for _ in 0..n {
            family.data().add(None)?;
        }
        pr_info!(
            "{} emulated port pair(s); more through the gve-emu netlink family\n",
            n
        );
        Ok(Self { family })
    }
}

impl Drop for GveEmu {
    fn drop(&mut self) {
        for id in 0..control::MAX_PAIRS as u32 {
            let _ = self.family.data().del(id);
        }
    }
}
