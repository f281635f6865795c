// SPDX-License-Identifier: GPL-2.0

//! GVE-style NIC driver in Rust, and the emulated NIC it drives.
//!
//! Crate root: declares the modules and the `module!`, which registers the
//! driver for the emulated NIC's ports (`gve-rs-emu` platform devices) and
//! starts the emulated NIC. In 6.12 crates share code only through the
//! kernel crate, so the NIC's register interface (`emu/nic.rs`) and the
//! device model live in this crate, as netdevsim's device and driver share
//! one module; the driver only reaches the device through that interface.

use kernel::platform;
use kernel::prelude::*;

mod driver;
mod emu;
mod ethtool;
mod queue;

module! {
    type: GveRs,
    name: "gve_rs",
    author: "devmem-rs developers",
    description: "GVE-style NIC driver in Rust, and an emulated NIC",
    license: "GPL",
}

struct GveRs {
    /// Dropped first: deleting the ports removes the driver from them.
    #[cfg(CONFIG_GVE_RS_EMU)]
    _emu: emu::Emulator,
    _drv: platform::DriverRegistration<driver::GveDriver>,
}

impl kernel::Module for GveRs {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let drv = platform::DriverRegistration::new(emu::nic::DEVICE_NAME, module)?;
        Ok(Self {
            #[cfg(CONFIG_GVE_RS_EMU)]
            _emu: emu::Emulator::new(module)?,
            _drv: drv,
        })
    }
}
