// SPDX-License-Identifier: GPL-2.0

//! Emulated GVE-style NIC: ports in pairs joined by an emulated wire.
//!
//! Crate root: declares the modules and the `module!`, which owns the
//! port pairs created at boot.

use kernel::prelude::*;

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
    _pairs: KVec<port::Pair>,
}

impl kernel::Module for GveEmu {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let n = kernel::bindings::GVE_RS_EMU_PAIRS as usize;
        let mut pairs = KVec::with_capacity(n, GFP_KERNEL)?;
        for i in 0..n {
            pairs.push(port::Pair::new(i as u32)?, GFP_KERNEL)?;
        }
        pr_info!("{} emulated port pair(s)\n", n);
        Ok(Self { _pairs: pairs })
    }
}
