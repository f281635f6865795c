// SPDX-License-Identifier: GPL-2.0

//! GVE-style NIC driver in Rust.
//!
//! Crate root: declares the modules and the `module!`, which registers the
//! driver for the emulated NIC's ports (`gve-rs-emu` platform devices).

use kernel::c_str;
use kernel::net_ext::emu_nic;
use kernel::prelude::*;

mod driver;
mod ethtool;
mod queue;

module! {
    type: GveRs,
    name: "gve_rs",
    author: "devmem-rs developers",
    description: "GVE-style NIC driver in Rust",
    license: "GPL",
}

struct GveRs {
    _drv: emu_nic::DriverRegistration<driver::GveDriver>,
}

impl kernel::Module for GveRs {
    fn init(module: &'static ThisModule) -> Result<Self> {
        Ok(Self {
            _drv: emu_nic::DriverRegistration::new(c_str!("gve-rs-emu"), module)?,
        })
    }
}
